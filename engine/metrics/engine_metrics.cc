#include "metrics/engine_metrics.h"

#include "core/strings.h"

namespace authwatch {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

// Decision latency buckets, seconds: sub-millisecond processing up to a minute of lag.
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

std::string DecisionKey(std::string_view rule, std::string_view action, std::string_view scope) {
  return Cat(rule, "|", action, "|", scope);
}

}  // namespace

EngineMetrics::EngineMetrics(std::shared_ptr<prometheus::Registry> registry, const std::string& version)
    : registry_(std::move(registry)),
      events_(BuildCounter().Name("authwatch_events_total").Help("Login events accepted, by protocol and result").Register(*registry_)),
      rejected_(BuildCounter().Name("authwatch_events_rejected_total").Help("Input records rejected (and dead-lettered), by reason").Register(*registry_)),
      decisions_(BuildCounter().Name("authwatch_decisions_total").Help("Decisions written, by rule, action and scope").Register(*registry_)),
      active_(BuildGauge().Name("authwatch_active_decisions").Help("Decisions in force, by action (dry runs excluded)").Register(*registry_)),
      state_keys_(BuildGauge().Name("authwatch_state_keys").Help("Keys with detector state, by key kind (profile: account profiles)").Register(*registry_)),
      geoip_lookups_(BuildCounter().Name("authwatch_geoip_lookups_total").Help("GeoIP lookups, by cache result").Register(*registry_)),
      reloads_(BuildCounter().Name("authwatch_reloads_total").Help("Reloads of rules and GeoIP databases, by component and result").Register(*registry_)),
      rules_info_(BuildGauge().Name("authwatch_rules_info").Help("The loaded rule set's version (always 1)").Register(*registry_)),
      lag_(BuildGauge().Name("authwatch_consumer_lag").Help("Messages behind the partition's end, from librdkafka statistics").Register(*registry_)),
      latency_(BuildHistogram().Name("authwatch_decision_latency_seconds").Help("Time from the triggering event to its decision: from the event's own time, and from when it was consumed").Register(*registry_)),
      skipped_(BuildCounter().Name("authwatch_events_skipped_total").Help("Valid records that are not login events (field mapping's only_when)").Register(*registry_).Add({})),
      delivery_failures_(BuildCounter().Name("authwatch_kafka_delivery_failures_total").Help("Records the producer could not deliver").Register(*registry_).Add({})),
      kafka_errors_(BuildCounter().Name("authwatch_kafka_errors_total").Help("Errors reported by librdkafka (broker down, transport; retried)").Register(*registry_).Add({})),
      rebalances_(BuildCounter().Name("authwatch_kafka_rebalances_total").Help("Consumer group rebalance events").Register(*registry_).Add({})),
      checkpoints_(BuildCounter().Name("authwatch_state_checkpoints_total").Help("Checkpoints of the detection state to the state topic, by result (failed: not written, or a snapshot that could not be restored)").Register(*registry_)),
      checkpoints_ok_(checkpoints_.Add({{"result", "ok"}})),
      checkpoints_failed_(checkpoints_.Add({{"result", "failed"}})),
      replayed_(BuildCounter().Name("authwatch_state_replayed_events_total").Help("Events re-read after a restore to rebuild the state, with output suppressed").Register(*registry_).Add({})),
      shed_(BuildCounter().Name("authwatch_state_shed_total").Help("Failed logins that created no per-account or per-address window state because the window state was over limits.window_memory (counted per rule; network-keyed rules still count them)").Register(*registry_).Add({})),
      events_per_second_(BuildGauge().Name("authwatch_events_per_second").Help("Records processed per second over the last publish interval").Register(*registry_).Add({})),
      last_event_time_(BuildGauge().Name("authwatch_last_event_timestamp_seconds").Help("Event time of the newest event processed (Unix seconds)").Register(*registry_).Add({})),
      state_memory_(BuildGauge().Name("authwatch_state_memory_bytes").Help("Estimated memory of detector state (profiles and windows)").Register(*registry_).Add({})),
      cache_hit_ratio_(BuildGauge().Name("authwatch_geoip_cache_hit_ratio").Help("GeoIP cache hits / lookups since start").Register(*registry_).Add({})),
      assigned_partitions_(BuildGauge().Name("authwatch_assigned_partitions").Help("Input partitions assigned to this instance").Register(*registry_).Add({})),
      latency_event_time_(latency_.Add({{"from", "event_time"}}, kLatencyBuckets)),
      latency_consume_(latency_.Add({{"from", "consume"}}, kLatencyBuckets)) {
  BuildGauge().Name("authwatch_build_info").Help("Build information (always 1)").Register(*registry_).Add({{"version", version}}).Set(1);
  for (size_t p = 0; p < kMetricProtocols.size(); ++p) {
    for (int r = 0; r < 2; ++r) {
      event_counters_[p][static_cast<size_t>(r)] =
          &events_.Add({{"protocol", std::string(kMetricProtocols[p])}, {"result", r ? "success" : "failure"}});
    }
  }
  for (size_t i = 0; i < kRejectReasonCount; ++i) {
    reject_counters_[i] = &rejected_.Add({{"reason", std::string(kRejectReasonNames[i])}});
  }
  for (const ActionKind a : {ActionKind::kBlock, ActionKind::kChallenge, ActionKind::kMonitor}) {
    active_gauges_[static_cast<size_t>(a)] = &active_.Add({{"action", std::string(ActionName(a))}});
  }
  for (int k = 0; k < kKeyKindCount; ++k) {
    key_gauges_[static_cast<size_t>(k)] = &state_keys_.Add({{"kind", std::string(KeyKindName(static_cast<KeyKind>(k)))}});
  }
  key_gauges_[kKeyKindCount] = &state_keys_.Add({{"kind", "profile"}});
  geo_hits_ = &geoip_lookups_.Add({{"result", "hit"}});
  geo_misses_ = &geoip_lookups_.Add({{"result", "miss"}});
  for (const char* component : {"rules", "geoip"}) {
    for (const char* result : {"success", "failure"}) reloads_.Add({{"component", component}, {"result", result}});
  }
}

