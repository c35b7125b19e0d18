// Rule loader: rule files (YAML) -> RuleSet, with compiler-style diagnostics.
// Reader (yaml-cpp nodes, which keep their marks) -> compiler (this file) -> immutable RuleSet.
//
// Grammar of a rule file: a YAML sequence of entries, each one of
//   - list: NAME                      type: cidr | asn | account | country;  items: [...]
//   - rule: NAME                      key: account | ip | prefix | asn | account_ip
//       window: DURATION              on: FILTER (optional)       when: [CONDITION...] (1 to 32)
//       then: [CONSEQUENCE...]        severity: low|medium|high|critical
//       mode: enforce | monitor       enabled: BOOL              description: TEXT
//   - detector: NAME                  type: impossible_travel | new_country | new_asn | new_network
//       filter: FILTER  then: [CONSEQUENCE...]  (+ impossible_travel: max_speed_kmh,
//       min_distance_km, default_accuracy_km, ignore_same_asn, ignore_same_country,
//       ignore_asns: LIST, max_gap; new_*: min_successes: N, default the profile's established_after)
//   - profile: {established_after: N, horizon: DURATION, warmup: DURATION, new_account: DURATION}
//   - policy:  {escalation_factor: X, max_ttl: DURATION, offence_memory: DURATION, allow: [LIST...]}
//
//   FILTER      := { FIELD: MATCH, ... }            (all clauses must hold)
//   FIELD       := result | protocol | country | asn | reason | account | ip
//                | network_known | asn_known | country_known | account_new | established
//   MATCH       := VALUE | [VALUE...] | {not: VALUE | [VALUE...]} | {in_list: NAME} | {not_in_list: NAME}
//   CONDITION   := {count: FILTER, THRESHOLD}
//                | {distinct: account|ip|prefix|asn|country|user_agent, where: FILTER, THRESHOLD}
//                | {ratio: FILTER, of: FILTER, min_events: N, THRESHOLD}
//   THRESHOLD   := at_least: NUMBER and/or at_most: NUMBER
//   CONSEQUENCE := {action: block|challenge|monitor, subject: KEY (default: the rule's key),
//                   scope: all|smtp|imap|pop3|web|ssh|..., ttl: DURATION}
//   DURATION    := NUMBER followed by ms, s, m, h or d
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "detect/diagnostics.h"
#include "detect/rule_set.h"

namespace authwatch {

struct RuleSource {
  std::string name;  // file path, or a label for inline text
  std::string text;
};

struct RuleLoadResult {
  std::shared_ptr<const RuleSet> rules;  // null when there are errors
  Diagnostics diagnostics;
};

// Compiles the given sources into one rule set.
RuleLoadResult CompileRules(const std::vector<RuleSource>& sources);
// Reads files and directories (every *.yaml / *.yml inside, sorted by name, not recursive into
// testdata/) and compiles them.
RuleLoadResult LoadRules(const std::vector<std::string>& paths);

}  // namespace authwatch
