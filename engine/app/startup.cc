#include "app/startup.h"

#include <cstdio>

#include "core/strings.h"
#include "ingest/json_decoder.h"
#include "ingest/protobuf_decoder.h"
#include "ingest/syslog_decoder.h"

namespace authwatch {

absl::StatusOr<AppConfig> StepLoadConfig(const std::string& path) { return LoadAppConfig(path); }

absl::StatusOr<std::shared_ptr<const GeoDatabaseSet>> StepOpenGeoDatabases(const AppConfig& config) {
  return GeoDatabaseSet::Open(config.geoip.databases);
}

absl::StatusOr<std::shared_ptr<const RuleSet>> StepLoadRules(const AppConfig& config) {
  if (config.rule_paths.empty()) {
    return absl::InvalidArgumentError(Cat(config.path, ": rules.paths names no rule file"));
  }
  RuleLoadResult r = LoadRules(config.rule_paths);
  if (r.diagnostics.errors() > 0) {
    return absl::InvalidArgumentError(Cat(r.diagnostics.errors(), " error(s) in the rules:\n",
                                                   r.diagnostics.FormatAll()));
  }
  if (!r.diagnostics.items.empty()) std::fputs(r.diagnostics.FormatAll().c_str(), stderr);
  return r.rules;
}

absl::StatusOr<std::unique_ptr<EventDecoder>> MakeDecoder(const AppConfig& config, InputFormat format) {
  if (format == InputFormat::kSyslog) {
    SyslogOptions o;
    o.year = config.input.syslog_year;
    o.timezone = config.input.syslog_timezone;
    o.max_record_bytes = config.input.max_record_bytes;
    auto d = SyslogEventDecoder::Create(o);
    if (!d.ok()) return d.status();
    return std::unique_ptr<EventDecoder>(*std::move(d));
  }
  if (format == InputFormat::kProtobuf) {
    return std::make_unique<ProtobufEventDecoder>(config.input.max_record_bytes);
  }
  return std::make_unique<JsonEventDecoder>(config.input.mapping, config.input.max_record_bytes);
}

}  // namespace authwatch