void EngineMetrics::OnRules(const RuleSet& rules) {
  auto add = [&](const std::string& rule, const std::vector<Consequence>& then, bool dry_run) {
    for (const auto& c : then) {
      const std::string action(ActionName(dry_run ? ActionKind::kMonitor : c.action));
      for (const std::string& a : {action, std::string("unblock")}) {
        const std::string key = DecisionKey(rule, a, c.scope);
        if (!decision_counters_.contains(key)) {
          decision_counters_[key] = &decisions_.Add({{"rule", rule}, {"action", a}, {"scope", c.scope}});
        }
      }
    }
  };
  for (const auto& r : rules.rules) add(r.name, r.then, r.monitor_only);
  for (const auto& t : rules.travel) add(t.name, t.then, t.monitor_only);
  for (const auto& n : rules.novelty) add(n.name, n.then, n.monitor_only);
  if (rules_version_ != nullptr) rules_info_.Remove(rules_version_);
  rules_version_ = &rules_info_.Add({{"version", rules.version}});
  rules_version_->Set(1);
}

void EngineMetrics::OnReload(std::string_view component, bool ok) {
  reloads_.Add({{"component", std::string(component)}, {"result", ok ? "success" : "failure"}}).Increment();
}

void EngineMetrics::OnDecision(const Decision& d, int64_t now_wall_ms, double since_consume_s) {
  const std::string key = DecisionKey(d.rule, ActionName(d.action), d.scope);
  auto it = decision_counters_.find(key);
  if (it == decision_counters_.end()) {
    it = decision_counters_
             .emplace(key, &decisions_.Add({{"rule", d.rule}, {"action", std::string(ActionName(d.action))}, {"scope", d.scope}}))
             .first;
  }
  it->second->Increment();
  if (d.action == ActionKind::kUnblock) return;  // an expiry has no triggering event
  latency_event_time_.Observe(std::max<int64_t>(0, now_wall_ms - d.ts_ms) / 1000.0);
  if (since_consume_s >= 0) latency_consume_.Observe(since_consume_s);
}

void EngineMetrics::SetConsumerLag(const std::string& topic, int32_t partition, int64_t lag) {
  const std::string key = Cat(topic, "/", partition);
  auto it = lag_gauges_.find(key);
  if (it == lag_gauges_.end()) {
    it = lag_gauges_.emplace(key, &lag_.Add({{"topic", topic}, {"partition", std::to_string(partition)}})).first;
  }
  it->second->Set(static_cast<double>(std::max<int64_t>(lag, 0)));
}

