// Shard roles: how detection splits when several processes share the input (issue #8).
//
// The input is keyed by account, so a shard of one input partition sees every event of its
// accounts: it runs the account-keyed rules (account, account_ip), the profile detectors and
// the account profiles. Rules keyed by address or network need every event of their key,
// whatever the account: the account shard forwards each event, with the profile facts it
// computed, to two network shards found by a route key, as Kafka Streams repartitions:
//   kAddress  rules keyed by ip and prefix, routed by the event's prefix (IPv4 /24, IPv6 /64),
//             which contains its address;
//   kAsn      rules keyed by asn, routed by the ASN (a /24 route would split an ASN's counts).
// kAll is the single-process path (replay, one instance without repartitioning): every rule.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "detect/event_context.h"
#include "detect/rule_set.h"

namespace authwatch {

enum class ShardRole : uint8_t { kAll, kAccount, kAddress, kAsn };
std::string_view ShardRoleName(ShardRole r);

// The role whose shards run rules keyed by `k`.
ShardRole RoleOfKey(KeyKind k);

// The rules a shard of `role` runs: those whose key belongs to the role; the built-in
// detectors (travel, novelty) only in account shards. kAll: `rules` itself.
std::shared_ptr<const RuleSet> RulesForRole(const std::shared_ptr<const RuleSet>& rules, ShardRole role);

// The key that routes an event to its shard of `role` (0: the event has no such shard, e.g.
// an address in no ASN database, or no account). Keys must be computed (ComputeKeys).
uint64_t RouteKey(const EventContext& ctx, ShardRole role);

}  // namespace authwatch
