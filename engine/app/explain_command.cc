// authwatch explain: which rules an event stream fires, on what, and why, in plain text.
#include <cstdio>
#include <map>

#include "core/strings.h"
#include "absl/strings/str_join.h"
#include "app/command_line.h"
#include "app/commands.h"
#include "app/pipeline.h"
#include "app/startup.h"
#include "detect/rule_windows.h"
#include "emit/dead_letter.h"
#include "ingest/record_reader.h"

namespace authwatch {
namespace {

class ExplainSink final : public OutputSink {
 public:
  void Decision(const authwatch::Decision& d) override {
    auto& tally = per_rule_[d.rule];
    ++tally[std::string(ActionName(d.action))];
    std::string line = Cat(FormatRfc3339(d.ts_ms), "  ", d.rule, "  ", ActionName(d.action),
                                    d.dry_run ? " (dry run)" : "", " ", KeyKindName(d.subject.type), " ",
                                    d.subject.value, " scope ", d.scope);
    if (d.action != ActionKind::kUnblock) Append(&line, " for ", FormatDuration(d.ttl_s * 1000));
    Append(&line, "\n");
    for (const auto& r : d.reasons) Append(&line, "    because ", r, "\n");
    Append(&line, "    evidence ", d.evidence_json, "\n");
    std::fputs(line.c_str(), stdout);
  }
  void Enriched(const EnrichedEvent&) override {}
  void PrintTally() const {
    std::printf("\nrules that fired:\n");
    if (per_rule_.empty()) std::printf("  none\n");
    for (const auto& [rule, actions] : per_rule_) {
      std::vector<std::string> parts;
      for (const auto& [a, n] : actions) parts.push_back(Cat(n, " ", a));
      std::printf("  %-36s %s\n", rule.c_str(), absl::StrJoin(parts, ", ").c_str());
    }
  }

 private:
  std::map<std::string, std::map<std::string, int>> per_rule_;
};

// Explain keeps rejected records in memory only: it is a diagnostic tool and writes no files.
class CountingDeadLetters final : public DeadLetterSink {
 public:
  void Write(const DeadLetter& l) override {
    std::fprintf(stderr, "rejected %s: %s (%s)\n", l.source.data(),
                 std::string(RejectReasonName(l.rejection->reason)).c_str(), l.rejection->detail.c_str());
  }
};

}  // namespace

int RunExplain(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"config", "input", "format"}, {"help"});
  if (!cl.ok() || cl->Has("help") || !cl->Has("config") || !cl->Has("input")) {
    if (!cl.ok()) std::fprintf(stderr, "authwatch explain: %s\n", std::string(cl.status().message()).c_str());
    std::fputs("usage: authwatch explain --config FILE --input PATH|- [--format json|protobuf|syslog]\n"
               "Prints each decision the stream causes with the rule, the numbers and sample events,\n"
               "then how often each rule fired.\n", stderr);
    return cl.ok() && cl->Has("help") ? 0 : 2;
  }
  auto config = StepLoadConfig(*cl->Get("config"));
  if (!config.ok()) {
    std::fprintf(stderr, "authwatch explain: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  InputFormat format = config->input.format;
  if (auto f = cl->Get("format")) {
    format = *f == "protobuf" ? InputFormat::kProtobuf : *f == "syslog" ? InputFormat::kSyslog : InputFormat::kJson;
  }
  auto decoder = MakeDecoder(*config, format);
  if (!decoder.ok()) {
    std::fprintf(stderr, "authwatch explain: %s\n", std::string(decoder.status().message()).c_str());
    return 2;
  }
  auto databases = StepOpenGeoDatabases(*config);
  if (!databases.ok()) {
    std::fprintf(stderr, "authwatch explain: %s\n", std::string(databases.status().message()).c_str());
    return 2;
  }
  auto rules = StepLoadRules(*config);
  if (!rules.ok()) {
    std::fprintf(stderr, "authwatch explain: %s", std::string(rules.status().message()).c_str());
    return 2;
  }
  auto reader = RecordReader::Open(*cl->Get("input"), format == InputFormat::kProtobuf
                                                          ? RecordFraming::kLengthDelimited
                                                          : RecordFraming::kLines);
  if (!reader.ok()) {
    std::fprintf(stderr, "authwatch explain: %s\n", std::string(reader.status().message()).c_str());
    return 2;
  }
  GeoEnricher enricher(*databases, config->geoip);
  ExplainSink sink;
  CountingDeadLetters dead_letters;
  Pipeline pipeline(*std::move(decoder), &enricher, *rules, config->input.late_allowance_ms,
                    EmitMode::kDecisions, &sink, &dead_letters);
  pipeline.set_window_memory_budget(config->limits.window_memory_bytes);
  std::string_view record;
  std::string error;
  SourcePosition pos;
  pos.name = (*reader)->name();
  while ((*reader)->Next(&record, &error)) {
    pos.offset = (*reader)->record_number();
    pipeline.Process(record, pos);
  }
  if (!error.empty()) std::fprintf(stderr, "authwatch explain: %s\n", error.c_str());
  sink.PrintTally();
  const auto& c = pipeline.counters();
  std::printf("%llu events, %llu accepted, %llu rejected\n", static_cast<unsigned long long>(c.records),
              static_cast<unsigned long long>(c.accepted), static_cast<unsigned long long>(c.rejected_total()));
  return 0;
}

}  // namespace authwatch
