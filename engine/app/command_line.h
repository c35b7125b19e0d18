// A small command-line parser for the subcommands: --flag VALUE, --flag=VALUE and --switch.
// Unknown flags are an error naming the flag, so a typo never runs with a default.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace authwatch {

class CommandLine {
 public:
  // `valued` flags take a value; `switches` do not.
  static absl::StatusOr<CommandLine> Parse(const std::vector<std::string>& args,
                                           const std::set<std::string>& valued,
                                           const std::set<std::string>& switches);
  std::optional<std::string> Get(const std::string& flag) const;
  std::string GetOr(const std::string& flag, const std::string& fallback) const;
  bool Has(const std::string& flag) const { return values_.contains(flag); }

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace authwatch
