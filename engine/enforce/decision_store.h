// DecisionStore: the decisions in force, as an SMTP gateway needs them: which subjects are
// blocked (or challenged) in which scope, until when. Fed from the decisions topic (JSON
// records, the README's contract); answers lookups in O(1).
//
// Thread-safe: one feed thread applies records while the policy server's thread looks up
// (absl::Mutex, readers shared).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/event_time.h"
#include "detect/rule_set.h"

namespace authwatch {

struct HeldDecision {
  ActionKind action = ActionKind::kBlock;
  EventTimeMs expires_ms = 0;
  std::string decision_id;
  std::string rule;
};

enum class ApplyResult : uint8_t { kHeld, kLifted, kIgnored, kMalformed };

class DecisionStore {
 public:
  // Applies one decision record (JSON). Blocks and challenges are held until `expires`;
  // `unblock` lifts; dry runs and monitor decisions enforce nothing and are ignored.
  ApplyResult Apply(std::string_view json);

  // The strongest decision in force at `now_ms` for the subject in `scope` or in "all".
  std::optional<HeldDecision> Find(KeyKind type, std::string_view value, std::string_view scope,
                                   EventTimeMs now_ms) const;
  // Drops expired entries (called now and then by the feed; lookups ignore them anyway).
  size_t Expire(EventTimeMs now_ms);
  size_t size() const;

 private:
  static std::string Key(KeyKind type, std::string_view value, std::string_view scope);
  // Per subject and scope, the decision in force per origin (the record's optional `origin`:
  // an address-keyed rule's decision on an account stands apart per network, README
  // "Decisions"); nearly always one entry, of origin "".
  using Origins = std::vector<std::pair<std::string, HeldDecision>>;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Origins> held_ ABSL_GUARDED_BY(mu_);
};

}  // namespace authwatch
