#include "emit/enriched_json.h"

#include "core/json_writer.h"

namespace authwatch {
namespace {

void EventFields(const AuthEvent& e, JsonWriter& w) {
  w.Field("ts", FormatRfc3339(e.ts_ms))
      .Field("account", e.account)
      .Field("ip", e.ip.ToString())
      .Field("result", AuthResultName(e.result));
  if (!e.protocol.empty()) w.Field("protocol", e.protocol);
  if (!e.user_agent.empty()) w.Field("user_agent", e.user_agent);
  if (!e.device_id.empty()) w.Field("device_id", e.device_id);
  if (!e.failure_reason.empty()) w.Field("reason", e.failure_reason);
  if (!e.event_id.empty()) w.Field("event_id", e.event_id);
  if (e.source_offset >= 0) w.Field("source_offset", e.source_offset);
}

}  // namespace

void AppendEventJson(const AuthEvent& e, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  EventFields(e, w);
  w.EndObject();
}

void AppendEnrichedJson(const EnrichedEvent& e, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  EventFields(e.event, w);
  w.Key("geo").BeginObject();
  if (e.geo) {
    const GeoRecord& g = *e.geo;
    if (!g.country_iso.empty()) w.Field("country", g.country_iso);
    if (!g.city.empty()) w.Field("city", g.city);
    if (g.has_location) w.Field("lat", g.latitude).Field("lon", g.longitude);
    if (g.accuracy_radius_km != 0) w.Field("accuracy_km", g.accuracy_radius_km);
    if (g.asn != 0) w.Field("asn", g.asn);
    if (!g.as_org.empty()) w.Field("as_org", g.as_org);
  }
  w.EndObject();
  w.Field("prefix", e.prefix.ToString());
  w.EndObject();
}

}  // namespace authwatch
