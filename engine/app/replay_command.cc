// authwatch replay: file or stdin through the whole pipeline to stdout or a file.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "core/strings.h"
#include "absl/strings/str_format.h"
#include "app/command_line.h"
#include "app/commands.h"
#include "app/pipeline.h"
#include "app/progress_bar.h"
#include "app/startup.h"
#include "emit/json_lines_sink.h"
#include "ingest/record_reader.h"

namespace authwatch {
namespace {

constexpr char kUsage[] =
    "usage: authwatch replay --config FILE [--input PATH|-] [--output PATH|-]\n"
    "                        [--emit decisions|enriched] [--format json|protobuf|syslog]\n"
    "                        [--syslog-year YYYY] [--syslog-timezone ZONE]\n"
    "                        [--dead-letter PATH] [--no-progress]\n"
    "Runs the whole pipeline in-process on JSON lines (or length-delimited protobuf with\n"
    "--format protobuf, or sshd/dovecot/postfix log lines with --format syslog) and writes\n"
    "decisions (or enriched events) as JSON lines.\n"
    "A summary goes to stderr at the end; a progress bar too when stderr is a terminal.\n";

void PrintSummary(const PipelineCounters& c, const GeoEnricher& enricher, double seconds,
                  const std::string& dead_letter_path) {
  std::string s = absl::StrFormat(
      "authwatch replay: %d events read, %d accepted, %d rejected, %d skipped (not login events)\n",
      c.records, c.accepted, c.rejected_total(), c.skipped);
  for (size_t i = 0; i < kRejectReasonCount; ++i) {
    if (c.rejected[i] > 0) absl::StrAppendFormat(&s, "  rejected %s: %d\n", kRejectReasonNames[i], c.rejected[i]);
  }
  if (c.rejected_total() > 0) Append(&s, "  rejected records are in ", dead_letter_path, "\n");
  absl::StrAppendFormat(&s, "  decisions: %d block, %d challenge, %d monitor, %d unblock (%d dry run)\n",
                        c.decisions[0], c.decisions[1], c.decisions[2], c.decisions[3], c.dry_run_decisions);
  absl::StrAppendFormat(&s, "  geoip cache: %.1f%% hits (%d lookups)\n", 100 * enricher.cache_stats().HitRatio(),
                        enricher.cache_stats().hits + enricher.cache_stats().misses);
  absl::StrAppendFormat(&s, "  time: %.3f s, %.0f events/s\n", seconds,
                        seconds > 0 ? static_cast<double>(c.records) / seconds : 0.0);
  std::fputs(s.c_str(), stderr);
}

}  // namespace

int RunReplay(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"config", "input", "output", "emit", "format", "dead-letter", "syslog-year", "syslog-timezone"},
                               {"no-progress", "help"});
  if (!cl.ok() || cl->Has("help") || !cl->Has("config")) {
    if (!cl.ok()) std::fprintf(stderr, "authwatch replay: %s\n", std::string(cl.status().message()).c_str());
    std::fputs(kUsage, stderr);
    return cl.ok() && cl->Has("help") ? 0 : 2;
  }
  const std::string emit = cl->GetOr("emit", "decisions");
  if (emit != "decisions" && emit != "enriched") {
    std::fprintf(stderr, "authwatch replay: --emit must be decisions or enriched, not '%s'\n", emit.c_str());
    return 2;
  }
  auto config = StepLoadConfig(*cl->Get("config"));
  if (!config.ok()) {
    std::fprintf(stderr, "authwatch replay: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  InputFormat format = config->input.format;
  if (auto f = cl->Get("format")) {
    if (*f == "json") format = InputFormat::kJson;
    else if (*f == "protobuf") format = InputFormat::kProtobuf;
    else if (*f == "syslog") format = InputFormat::kSyslog;
    else {
      std::fprintf(stderr, "authwatch replay: --format must be json, protobuf or syslog, not '%s'\n", f->c_str());
      return 2;
    }
  }
  if (auto y = cl->Get("syslog-year")) config->input.syslog_year = std::atoi(y->c_str());
  if (auto z = cl->Get("syslog-timezone")) config->input.syslog_timezone = *z;
  auto decoder = MakeDecoder(*config, format);
  if (!decoder.ok()) {
    std::fprintf(stderr, "authwatch replay: %s\n", std::string(decoder.status().message()).c_str());
    return 2;
  }
  auto databases = StepOpenGeoDatabases(*config);
  if (!databases.ok()) {
    std::fprintf(stderr, "authwatch replay: %s\n", std::string(databases.status().message()).c_str());
    return 2;
  }
  std::shared_ptr<const RuleSet> rules = std::make_shared<RuleSet>();
  if (emit == "decisions") {
    auto loaded = StepLoadRules(*config);
    if (!loaded.ok()) {
      std::fprintf(stderr, "authwatch replay: %s", std::string(loaded.status().message()).c_str());
      return 2;
    }
    rules = *loaded;
  }
  auto reader = RecordReader::Open(cl->GetOr("input", "-"),
                                   format == InputFormat::kProtobuf ? RecordFraming::kLengthDelimited
                                                                    : RecordFraming::kLines);
  if (!reader.ok()) {
    std::fprintf(stderr, "authwatch replay: %s\n", std::string(reader.status().message()).c_str());
    return 2;
  }
  auto sink = JsonLinesSink::Open(cl->GetOr("output", "-"));
  if (!sink.ok()) {
    std::fprintf(stderr, "authwatch replay: %s\n", std::string(sink.status().message()).c_str());
    return 2;
  }
  std::string dl_path = cl->GetOr("dead-letter", config->output.dead_letter_path);
  if (dl_path.empty()) dl_path = "authwatch-dead-letter.jsonl";
  auto dead_letters = FileDeadLetterSink::Open(dl_path, /*append=*/false);
  if (!dead_letters.ok()) {
    std::fprintf(stderr, "authwatch replay: %s\n", std::string(dead_letters.status().message()).c_str());
    return 2;
  }

  GeoEnricher enricher(*databases, config->geoip);
  Pipeline pipeline(*std::move(decoder), &enricher, rules, config->input.late_allowance_ms,
                    emit == "enriched" ? EmitMode::kEnriched : EmitMode::kDecisions, sink->get(),
                    dead_letters->get());
  pipeline.set_window_memory_budget(config->limits.window_memory_bytes);
  ProgressBar progress(!cl->Has("no-progress") && isatty(STDERR_FILENO));
  const auto start = std::chrono::steady_clock::now();
  std::string_view record;
  std::string framing_error;
  SourcePosition pos;
  pos.name = (*reader)->name();
  while ((*reader)->Next(&record, &framing_error)) {
    pos.offset = (*reader)->record_number();
    pipeline.Process(record, pos);
    if ((pos.offset & 0x3fff) == 0) progress.Update((*reader)->bytes_read(), (*reader)->total_bytes(), pipeline.counters().records);
  }
  if (!framing_error.empty()) {
    pos.offset = (*reader)->record_number() + 1;
    pipeline.RejectUnframed(Rejection{RejectReason::kBadProtobuf, framing_error}, "", pos);
  }
  progress.Finish();
  (*sink)->Flush();
  (*dead_letters)->Flush();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PrintSummary(pipeline.counters(), enricher, seconds, dl_path);
  return 0;
}

}  // namespace authwatch
