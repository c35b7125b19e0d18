// The named steps every command starts with: load the config, open the GeoIP databases, load
// the rules, make the decoder. Each returns a Status whose message names the component and
// what to do, and main prints it and exits non-zero.
#pragma once

#include <memory>

#include "app/config.h"
#include "detect/rule_loader.h"
#include "enrich/geo_enricher.h"
#include "ingest/event_decoder.h"

namespace authwatch {

absl::StatusOr<AppConfig> StepLoadConfig(const std::string& path);
absl::StatusOr<std::shared_ptr<const GeoDatabaseSet>> StepOpenGeoDatabases(const AppConfig& config);
// Prints warnings to stderr; fails with every error formatted.
absl::StatusOr<std::shared_ptr<const RuleSet>> StepLoadRules(const AppConfig& config);
absl::StatusOr<std::unique_ptr<EventDecoder>> MakeDecoder(const AppConfig& config, InputFormat format);

}  // namespace authwatch
