// The subcommands of the authwatch executable. Each takes the arguments after its name and
// returns the process exit code (0 ok, 1 findings/errors in input, 2 usage or startup error).
#pragma once

#include <string>
#include <vector>

namespace authwatch {

int RunReplay(const std::vector<std::string>& args);
int RunCheck(const std::vector<std::string>& args);
int RunExplain(const std::vector<std::string>& args);
int RunService(const std::vector<std::string>& args);
int RunPolicyd(const std::vector<std::string>& args);
int RunVerifyState(const std::vector<std::string>& args);

}  // namespace authwatch
