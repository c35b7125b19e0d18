#include "core/auth_event.h"

namespace authwatch {

std::string_view AuthResultName(AuthResult r) {
  return r == AuthResult::kSuccess ? "success" : "failure";
}

void AuthEvent::Clear() {
  ts_ms = 0;
  account.clear();
  ip = IpAddress();
  result = AuthResult::kFailure;
  protocol.clear();
  user_agent.clear();
  device_id.clear();
  failure_reason.clear();
  event_id.clear();
  source_offset = -1;
  repeat = 1;
}

}  // namespace authwatch
