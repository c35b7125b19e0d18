#include "ingest/field_mapping.h"

#include <fstream>
#include <sstream>

#include "core/strings.h"
#include "yaml-cpp/yaml.h"

namespace authwatch {
namespace {

std::string Where(const std::string& origin, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return Cat(origin, ":", m.line + 1, ":", m.column + 1);
}

absl::Status Invalid(const std::string& origin, const YAML::Node& node, std::string_view what) {
  return absl::InvalidArgumentError(Cat(Where(origin, node), ": field mapping: ", what));
}

absl::StatusOr<std::string> Pointer(const std::string& origin, const YAML::Node& node) {
  if (!node.IsScalar()) return Invalid(origin, node, "a JSON pointer must be a string");
  std::string p = node.as<std::string>();
  if (!p.empty() && p[0] != '/') {
    return Invalid(origin, node, Cat("JSON pointer '", p, "' must start with '/'"));
  }
  return p;
}

absl::StatusOr<std::vector<std::string>> Strings(const std::string& origin, const YAML::Node& node) {
  if (!node.IsSequence()) return Invalid(origin, node, "expected a list of strings");
  std::vector<std::string> out;
  for (const auto& item : node) {
    if (!item.IsScalar()) return Invalid(origin, item, "expected a string");
    out.push_back(item.as<std::string>());
  }
  return out;
}

}  // namespace

absl::StatusOr<FieldMapping> ParseFieldMapping(const std::string& yaml, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        Cat(origin, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  if (!root.IsMap()) return Invalid(origin, root, "the file must be a mapping");
  FieldMapping m;
  try {
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "name") {
      m.name = v.as<std::string>();
    } else if (key == "fields") {
      if (!v.IsMap()) return Invalid(origin, v, "'fields' must be a mapping of field: /pointer");
      for (const auto& f : v) {
        const std::string field = f.first.as<std::string>();
        auto p = Pointer(origin, f.second);
        if (!p.ok()) return p.status();
        std::string* slot = field == "ts"           ? &m.ts
                            : field == "account"    ? &m.account
                            : field == "ip"         ? &m.ip
                            : field == "result"     ? &m.result
                            : field == "protocol"   ? &m.protocol
                            : field == "user_agent" ? &m.user_agent
                            : field == "device_id"  ? &m.device_id
                            : field == "reason"     ? &m.reason
                            : field == "event_id"   ? &m.event_id
                                                    : nullptr;
        if (slot == nullptr) {
          return Invalid(origin, f.first,
                         Cat("unknown field '", field,
                                      "' (known: ts, account, ip, result, protocol, user_agent, "
                                      "device_id, reason, event_id)"));
        }
        *slot = *p;
      }
    } else if (key == "ts_format") {
      const std::string f = v.as<std::string>();
      if (f == "auto") m.ts_format = TimeFormat::kAuto;
      else if (f == "rfc3339") m.ts_format = TimeFormat::kRfc3339;
      else if (f == "epoch_ms") m.ts_format = TimeFormat::kEpochMs;
      else if (f == "epoch_s") m.ts_format = TimeFormat::kEpochS;
      else return Invalid(origin, v, "ts_format must be auto, rfc3339, epoch_ms or epoch_s");
    } else if (key == "protocol") {
      m.protocol_constant = v.as<std::string>();
    } else if (key == "success_values" || key == "failure_values") {
      auto list = Strings(origin, v);
      if (!list.ok()) return list.status();
      (key == "success_values" ? m.success_values : m.failure_values) = *std::move(list);
    } else if (key == "only_when") {
      if (!v.IsMap()) return Invalid(origin, v, "'only_when' must map /pointer: [values]");
      for (const auto& f : v) {
        auto p = Pointer(origin, f.first);
        if (!p.ok()) return p.status();
        auto list = Strings(origin, f.second);
        if (!list.ok()) return list.status();
        m.only_when.emplace_back(*p, *std::move(list));
      }
    } else {
      return Invalid(origin, kv.first, Cat("unknown key '", key, "'"));
    }
  }
  } catch (const YAML::Exception& e) {
    // Scalar conversions throw on a sequence or map where a string belongs.
    return absl::InvalidArgumentError(Cat(origin, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1, ": field mapping: ", e.msg));
  }
  if (m.ts.empty() || m.account.empty() || m.ip.empty() || m.result.empty()) {
    return Invalid(origin, root, "fields ts, account, ip and result are required");
  }
  return m;
}

absl::StatusOr<FieldMapping> LoadFieldMapping(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(Cat("field mapping: cannot open '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseFieldMapping(ss.str(), path);
}

}  // namespace authwatch
