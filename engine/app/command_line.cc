#include "app/command_line.h"

#include "core/strings.h"

namespace authwatch {

absl::StatusOr<CommandLine> CommandLine::Parse(const std::vector<std::string>& args,
                                               const std::set<std::string>& valued,
                                               const std::set<std::string>& switches) {
  CommandLine cl;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(Cat("unexpected argument '", a, "'"));
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (switches.contains(name)) {
      if (value) return absl::InvalidArgumentError(Cat("--", name, " takes no value"));
      cl.values_[name] = "true";
    } else if (valued.contains(name)) {
      if (!value) {
        if (i + 1 >= args.size()) return absl::InvalidArgumentError(Cat("--", name, " needs a value"));
        value = args[++i];
      }
      cl.values_[name] = *value;
    } else {
      return absl::InvalidArgumentError(Cat("unknown flag --", name));
    }
  }
  return cl;
}

std::optional<std::string> CommandLine::Get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string CommandLine::GetOr(const std::string& flag, const std::string& fallback) const {
  return Get(flag).value_or(fallback);
}

}  // namespace authwatch
