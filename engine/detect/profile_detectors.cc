#include "detect/profile_detectors.h"

#include <cmath>

#include "core/strings.h"
#include "core/json_writer.h"

namespace authwatch {
namespace {

constexpr double kPi = 3.14159265358979323846;
double Radians(double deg) { return deg * kPi / 180.0; }

std::string Place(const GeoRecord* g) {
  if (g == nullptr) return "unknown";
  if (!g->city.empty()) return Cat(g->city, ", ", g->country_iso);
  return g->country_iso.empty() ? "unknown" : g->country_iso;
}

}  // namespace

double DistanceKm(double lat1, double lon1, double lat2, double lon2) {
  const double dlat = Radians(lat2 - lat1);
  const double dlon = Radians(lon2 - lon1);
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(Radians(lat1)) * std::cos(Radians(lat2)) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * 6371.0088 * std::asin(std::min(1.0, std::sqrt(a)));
}

void ProfileDetectors::Process(const EventContext& ctx, const PreviousLogin* previous,
                               std::vector<Signal>* out) const {
  if (ctx.event->event.result != AuthResult::kSuccess) return;
  for (const auto& p : rules_->travel) {
    if (previous != nullptr && rules_->Matches(p.filter, ctx)) Travel(p, ctx, *previous, out);
  }
  for (const auto& p : rules_->novelty) {
    if (rules_->Matches(p.filter, ctx)) Novelty(p, ctx, out);
  }
}

void ProfileDetectors::Travel(const ImpossibleTravelParams& p, const EventContext& ctx,
                              const PreviousLogin& prev, std::vector<Signal>* out) const {
  const EnrichedEvent& e = *ctx.event;
  const GeoRecord* g = e.geo.get();
  if (g == nullptr || !g->has_location) return;
  const int64_t gap_ms = e.event.ts_ms - prev.ts_ms;
  if (gap_ms < 0 || gap_ms > p.max_gap_ms) return;  // late event, or long enough for any trip
  if (p.ignore_same_asn && g->asn != 0 && g->asn == prev.asn) return;
  if (p.ignore_same_country && prev.country != 0 && PackCountry(g->country_iso) == prev.country) return;
  if (p.ignore_asns >= 0) {
    const auto& ignored = rules_->lists[static_cast<size_t>(p.ignore_asns)].asns;
    if (ignored.contains(g->asn) || ignored.contains(prev.asn)) return;
  }
  const double distance = DistanceKm(prev.lat, prev.lon, g->latitude, g->longitude);
  // Each location is only known within its accuracy radius: the traveller may have moved
  // from the near edge of one circle to the near edge of the other.
  const double acc_prev = prev.accuracy_km ? prev.accuracy_km : p.default_accuracy_km;
  const double acc_now = g->accuracy_radius_km ? g->accuracy_radius_km : p.default_accuracy_km;
  const double effective = distance - acc_prev - acc_now;
  if (effective < p.min_distance_km) return;
  const double hours = std::max(gap_ms, int64_t{1000}) / 3.6e6;  // same second: 1 s
  const double speed = effective / hours;
  if (speed <= p.max_speed_kmh) return;
  std::string evidence;
  JsonWriter w(&evidence);
  w.BeginObject()
      .Field("previous_login", FormatRfc3339(prev.ts_ms))
      .Field("previous_location", Cat(prev.lat, ",", prev.lon))
      .Field("location", Cat(g->latitude, ",", g->longitude))
      .Field("place", Place(g))
      .Field("distance_km", std::round(distance))
      .Field("accuracy_slack_km", acc_prev + acc_now)
      .Field("gap_s", gap_ms / 1000)
      .Field("speed_kmh", std::round(speed))
      .Field("max_speed_kmh", p.max_speed_kmh)
      .Field("ip", e.event.ip.ToString())
      .Field("asn", g->asn)
      .Field("previous_asn", prev.asn)
      .EndObject();
  std::vector<std::string> reasons = {Cat(
      "successful logins ", std::llround(distance), " km apart (", std::llround(effective),
      " km beyond the accuracy radii) within ", gap_ms / 60000, " min: ", std::llround(speed),
      " km/h > ", p.max_speed_kmh, " km/h; now from ", Place(g))};
  EmitSignals(p.name, p.then, p.severity, p.monitor_only, ctx, std::move(reasons), std::move(evidence), out);
}

void ProfileDetectors::Novelty(const NewLocationParams& p, const EventContext& ctx,
                               std::vector<Signal>* out) const {
  const ProfileFacts& f = ctx.profile;
  // Cold start: too little history to compare with.
  if (p.min_successes != 0 ? f.successes < p.min_successes : !f.established) return;
  const GeoRecord* g = ctx.event->geo.get();
  bool novel = false;
  switch (p.novelty) {
    case NoveltyKind::kCountry: novel = g && !g->country_iso.empty() && !f.country_known; break;
    case NoveltyKind::kAsn: novel = g && g->asn != 0 && !f.asn_known; break;
    case NoveltyKind::kNetwork: novel = !f.network_known; break;
  }
  if (!novel) return;  // most logins: nothing to say, so nothing is formatted
  std::string what;
  switch (p.novelty) {
    case NoveltyKind::kCountry: what = Cat("country ", g->country_iso); break;
    case NoveltyKind::kAsn: what = Cat("network AS", g->asn, g->as_org.empty() ? "" : " " + g->as_org); break;
    case NoveltyKind::kNetwork: what = Cat("network ", ctx.event->prefix.ToString()); break;
  }
  std::string evidence;
  JsonWriter w(&evidence);
  w.BeginObject()
      .Field("novel", what)
      .Field("prior_successes", f.successes)
      .Field("device_known", f.device_known)
      .Field("ip", ctx.event->event.ip.ToString())
      .Field("protocol", ctx.event->event.protocol)
      .Field("place", Place(g));
  if (g && g->asn) w.Field("asn", g->asn).Field("as_org", g->as_org);
  w.EndObject();
  std::vector<std::string> reasons = {Cat("first successful ", ctx.event->event.protocol,
                                                   " login from ", what, " after ", f.successes,
                                                   " successful logins from elsewhere")};
  EmitSignals(p.name, p.then, p.severity, p.monitor_only, ctx, std::move(reasons), std::move(evidence), out);
}

}  // namespace authwatch
