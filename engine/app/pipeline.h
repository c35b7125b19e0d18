// Pipeline: decode -> enrich -> detect -> decide -> sink, for one stream of records, in one
// thread. `authwatch replay` and `authwatch run` both drive it, which is what makes their
// decisions the same for the same events. Not thread-safe; one per shard.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "decide/decision_policy.h"
#include "detect/detection_engine.h"
#include "emit/dead_letter.h"
#include "enrich/geo_enricher.h"
#include "ingest/event_decoder.h"

namespace authwatch {

enum class EmitMode : uint8_t { kDecisions, kEnriched };

// Where results go. Implementations: JSON lines to a file (replay), Kafka topics (run),
// human-readable text (explain).
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void Decision(const authwatch::Decision& d) = 0;
  virtual void Enriched(const EnrichedEvent& e) = 0;
  virtual void Flush() {}
};

// Receives every accepted event after detection with the account's profile facts before each
// attempt it stands for: a scale-out account shard forwards it to its network shards
// (detect/shard_role.h). `ctx` has the event's keys.
class EventForwarder {
 public:
  virtual ~EventForwarder() = default;
  virtual void Forward(const EnrichedEvent& event, const EventContext& ctx, const std::vector<ProfileFacts>& facts) = 0;
};

// Where a record came from, formatted only when needed (rejections).
struct SourcePosition {
  std::string_view name;  // file path or topic
  int64_t offset = -1;    // line/record number, or Kafka offset
  int32_t partition = -1; // Kafka only
  std::string Format() const;
};

// Protocols counted apart in metrics (a bounded label set); anything else is "other".
inline constexpr std::array<std::string_view, 6> kMetricProtocols = {"smtp", "imap", "pop3", "web", "ssh", "other"};
size_t MetricProtocolIndex(std::string_view protocol);

struct PipelineCounters {
  uint64_t records = 0;   // records read (blank lines excluded)
  uint64_t accepted = 0;  // decoded into events and processed
  uint64_t skipped = 0;   // valid records that are not login events (mapping's only_when)
  uint64_t blank = 0;     // empty lines, ignored
  std::array<uint64_t, kRejectReasonCount> rejected{};
  std::array<uint64_t, 4> decisions{};  // by ActionKind
  uint64_t dry_run_decisions = 0;
  EventTimeMs max_event_ms = 0;
  std::array<std::array<uint64_t, 2>, kMetricProtocols.size()> by_protocol{};  // [protocol][success?]
  uint64_t rejected_total() const;
  // Sums (max for max_event_ms): the totals of several shards' pipelines.
  PipelineCounters& operator+=(const PipelineCounters& o);
};

class Pipeline {
 public:
  Pipeline(std::unique_ptr<EventDecoder> decoder, GeoEnricher* enricher,
           std::shared_ptr<const RuleSet> rules, int64_t late_allowance_ms, EmitMode mode,
           OutputSink* sink, DeadLetterSink* dead_letters);

  // Processes one record. Never throws; bad input is counted and dead-lettered.
  void Process(std::string_view record, const SourcePosition& pos);
  // Adopts a reloaded rule set, keeping window state of unchanged rules.
  void SetRules(std::shared_ptr<const RuleSet> rules);
  void set_forwarder(EventForwarder* forwarder) { forwarder_ = forwarder; }
  // A record the source could not even frame (e.g. a truncated protobuf record): counted as
  // read and rejected, so that read = accepted + rejected + skipped still holds.
  void RejectUnframed(const Rejection& rejection, std::string_view raw, const SourcePosition& pos);

  const PipelineCounters& counters() const { return counters_; }
  const DetectionEngine& detection() const { return detection_; }
  const DecisionPolicy& policy() const { return policy_; }
  GeoEnricher* enricher() { return enricher_; }
  // For checkpoints (stream/state_store.h): the state that decides, and the late-event
  // watermark of each source partition.
  DetectionEngine* mutable_detection() { return &detection_; }
  void set_window_memory_budget(size_t bytes) { detection_.set_window_memory_budget(bytes); }
  DecisionPolicy* mutable_policy() { return &policy_; }
  const absl::flat_hash_map<int32_t, EventTimeMs>& watermarks() const { return partition_max_ms_; }
  void SetWatermark(int32_t partition, EventTimeMs ms) { partition_max_ms_[partition] = ms; }
  const GeoEnricher& geo() const { return *enricher_; }

 private:
  void Reject(const Rejection& rejection, std::string_view raw, const SourcePosition& pos);
  void Emit(std::vector<Decision>& decisions);

  std::unique_ptr<EventDecoder> decoder_;
  GeoEnricher* enricher_;
  int64_t late_allowance_ms_;
  EmitMode mode_;
  OutputSink* sink_;
  DeadLetterSink* dead_letters_;
  DetectionEngine detection_;
  DecisionPolicy policy_;
  PipelineCounters counters_;
  // Newest event time per source partition: the late-event allowance applies within a
  // partition, since partitions are consumed unevenly (a backlog is read partition by chunk).
  absl::flat_hash_map<int32_t, EventTimeMs> partition_max_ms_;
  // Reused per event to avoid allocation.
  EnrichedEvent event_;
  EventContext ctx_;
  Rejection rejection_;
  std::vector<Signal> signals_;
  std::vector<Decision> decisions_;
  EventForwarder* forwarder_ = nullptr;
  std::vector<ProfileFacts> facts_;
};

}  // namespace authwatch
