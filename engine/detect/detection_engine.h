// DetectionEngine: every detector of one shard behind one call. For each enriched event:
// compute its keys, read the account's profile as it was, update and evaluate the window rules,
// run the profile detectors, then let the profile learn from the event.
// Owns its state; not thread-safe (one per shard). Rules are shared and swapped on reload.
#pragma once

#include <memory>
#include <vector>

#include "detect/account_profiles.h"
#include "detect/profile_detectors.h"
#include "detect/rule_windows.h"

namespace authwatch {

class DetectionEngine {
 public:
  explicit DetectionEngine(std::shared_ptr<const RuleSet> rules);
  void SetRules(std::shared_ptr<const RuleSet> rules);
  // Memory budget of the window state (RuleWindows::set_memory_budget); 0: none.
  void set_window_memory_budget(size_t bytes) { windows_.set_memory_budget(bytes); }

  // Appends the signals this event raises. `ctx` is filled for the caller's later use (policy).
  void Process(const EnrichedEvent& event, EventContext* ctx, std::vector<Signal>* out);
  // A network shard's event (detect/shard_role.h): the profile facts were computed by the
  // account's shard and come with the event; only the window rules run, and no profile learns.
  void ProcessWithFacts(const EnrichedEvent& event, const ProfileFacts& facts, EventContext* ctx,
                        std::vector<Signal>* out);

  const std::shared_ptr<const RuleSet>& rules() const { return rules_; }
  const AccountProfiles& profiles() const { return profiles_; }
  const RuleWindows& windows() const { return windows_; }

 private:
  friend class StateCodec;  // snapshots (engine/state/state_codec.h)
  std::shared_ptr<const RuleSet> rules_;
  AccountProfiles profiles_;
  RuleWindows windows_;
  ProfileDetectors profile_detectors_;
};

}  // namespace authwatch
