// Decision: what authwatch tells the world to do about a subject, and why. The JSON form is a
// contract (README "Decisions"); SMTP gateways act on it.
#pragma once

#include <string>
#include <vector>

#include "detect/signal.h"

namespace authwatch {

struct Decision {
  std::string decision_id;  // stable: the same input gives the same id on every run
  EventTimeMs ts_ms = 0;    // event time of the triggering event (for unblock: of the expiry)
  Subject subject;
  ActionKind action = ActionKind::kBlock;
  std::string scope = "all";
  int64_t ttl_s = 0;        // 0 for unblock
  EventTimeMs expires_ms = 0;
  std::string rule;
  std::vector<std::string> reasons;
  std::string evidence_json = "{}";
  std::string severity;
  bool dry_run = false;            // from a rule in monitor mode: act on nothing
  ActionKind would_action = ActionKind::kMonitor;  // with dry_run: what enforcing would have done
  int offence = 1;                 // 1 for a first offence; the TTL doubles with each repeat
  // Set when an address-keyed rule decides on an account: the network whose shard decided
  // (Signal::origin). Decisions of different origins on one subject and scope stand apart, and
  // an unblock lifts its own origin's.
  std::string origin;
};

}  // namespace authwatch
