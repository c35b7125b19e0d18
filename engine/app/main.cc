// authwatch: streaming login-anomaly detection. Dispatches to the subcommands.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "app/commands.h"
#include "core/allocator.h"

namespace {

constexpr char kHelp[] =
    "authwatch - streaming login-anomaly detection\n"
    "\n"
    "usage: authwatch COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run      the streaming service: Kafka in, decisions and dead letters out\n"
    "  policyd  the Postfix policy service answering from the decisions in force\n"
    "  replay   run the pipeline on a file or stdin, write decisions (or enriched events)\n"
    "  check    validate the config, GeoIP databases and rule files (file:line:column errors)\n"
    "  explain  show which rules an event stream fires and why\n"
    "  verify-state  check every durable-state snapshot against an offline run of the input\n"
    "  version  print the version\n"
    "\n"
    "Run 'authwatch COMMAND --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  authwatch::UseFixedMmapThreshold();
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kHelp, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "run") return authwatch::RunService(args);
  if (command == "policyd") return authwatch::RunPolicyd(args);
  if (command == "replay") return authwatch::RunReplay(args);
  if (command == "check") return authwatch::RunCheck(args);
  if (command == "explain") return authwatch::RunExplain(args);
  if (command == "verify-state") return authwatch::RunVerifyState(args);
  if (command == "version" || command == "--version") {
    std::printf("authwatch %s\n", AUTHWATCH_VERSION);
    return 0;
  }
  std::fprintf(stderr, "authwatch: unknown command '%s'\n\n%s", command.c_str(), kHelp);
  return 2;
}
