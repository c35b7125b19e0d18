#include "decide/decision_policy.h"

#include <algorithm>
#include <cmath>

#include "core/strings.h"
#include "core/stable_hash.h"

namespace authwatch {
namespace {

// `origin` (Signal::origin) is 0 for nearly every decision, which keeps the keys of earlier
// snapshots valid.
uint64_t ActiveKey(const Subject& s, const std::string& scope, bool dry_run, uint64_t origin) {
  uint64_t h = StableHash64(s.value, static_cast<uint64_t>(s.type) + 1);
  h = HashCombine(h, StableHash64(scope));
  h = HashCombine(h, dry_run ? 2 : 1);
  return origin == 0 ? h : HashCombine(h, origin);
}

uint64_t OffenceKey(const Subject& s, uint64_t origin) {
  const uint64_t h = StableHash64(s.value, static_cast<uint64_t>(s.type) + 101);
  return origin == 0 ? h : HashCombine(h, origin);
}

}  // namespace

std::string MakeDecisionId(const std::string& rule, const Subject& s, const std::string& scope,
                           ActionKind action, uint64_t trigger_id) {
  uint64_t h = StableHash64(rule);
  h = HashCombine(h, StableHash64(s.value, static_cast<uint64_t>(s.type)));
  h = HashCombine(h, StableHash64(scope));
  h = HashCombine(h, static_cast<uint64_t>(action));
  const uint64_t a = HashCombine(h, trigger_id);
  const uint64_t b = HashCombine(a, 0x5eedULL);
  return Cat(absl::Hex(a, absl::kZeroPad16), absl::Hex(b >> 32, absl::kZeroPad8));
}

bool DecisionPolicy::Allowed(const Signal& s, const EventContext& ctx) const {
  for (int list : rules_->policy.allow_lists) {
    const ListType t = rules_->lists[static_cast<size_t>(list)].type;
    const bool about_account = s.subject.type == KeyKind::kAccount || s.subject.type == KeyKind::kAccountIp;
    const bool about_network = s.subject.type != KeyKind::kAccount;
    const bool relevant = (t == ListType::kAccount && about_account) ||
                          ((t == ListType::kCidr || t == ListType::kAsn || t == ListType::kCountry) && about_network);
    if (relevant && rules_->InList(list, ctx)) return true;
  }
  return false;
}

void DecisionPolicy::OnSignal(const Signal& s, const EventContext& ctx, std::vector<Decision>* out) {
  if (Allowed(s, ctx)) {
    ++stats_.absorbed_allowlist;
    return;
  }
  const ActionKind action = s.dry_run ? ActionKind::kMonitor : s.consequence.action;
  const uint64_t key = ActiveKey(s.subject, s.consequence.scope, s.dry_run, s.origin);
  // A standing decision absorbs any signal that is no stronger; a stronger action replaces it.
  if (auto it = active_.find(key); it != active_.end() && it->second.expires_ms > s.ts_ms &&
                                   ActionStrength(it->second.action) >= ActionStrength(action)) {
    ++stats_.absorbed_duplicate;
    return;
  }
  // Escalation counts real offences only, once per decision.
  int offence = 1;
  if (!s.dry_run && action != ActionKind::kMonitor) {
    Offences& o = offences_[OffenceKey(s.subject, s.origin)];
    if (o.count > 0 && s.ts_ms - o.last_ms > rules_->policy.offence_memory_ms) o.count = 0;
    offence = ++o.count;
    o.last_ms = s.ts_ms;
  }
  const double factor = std::pow(rules_->policy.escalation_factor, offence - 1);
  const int64_t ttl_ms = static_cast<int64_t>(std::min<double>(
      static_cast<double>(s.consequence.ttl_ms) * factor,
      static_cast<double>(std::max(rules_->policy.max_ttl_ms, s.consequence.ttl_ms))));

  Decision d;
  d.decision_id = MakeDecisionId(s.rule, s.subject, s.consequence.scope, action, s.trigger_id);
  d.ts_ms = s.ts_ms;
  d.subject = s.subject;
  d.action = action;
  d.scope = s.consequence.scope;
  d.ttl_s = ttl_ms / 1000;
  d.expires_ms = s.ts_ms + ttl_ms;
  d.rule = s.rule;
  d.reasons = s.reasons;
  d.evidence_json = s.evidence_json;
  d.severity = s.severity;
  d.dry_run = s.dry_run;
  d.would_action = s.consequence.action;
  d.offence = offence;
  d.origin = s.origin_text;

  Active fresh{s.subject, s.consequence.scope, action, s.dry_run, d.expires_ms, s.rule, d.decision_id, d.origin};
  if (auto it = active_.find(key); it != active_.end()) Count(it->second, -1);
  Count(fresh, +1);
  active_[key] = std::move(fresh);
  expiries_.push({d.expires_ms, key});
  ++stats_.decisions;
  out->push_back(std::move(d));
}

Decision DecisionPolicy::MakeUnblock(const Active& a, EventTimeMs now, const std::string& why) const {
  Decision d;
  d.decision_id = MakeDecisionId(a.rule, a.subject, a.scope, ActionKind::kUnblock,
                                 StableHash64(a.decision_id));
  d.ts_ms = now;
  d.subject = a.subject;
  d.action = ActionKind::kUnblock;
  d.scope = a.scope;
  d.ttl_s = 0;
  d.rule = a.rule;
  d.origin = a.origin;
  d.reasons = {why};
  d.evidence_json = Cat("{\"lifts\":\"", a.decision_id, "\",\"lifted_action\":\"",
                                 ActionName(a.action), "\"}");
  return d;
}

void DecisionPolicy::AdvanceTo(EventTimeMs now, std::vector<Decision>* out) {
  while (!expiries_.empty() && expiries_.top().at <= now) {
    const Expiry e = expiries_.top();
    expiries_.pop();
    auto it = active_.find(e.key);
    if (it == active_.end() || it->second.expires_ms != e.at) continue;  // replaced since
    const Active& a = it->second;
    // Monitor decisions and dry runs never blocked anything: nothing to lift.
    if (!a.dry_run && a.action != ActionKind::kMonitor) {
      Decision d = MakeUnblock(a, e.at, Cat("expired: the ", ActionName(a.action),
                                                     " by rule ", a.rule, " reached its TTL"));
      out->push_back(std::move(d));
      ++stats_.expired;
    }
    Count(it->second, -1);
    active_.erase(it);
  }
}

bool DecisionPolicy::Lift(const Subject& subject, const std::string& scope, EventTimeMs now,
                          const std::string& why, std::vector<Decision>* out) {
  // Every origin's decision on the subject (Signal::origin); an operator's unblock is rare, so
  // a scan, in key order for a stable output.
  std::vector<uint64_t> keys;
  for (const auto& [key, a] : active_) {
    if (!a.dry_run && a.scope == scope && a.subject.type == subject.type && a.subject.value == subject.value) {
      keys.push_back(key);
    }
  }
  std::sort(keys.begin(), keys.end());
  for (uint64_t key : keys) {
    auto it = active_.find(key);
    out->push_back(MakeUnblock(it->second, now, why));
    Count(it->second, -1);
    active_.erase(it);
  }
  return !keys.empty();
}

void DecisionPolicy::Count(const Active& a, int delta) {
  if (a.dry_run || a.action == ActionKind::kUnblock) return;
  active_by_action_[static_cast<size_t>(a.action)] += static_cast<size_t>(delta);
}

std::array<size_t, 3> DecisionPolicy::ActiveByAction() const { return active_by_action_; }

}  // namespace authwatch