void EngineMetrics::DropConsumerLag(const std::string& topic, int32_t partition) {
  auto it = lag_gauges_.find(Cat(topic, "/", partition));
  if (it == lag_gauges_.end()) return;
  lag_.Remove(it->second);
  lag_gauges_.erase(it);
}

void EngineSample::AddState(const DetectionEngine& detection, const DecisionPolicy& policy) {
  shed += detection.windows().shed();
  const auto a = policy.ActiveByAction();
  for (size_t i = 0; i < active.size(); ++i) active[i] += a[i];
  const auto k = detection.windows().KeysByKind();
  for (size_t i = 0; i < keys.size(); ++i) keys[i] += k[i];
  profiles += detection.profiles().size();
  state_bytes += detection.profiles().MemoryBytes() + detection.windows().MemoryBytes();
}

EngineSample SampleOf(const Pipeline& pipeline) {
  EngineSample s;
  s.counters = pipeline.counters();
  s.AddState(pipeline.detection(), pipeline.policy());
  s.geo = pipeline.geo().cache_stats();
  return s;
}

void EngineMetrics::Publish(const EngineSample& sample, const StreamStats& stream, int64_t now_wall_ms) {
  const PipelineCounters& c = sample.counters;
  for (size_t p = 0; p < kMetricProtocols.size(); ++p) {
    for (size_t r = 0; r < 2; ++r) {
      event_counters_[p][r]->Increment(static_cast<double>(c.by_protocol[p][r] - last_.by_protocol[p][r]));
    }
  }
  for (size_t i = 0; i < kRejectReasonCount; ++i) {
    reject_counters_[i]->Increment(static_cast<double>(c.rejected[i] - last_.rejected[i]));
  }
  skipped_.Increment(static_cast<double>(c.skipped - last_.skipped));
  const uint64_t shed = sample.shed;
  shed_.Increment(static_cast<double>(shed - last_shed_));
  last_shed_ = shed;
  if (last_publish_ms_ > 0 && now_wall_ms > last_publish_ms_) {
    events_per_second_.Set(static_cast<double>(c.records - last_.records) * 1000.0 /
                           static_cast<double>(now_wall_ms - last_publish_ms_));
  }
  if (c.max_event_ms > 0) last_event_time_.Set(static_cast<double>(c.max_event_ms) / 1000.0);

  for (size_t a = 0; a < sample.active.size(); ++a) active_gauges_[a]->Set(static_cast<double>(sample.active[a]));
  for (int k = 0; k < kKeyKindCount; ++k) {
    key_gauges_[static_cast<size_t>(k)]->Set(static_cast<double>(sample.keys[static_cast<size_t>(k)]));
  }
  key_gauges_[kKeyKindCount]->Set(static_cast<double>(sample.profiles));
  state_memory_.Set(static_cast<double>(sample.state_bytes));

  const GeoCacheStats& g = sample.geo;
  geo_hits_->Increment(static_cast<double>(g.hits - last_geo_hits_));
  geo_misses_->Increment(static_cast<double>(g.misses - last_geo_misses_));
  last_geo_hits_ = g.hits;
  last_geo_misses_ = g.misses;
  cache_hit_ratio_.Set(g.HitRatio());

  delivery_failures_.Increment(static_cast<double>(stream.delivery_failures - last_stream_.delivery_failures));
  kafka_errors_.Increment(static_cast<double>(stream.kafka_errors - last_stream_.kafka_errors));
  rebalances_.Increment(static_cast<double>(stream.rebalances - last_stream_.rebalances));
  checkpoints_ok_.Increment(static_cast<double>(stream.checkpoints - last_stream_.checkpoints));
  checkpoints_failed_.Increment(static_cast<double>(stream.checkpoint_failures - last_stream_.checkpoint_failures));
  replayed_.Increment(static_cast<double>(stream.replayed - last_stream_.replayed));
  assigned_partitions_.Set(static_cast<double>(stream.assigned_partitions));
  last_stream_ = stream;
  last_ = c;
  last_publish_ms_ = now_wall_ms;
}

}  // namespace authwatch
