#include "detect/shard_role.h"

#include <algorithm>

namespace authwatch {

std::string_view ShardRoleName(ShardRole r) {
  switch (r) {
    case ShardRole::kAll: return "all";
    case ShardRole::kAccount: return "account";
    case ShardRole::kAddress: return "address";
    case ShardRole::kAsn: return "asn";
  }
  return "";
}

ShardRole RoleOfKey(KeyKind k) {
  switch (k) {
    case KeyKind::kAccount:
    case KeyKind::kAccountIp: return ShardRole::kAccount;
    case KeyKind::kIp:
    case KeyKind::kPrefix: return ShardRole::kAddress;
    case KeyKind::kAsn: return ShardRole::kAsn;
  }
  return ShardRole::kAll;
}

std::shared_ptr<const RuleSet> RulesForRole(const std::shared_ptr<const RuleSet>& rules, ShardRole role) {
  if (role == ShardRole::kAll) return rules;
  auto subset = std::make_shared<RuleSet>(*rules);
  std::erase_if(subset->rules, [role](const CompiledRule& r) { return RoleOfKey(r.key) != role; });
  if (role != ShardRole::kAccount) {
    subset->travel.clear();
    subset->novelty.clear();
  }
  // Filter ids stay valid: they index a per-event cache and the subset uses a subset of them.
  return subset;
}

uint64_t RouteKey(const EventContext& ctx, ShardRole role) {
  switch (role) {
    case ShardRole::kAll: return 1;
    case ShardRole::kAccount: return ctx.key(KeyKind::kAccount);
    case ShardRole::kAddress: return ctx.key(KeyKind::kPrefix);
    case ShardRole::kAsn: return ctx.key(KeyKind::kAsn);
  }
  return 0;
}

}  // namespace authwatch
