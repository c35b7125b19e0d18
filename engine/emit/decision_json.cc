#include "emit/decision_json.h"

#include "core/json_writer.h"

namespace authwatch {

void AppendDecisionJson(const Decision& d, std::string* out) {
  JsonWriter w(out);
  w.BeginObject()
      .Field("decision_id", d.decision_id)
      .Field("ts", FormatRfc3339(d.ts_ms));
  w.Key("subject").BeginObject().Field("type", KeyKindName(d.subject.type)).Field("value", d.subject.value).EndObject();
  w.Field("action", ActionName(d.action)).Field("scope", d.scope).Field("ttl_s", d.ttl_s);
  if (d.action != ActionKind::kUnblock) w.Field("expires", FormatRfc3339(d.expires_ms));
  w.Field("rule", d.rule);
  if (!d.origin.empty()) w.Field("origin", d.origin);
  if (!d.severity.empty()) w.Field("severity", d.severity);
  if (d.action != ActionKind::kUnblock) w.Field("offence", d.offence);
  w.Field("dry_run", d.dry_run);
  if (d.dry_run) w.Field("would_action", ActionName(d.would_action));
  w.Key("reasons").BeginArray();
  for (const auto& r : d.reasons) w.String(r);
  w.EndArray();
  w.Key("evidence").Raw(d.evidence_json.empty() ? "{}" : d.evidence_json);
  w.EndObject();
}

}  // namespace authwatch
