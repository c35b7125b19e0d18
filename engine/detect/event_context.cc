#include "detect/event_context.h"

#include "core/stable_hash.h"

namespace authwatch {

std::string_view KeyKindName(KeyKind k) {
  switch (k) {
    case KeyKind::kAccount: return "account";
    case KeyKind::kIp: return "ip";
    case KeyKind::kPrefix: return "prefix";
    case KeyKind::kAsn: return "asn";
    case KeyKind::kAccountIp: return "account_ip";
  }
  return "";
}

void ComputeKeys(const EnrichedEvent& e, EventContext* ctx) {
  ctx->event = &e;
  // No account, no account key: account-keyed rules and profiles skip the event.
  const uint64_t account = e.event.account.empty() ? 0 : StableHash64(e.event.account, 1);
  const uint64_t ip = e.event.ip.StableHash();
  ctx->keys[static_cast<int>(KeyKind::kAccount)] = account;
  ctx->keys[static_cast<int>(KeyKind::kIp)] = ip;
  ctx->keys[static_cast<int>(KeyKind::kPrefix)] =
      HashCombine(e.prefix.network.StableHash(), static_cast<uint64_t>(e.prefix.bits));
  const uint32_t asn = e.geo ? e.geo->asn : 0;
  ctx->keys[static_cast<int>(KeyKind::kAsn)] = asn == 0 ? 0 : Mix64(asn) | 1;
  ctx->keys[static_cast<int>(KeyKind::kAccountIp)] = account == 0 ? 0 : HashCombine(account, ip);
  ctx->list_known = ctx->list_member = 0;
  ctx->filter_known = ctx->filter_value = 0;
  ctx->facts_known = false;
}

}  // namespace authwatch
