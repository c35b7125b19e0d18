// authwatch check: validates the config, its field mapping, the GeoIP databases and the rules,
// printing every diagnostic with file:line:column; exit 1 on any error.
#include <cstdio>

#include "absl/strings/str_format.h"
#include "app/command_line.h"
#include "app/commands.h"
#include "app/startup.h"

namespace authwatch {

int RunCheck(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"config", "rules"}, {"help"});
  if (!cl.ok() || cl->Has("help") || !cl->Has("config")) {
    if (!cl.ok()) std::fprintf(stderr, "authwatch check: %s\n", std::string(cl.status().message()).c_str());
    std::fputs("usage: authwatch check --config FILE [--rules PATH]\n"
               "Validates the config, the field mapping, the GeoIP databases and the rule files\n"
               "(or only PATH with --rules). Exit 0 when there is no error.\n", stderr);
    return cl.ok() && cl->Has("help") ? 0 : 2;
  }
  auto config = StepLoadConfig(*cl->Get("config"));
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  int errors = 0;
  if (auto dbs = StepOpenGeoDatabases(*config); !dbs.ok()) {
    std::fprintf(stderr, "%s\n", std::string(dbs.status().message()).c_str());
    ++errors;
  } else {
    for (const auto& db : (*dbs)->databases()) {
      std::printf("geoip  %s (%s, %s)\n", db->path().c_str(), std::string(GeoSchemaName(db->schema())).c_str(),
                  db->database_type().c_str());
    }
  }
  std::vector<std::string> paths = config->rule_paths;
  if (auto r = cl->Get("rules")) paths = {*r};
  RuleLoadResult result = LoadRules(paths);
  std::fputs(result.diagnostics.FormatAll().c_str(), stderr);
  errors += result.diagnostics.errors();
  if (result.rules) {
    const RuleSet& rs = *result.rules;
    std::printf("rules  %zu files: %zu rules, %zu detectors, %zu lists (version %s)\n", rs.files.size(),
                rs.rules.size(), rs.travel.size() + rs.novelty.size(), rs.lists.size(), rs.version.c_str());
  }
  std::printf("%d error(s), %d warning(s)\n", errors, result.diagnostics.warnings());
  return errors > 0 ? 1 : 0;
}

}  // namespace authwatch
