#include "detect/signal.h"

#include "core/strings.h"
#include "core/stable_hash.h"

namespace authwatch {

bool SubjectOf(const EnrichedEvent& e, KeyKind type, Subject* out) {
  out->type = type;
  switch (type) {
    case KeyKind::kAccount:
      out->value = e.event.account;
      return !e.event.account.empty();
    case KeyKind::kIp: out->value = e.event.ip.ToString(); return true;
    case KeyKind::kPrefix: out->value = e.prefix.ToString(); return true;
    case KeyKind::kAsn:
      if (!e.geo || e.geo->asn == 0) return false;
      out->value = Cat("AS", e.geo->asn);
      return true;
    case KeyKind::kAccountIp:
      if (e.event.account.empty()) return false;
      out->value = Cat(e.event.account, "|", e.event.ip.ToString());
      return true;
  }
  return false;
}

void EmitSignals(const std::string& name, const std::vector<Consequence>& then, const std::string& severity,
                 bool dry_run, const EventContext& ctx, const std::vector<std::string>& reasons,
                 const std::string& evidence, std::vector<Signal>* out) {
  const EnrichedEvent& e = *ctx.event;
  for (const Consequence& c : then) {
    Signal sig;
    if (!SubjectOf(e, c.subject, &sig.subject)) continue;
    sig.rule = name;
    sig.consequence = c;
    sig.severity = severity;
    sig.dry_run = dry_run;
    sig.reasons = reasons;
    sig.evidence_json = evidence;
    sig.ts_ms = e.event.ts_ms;
    sig.trigger_id = HashCombine(ctx.key(KeyKind::kAccountIp), static_cast<uint64_t>(e.event.ts_ms));
    out->push_back(std::move(sig));
  }
}

}  // namespace authwatch
