#include "core/auth_event.h"

namespace authwatch {

std::string_view AuthResultName(AuthResult r) {
  return r == AuthResult::kSuccess ? "success" : "failure";
}

}  // namespace authwatch
