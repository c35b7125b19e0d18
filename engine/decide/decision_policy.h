// DecisionPolicy: turns signals into decisions.
//   - At most one active decision per (subject, scope): a signal for a subject that already has
//     an equal or stronger active action in that scope is absorbed (counted, not written); a
//     stronger one (challenge -> block) replaces it.
//   - TTL escalation: a subject's n-th offence within `offence_memory` gets
//     ttl * escalation_factor^(n-1), capped at max_ttl.
//   - Allowlists: signals whose subject matches an allow list are absorbed (and counted).
//   - Expiry: AdvanceTo(now) writes an `unblock` for each block or challenge whose TTL has run
//     out by event time; Lift() writes one for an explicit unblock.
//   - Dry run: signals of monitor-mode rules become `monitor` decisions with dry_run set; they
//     are tracked apart, so they never suppress or extend a real decision.
// Owned by one shard; not thread-safe.
#pragma once

#include <memory>
#include <queue>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "decide/decision.h"

namespace authwatch {

struct PolicyStats {
  uint64_t absorbed_duplicate = 0;
  uint64_t absorbed_allowlist = 0;
  uint64_t decisions = 0;
  uint64_t expired = 0;
};

class DecisionPolicy {
 public:
  explicit DecisionPolicy(std::shared_ptr<const RuleSet> rules) : rules_(std::move(rules)) {}
  void SetRules(std::shared_ptr<const RuleSet> rules) { rules_ = std::move(rules); }

  void OnSignal(const Signal& signal, const EventContext& ctx, std::vector<Decision>* out);
  // Expires decisions whose TTL ended at or before `now` (event time).
  void AdvanceTo(EventTimeMs now, std::vector<Decision>* out);
  // Lifts the active decisions on a subject and scope explicitly (operator unblock), of every
  // origin. False if none is active.
  bool Lift(const Subject& subject, const std::string& scope, EventTimeMs now, const std::string& why,
            std::vector<Decision>* out);

  size_t active() const { return active_.size(); }
  // Active decisions by action (block, challenge, monitor), dry runs excluded.
  std::array<size_t, 3> ActiveByAction() const;
  const PolicyStats& stats() const { return stats_; }

 private:
  friend class StateCodec;  // snapshots (engine/state/state_codec.h)
  struct Active {
    Subject subject;
    std::string scope;
    ActionKind action;
    bool dry_run;
    EventTimeMs expires_ms;
    std::string rule;
    std::string decision_id;
    std::string origin;  // Decision::origin
  };
  struct Offences {
    int count = 0;
    EventTimeMs last_ms = 0;
  };
  struct Expiry {
    EventTimeMs at;
    uint64_t key;
    bool operator>(const Expiry& o) const { return at > o.at; }
  };
  bool Allowed(const Signal& s, const EventContext& ctx) const;
  Decision MakeUnblock(const Active& a, EventTimeMs now, const std::string& why) const;

  std::shared_ptr<const RuleSet> rules_;
  absl::flat_hash_map<uint64_t, Active> active_;
  absl::flat_hash_map<uint64_t, Offences> offences_;
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> expiries_;
  PolicyStats stats_;
  // Active decisions by action (block, challenge, monitor), dry runs excluded; kept as they
  // change so that metrics never walk the map.
  std::array<size_t, 3> active_by_action_{};
  void Count(const Active& a, int delta);
};

// A decision id that is the same for the same rule, subject, scope and triggering event.
std::string MakeDecisionId(const std::string& rule, const Subject& s, const std::string& scope,
                           ActionKind action, uint64_t trigger_id);

}  // namespace authwatch
