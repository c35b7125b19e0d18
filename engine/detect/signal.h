// Signal: a detector's finding, before the policy decides what to do with it. Carries
// everything a decision needs to explain itself.
#pragma once

#include <string>
#include <vector>

#include "detect/rule_set.h"

namespace authwatch {

struct Subject {
  KeyKind type = KeyKind::kIp;
  std::string value;  // account, ip, CIDR prefix, AS<number>, <account>|<ip>
  friend bool operator==(const Subject&, const Subject&) = default;
};

// The subject of kind `type` that the triggering event names; false when the event has none
// (an ASN subject for an address in no ASN database).
bool SubjectOf(const EnrichedEvent& e, KeyKind type, Subject* out);

struct Signal {
  std::string rule;
  Consequence consequence;
  Subject subject;
  std::string severity;
  bool dry_run = false;
  std::vector<std::string> reasons;
  std::string evidence_json;  // a JSON object
  EventTimeMs ts_ms = 0;      // the triggering event's time
  uint64_t trigger_id = 0;    // identity of the triggering event (for a stable decision id)
  // Non-zero when the subject belongs to another shard role than the rule's key (an
  // address-keyed rule deciding on an account): the route key of the rule's shard. The
  // policy keeps such decisions apart per origin, because that is all one shard can see
  // (detect/shard_role.h); replay does the same, so it gives the same decisions.
  uint64_t origin = 0;
  std::string origin_text;  // the origin's network as written in the decision: CIDR or AS<number>
};

// Appends one signal per consequence of a firing detector, all sharing reasons and evidence.
void EmitSignals(const std::string& name, const std::vector<Consequence>& then, const std::string& severity,
                 bool dry_run, const EventContext& ctx, const std::vector<std::string>& reasons,
                 const std::string& evidence, std::vector<Signal>* out);

}  // namespace authwatch
