// EngineMetrics: authwatch's Prometheus metrics. Families are built once and every label value
// is created at zero at start (a dashboard shows 0, not "no data"); no label ever takes a value
// from users (accounts, addresses, cities): labels are rule names, actions, scopes, reasons,
// protocols, key kinds, partitions.
//
// The hot path never touches a metric: the pipeline keeps plain counters and Publish() copies
// their growth into the registry about once a second. Only decisions (rare) are observed
// directly, with their latency. Not thread-safe except through the registry (scrapes run on
// the HTTP server's threads; prometheus-cpp's metrics are atomic).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>

#include "app/pipeline.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace authwatch {

struct StreamStats {
  uint64_t delivery_failures = 0;
  uint64_t kafka_errors = 0;
  uint64_t rebalances = 0;
  size_t assigned_partitions = 0;
  uint64_t checkpoints = 0;          // durable state (stream/state_store.h)
  uint64_t checkpoint_failures = 0;  // includes a snapshot that could not be restored
  uint64_t replayed = 0;             // events re-read after a restore, output suppressed
};

// What the engine's state says, summed over the shards of an instance (one pipeline, or a
// scale-out instance's account and network shards).
struct EngineSample {
  PipelineCounters counters;
  uint64_t shed = 0;
  std::array<size_t, 3> active{};  // by action, DecisionPolicy::ActiveByAction
  std::array<size_t, kKeyKindCount> keys{};
  size_t profiles = 0;
  size_t state_bytes = 0;
  GeoCacheStats geo;
  // Adds a shard's detection and policy state (not its counters).
  void AddState(const DetectionEngine& detection, const DecisionPolicy& policy);
};
EngineSample SampleOf(const Pipeline& pipeline);

class EngineMetrics {
 public:
  EngineMetrics(std::shared_ptr<prometheus::Registry> registry, const std::string& version);

  // Creates the decision series of a (re)loaded rule set at zero and sets the rules' version.
  void OnRules(const RuleSet& rules);
  void OnReload(std::string_view component, bool ok);
  // A decision produced; `since_consume_s` is the time since its triggering message was
  // consumed (steady clock, sub-millisecond), negative when unknown.
  void OnDecision(const Decision& d, int64_t now_wall_ms, double since_consume_s);
  void SetConsumerLag(const std::string& topic, int32_t partition, int64_t lag);
  // A partition revoked from this instance: its lag is no longer ours to report.
  void DropConsumerLag(const std::string& topic, int32_t partition);

  // Copies counters and gauges from the engine's state.
  void Publish(const Pipeline& pipeline, const StreamStats& stream, int64_t now_wall_ms) {
    Publish(SampleOf(pipeline), stream, now_wall_ms);
  }
  void Publish(const EngineSample& sample, const StreamStats& stream, int64_t now_wall_ms);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Gauge>& active_;
  prometheus::Family<prometheus::Gauge>& state_keys_;
  prometheus::Family<prometheus::Counter>& geoip_lookups_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Family<prometheus::Gauge>& rules_info_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Counter& skipped_;
  prometheus::Counter& delivery_failures_;
  prometheus::Counter& kafka_errors_;
  prometheus::Counter& rebalances_;
  prometheus::Family<prometheus::Counter>& checkpoints_;
  prometheus::Counter& checkpoints_ok_;
  prometheus::Counter& checkpoints_failed_;
  prometheus::Counter& replayed_;
  prometheus::Counter& shed_;
  prometheus::Gauge& events_per_second_;
  prometheus::Gauge& last_event_time_;
  prometheus::Gauge& state_memory_;
  prometheus::Gauge& cache_hit_ratio_;
  prometheus::Gauge& assigned_partitions_;
  prometheus::Histogram& latency_event_time_;
  prometheus::Histogram& latency_consume_;

  std::array<std::array<prometheus::Counter*, 2>, kMetricProtocols.size()> event_counters_{};
  std::array<prometheus::Counter*, kRejectReasonCount> reject_counters_{};
  std::array<prometheus::Gauge*, 3> active_gauges_{};
  std::array<prometheus::Gauge*, kKeyKindCount + 1> key_gauges_{};
  prometheus::Counter* geo_hits_;
  prometheus::Counter* geo_misses_;
  std::map<std::string, prometheus::Counter*> decision_counters_;  // "rule|action|scope"
  prometheus::Gauge* rules_version_ = nullptr;
  std::map<std::string, prometheus::Gauge*> lag_gauges_;

  // Values at the previous Publish, to add only the growth.
  PipelineCounters last_;
  uint64_t last_geo_hits_ = 0, last_geo_misses_ = 0;
  uint64_t last_shed_ = 0;
  StreamStats last_stream_;
  int64_t last_publish_ms_ = 0;
};

}  // namespace authwatch
