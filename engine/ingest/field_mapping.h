// FieldMapping: where a producer's JSON keeps each AuthEvent field, so that other producers'
// events (Keycloak, Okta, ...) decode without a converter. Paths are JSON Pointers (RFC 6901).
// The canonical mapping reads authwatch's own JSON form. Immutable after loading.
//
// YAML form (deploy/mappings/*.yaml):
//   name: keycloak
//   fields: {ts: /time, account: /details/username, ip: /ipAddress, result: /type, ...}
//   ts_format: auto | rfc3339 | epoch_ms | epoch_s
//   protocol: web                       # constant when the producer has no protocol field
//   success_values: [LOGIN]             # case-insensitive; JSON true also means success
//   failure_values: [LOGIN_ERROR]
//   only_when: {/type: [LOGIN, LOGIN_ERROR]}   # other records are skipped (counted), not rejected
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace authwatch {

enum class TimeFormat : uint8_t { kAuto, kRfc3339, kEpochMs, kEpochS };

struct FieldMapping {
  std::string name = "canonical";
  // JSON pointers; an empty pointer means the producer has no such field.
  std::string ts = "/ts";
  std::string account = "/account";
  std::string ip = "/ip";
  std::string result = "/result";
  std::string protocol = "/protocol";
  std::string user_agent = "/user_agent";
  std::string device_id = "/device_id";
  std::string reason = "/reason";
  std::string event_id = "/event_id";
  TimeFormat ts_format = TimeFormat::kAuto;
  std::string protocol_constant;  // used when `protocol` is empty or absent in a record
  std::vector<std::string> success_values = {"success", "ok", "succeeded"};
  std::vector<std::string> failure_values = {"failure", "fail", "failed"};
  std::vector<std::pair<std::string, std::vector<std::string>>> only_when;

  static FieldMapping Canonical() { return FieldMapping{}; }
};

// Loads a mapping from a YAML file. Errors name the file, line and column.
absl::StatusOr<FieldMapping> LoadFieldMapping(const std::string& path);
// The same from YAML text; `origin` names it in errors.
absl::StatusOr<FieldMapping> ParseFieldMapping(const std::string& yaml, const std::string& origin);

}  // namespace authwatch
