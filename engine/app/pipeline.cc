#include "app/pipeline.h"

#include "core/strings.h"

namespace authwatch {

std::string SourcePosition::Format() const {
  if (partition >= 0) return Cat(name, "/", partition, "@", offset);
  return Cat(name, ":", offset);
}

size_t MetricProtocolIndex(std::string_view protocol) {
  for (size_t i = 0; i + 1 < kMetricProtocols.size(); ++i) {
    if (protocol == kMetricProtocols[i]) return i;
  }
  return kMetricProtocols.size() - 1;
}

uint64_t PipelineCounters::rejected_total() const {
  uint64_t n = 0;
  for (uint64_t r : rejected) n += r;
  return n;
}

PipelineCounters& PipelineCounters::operator+=(const PipelineCounters& o) {
  records += o.records;
  accepted += o.accepted;
  skipped += o.skipped;
  blank += o.blank;
  for (size_t i = 0; i < rejected.size(); ++i) rejected[i] += o.rejected[i];
  for (size_t i = 0; i < decisions.size(); ++i) decisions[i] += o.decisions[i];
  dry_run_decisions += o.dry_run_decisions;
  max_event_ms = std::max(max_event_ms, o.max_event_ms);
  for (size_t p = 0; p < by_protocol.size(); ++p) {
    for (size_t r = 0; r < by_protocol[p].size(); ++r) by_protocol[p][r] += o.by_protocol[p][r];
  }
  return *this;
}

Pipeline::Pipeline(std::unique_ptr<EventDecoder> decoder, GeoEnricher* enricher,
                   std::shared_ptr<const RuleSet> rules, int64_t late_allowance_ms, EmitMode mode,
                   OutputSink* sink, DeadLetterSink* dead_letters)
    : decoder_(std::move(decoder)),
      enricher_(enricher),
      late_allowance_ms_(late_allowance_ms),
      mode_(mode),
      sink_(sink),
      dead_letters_(dead_letters),
      detection_(rules),
      policy_(rules) {}

void Pipeline::SetRules(std::shared_ptr<const RuleSet> rules) {
  detection_.SetRules(rules);
  policy_.SetRules(std::move(rules));
}

void Pipeline::Reject(const Rejection& rejection, std::string_view raw, const SourcePosition& pos) {
  ++counters_.rejected[static_cast<size_t>(rejection.reason)];
  if (dead_letters_ != nullptr) {
    const std::string source = pos.Format();
    dead_letters_->Write(DeadLetter{&rejection, source, raw});
  }
}

void Pipeline::RejectUnframed(const Rejection& rejection, std::string_view raw, const SourcePosition& pos) {
  ++counters_.records;
  Reject(rejection, raw, pos);
}

void Pipeline::Process(std::string_view record, const SourcePosition& pos) {
  if (record.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    ++counters_.blank;
    return;
  }
  ++counters_.records;
  switch (decoder_->Decode(record, &event_.event, &rejection_)) {
    case DecodeOutcome::kSkipped:
      ++counters_.skipped;
      return;
    case DecodeOutcome::kRejected:
      Reject(rejection_, record, pos);
      return;
    case DecodeOutcome::kEvent:
      break;
  }
  AuthEvent& ev = event_.event;
  ev.source_offset = pos.offset;
  // Event-time watermark of the event's partition: its newest time less the allowance.
  EventTimeMs& partition_max = partition_max_ms_[pos.partition];
  if (partition_max != 0 && ev.ts_ms < partition_max - late_allowance_ms_) {
    rejection_.reason = RejectReason::kLateEvent;
    rejection_.detail = Cat("event time ", FormatRfc3339(ev.ts_ms), " is more than ",
                            late_allowance_ms_ / 1000, " s before the newest event of its partition (",
                            FormatRfc3339(partition_max), ")");
    Reject(rejection_, record, pos);
    return;
  }
  partition_max = std::max(partition_max, ev.ts_ms);
  ++counters_.accepted;
  ++counters_.by_protocol[MetricProtocolIndex(ev.protocol)][ev.result == AuthResult::kSuccess ? 1 : 0];
  counters_.max_event_ms = std::max(counters_.max_event_ms, ev.ts_ms);
  enricher_->Enrich(&event_);
  if (mode_ == EmitMode::kEnriched) {
    sink_->Enriched(event_);
    return;
  }
  decisions_.clear();
  policy_.AdvanceTo(counters_.max_event_ms, &decisions_);
  // A record standing for several identical attempts counts as that many.
  facts_.clear();
  for (uint32_t i = 0; i < std::max<uint32_t>(1, ev.repeat); ++i) {
    signals_.clear();
    detection_.Process(event_, &ctx_, &signals_);
    for (const Signal& s : signals_) policy_.OnSignal(s, ctx_, &decisions_);
    if (forwarder_ != nullptr) facts_.push_back(ctx_.profile);
  }
  Emit(decisions_);
  if (forwarder_ != nullptr) forwarder_->Forward(event_, ctx_, facts_);
}

void Pipeline::Emit(std::vector<Decision>& decisions) {
  for (const Decision& d : decisions) {
    ++counters_.decisions[static_cast<size_t>(d.action)];
    if (d.dry_run) ++counters_.dry_run_decisions;
    sink_->Decision(d);
  }
}

}  // namespace authwatch
