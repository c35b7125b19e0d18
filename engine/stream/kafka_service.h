// KafkaService: `authwatch run`. A consumer-group member on the input topics feeding the same
// Pipeline as replay; decisions to the decisions topic (keyed by subject), rejected records to
// the dead-letter topic (reason in headers, original bytes as the value).
//
// Delivery guarantee: at least once. An input offset is stored for commit only when the
// message is processed and every record it caused is acknowledged by the broker (acks=all,
// idempotent producer, no delivery timeout). A crash re-reads from the last commit: a message
// may be processed twice, never skipped. Decision ids are derived from the triggering event,
// so a consumer can drop the repeats.
//
// Threading: one thread runs the consume loop and serves librdkafka's callbacks (poll()).
// Stop() may be called from a signal handler's flag check or another thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "app/config.h"
#include "app/pipeline.h"
#include "librdkafka/rdkafkacpp.h"
#include "metrics/engine_metrics.h"
#include "metrics/metrics_server.h"
#include "stream/network_shard.h"
#include "stream/offset_tracker.h"
#include "stream/state_store.h"

namespace authwatch {

struct KafkaServiceStats {
  uint64_t consumed = 0;
  uint64_t replayed = 0;  // re-processed after a restore with output suppressed
  uint64_t checkpoints = 0;
  uint64_t checkpoint_failures = 0;
  uint64_t produced_decisions = 0;
  uint64_t produced_dead_letters = 0;
  uint64_t delivery_failures = 0;
  uint64_t broker_errors = 0;
  uint64_t rebalances = 0;
};

class KafkaService {
 public:
  // Opens the databases and rules and connects; fails with a message naming the component.
  static absl::StatusOr<std::unique_ptr<KafkaService>> Create(const AppConfig& config);
  ~KafkaService();

  // Runs until Stop() (or a fatal Kafka error); then finishes in-flight work, flushes, commits
  // and closes. Returns OK after a clean stop.
  absl::Status Run();
  void Stop() { stop_.store(true); }
  // Asks the loop to reload rules and databases at its next turn (SIGHUP).
  void RequestReload() { reload_.store(true); }

  const KafkaServiceStats& stats() const { return stats_; }
  // The metrics endpoint's port (useful with metrics.listen "127.0.0.1:0").
  int metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }

 private:
  class Callbacks;
  class Output;
  explicit KafkaService(const AppConfig& config);
  void Process(RdKafka::Message& message);
  void StoreOffsets();
  void MaybeReload(bool forced);
  // Waits (serving callbacks) until nothing is in flight for `partition` (-1: any), at most timeout.
  bool Drain(int64_t stream, int timeout_ms);
  int64_t StreamId(std::string_view topic, int32_t partition) const;
  void OnRevoke(const std::vector<RdKafka::TopicPartition*>& partitions);
  void OnStatistics(const std::string& json);
  // Durable state (stream/state_store.h): restore before subscribing, checkpoint every interval
  // and at a clean stop.
  absl::Status EnsureStateTopic();  // retried while the broker is not ready, until stopped
  absl::Status RestoreState();
  // After a fatal "fenced by another consumer with the same group.instance.id": replaces the
  // consumer and joins again (see Run). False when it must not (too often: a duplicate id).
  bool Rejoin(const std::string& reason);
  void Checkpoint();
  // Waits for the checkpoint's records, then counts and logs it ("state: checkpoint N<what>").
  void FinishCheckpoint(const absl::Status& written, std::chrono::steady_clock::time_point started,
                        const std::string& what);
  // On assignment of a partition the restored snapshot does not cover: re-read it from
  // rebuild_window ago up to its committed offset with output suppressed.
  void RebuildByTime(RdKafka::KafkaConsumer* consumer, RdKafka::TopicPartition* tp);
  void PublishMetrics();

  // ---- Scale-out (config.scale_out; kafka_scale_out.cc) -------------------------------------
  // Every assigned partition is a shard: an input partition an account shard, a partition of
  // the address or ASN repartition topic a network shard (detect/shard_role.h).
  struct Shard {
    ShardRole role = ShardRole::kAccount;
    std::string topic;
    int32_t partition = 0;
    int32_t source = -1;                    // account shards: index among all input partitions
    std::unique_ptr<Pipeline> pipeline;     // account shards
    std::unique_ptr<NetworkShard> network;  // address and ASN shards
    int64_t suppress_below = -1;            // network shards: offsets processed before a restart
    int64_t last_message_ms = 0;            // steady clock; idle after scale_out.idle_after
    int64_t sent_watermark_ms = -1;
    bool sent_idle = false;
  };
  bool scale_out() const { return config_.scale_out.enabled(); }
  absl::Status PrepareScaleOut();
  std::string ShardOwner(const std::string& topic, int32_t partition) const;
  void AssignShards(RdKafka::KafkaConsumer* consumer, std::vector<RdKafka::TopicPartition*>& partitions);
  void RevokeShards(const std::vector<RdKafka::TopicPartition*>& partitions, bool lost);
  void ProcessNetwork(Shard& shard, int64_t stream, int64_t offset, std::string_view payload,
                      const SourcePosition& pos);
  void SendWatermarks();
  void CheckpointShards();
  // Waits (serving callbacks) until every record produced for the shards' messages is
  // acknowledged; a network shard's waiting events are not deliveries and are not waited for.
  bool DrainShards(int timeout_ms);
  v1::ShardState SnapshotOf(const Shard& shard, int64_t stream) const;
  EngineSample Sample() const;

  AppConfig config_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reload_{false};
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<RdKafka::Conf> consumer_conf_;  // to replace a fenced consumer
  std::vector<int64_t> rejoins_ms_;               // when Rejoin replaced it
  std::unique_ptr<RdKafka::Producer> producer_;
  std::unique_ptr<RdKafka::Topic> decisions_topic_;
  std::unique_ptr<RdKafka::Topic> dead_letter_topic_;
  std::unique_ptr<GeoEnricher> enricher_;
  std::unique_ptr<Output> output_;
  std::unique_ptr<Pipeline> pipeline_;  // without scale-out: the one pipeline of every partition
  std::shared_ptr<const RuleSet> rules_;
  // Stream ids index this: the input topics, then (scale-out) the address and ASN topics.
  std::vector<std::string> topics_;
  std::vector<int32_t> source_base_;  // per input topic: the source index of its partition 0
  int32_t sources_ = 0;               // input partitions over all input topics
  absl::flat_hash_map<int64_t, std::unique_ptr<Shard>> shards_;
  PipelineCounters retired_;          // counters of account shards revoked from this instance
  std::unique_ptr<RdKafka::Topic> address_topic_;
  std::unique_ptr<RdKafka::Topic> asn_topic_;
  int64_t last_watermark_ms_ = 0;
  OffsetTracker tracker_;
  std::unique_ptr<StateStore> state_store_;
  absl::flat_hash_map<int64_t, int64_t> next_offset_;   // stream -> one past the last processed
  absl::flat_hash_map<int64_t, int64_t> restore_from_;  // stream -> snapshot offset, until assigned
  absl::flat_hash_map<int64_t, int64_t> replay_until_;  // stream -> committed offset: output suppressed below
  int64_t last_checkpoint_ms_ = 0;
  uint64_t consumed_at_checkpoint_ = 0;
  KafkaServiceStats stats_;
  std::string fatal_error_;
  std::vector<std::pair<std::string, int64_t>> rule_file_mtimes_;
  int64_t last_reload_check_ms_ = 0;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<EngineMetrics> metrics_;
  std::unique_ptr<MetricsServer> metrics_server_;
  std::atomic<size_t> assigned_partitions_{0};
  bool ever_assigned_ = false;  // see ~KafkaService
  std::chrono::steady_clock::time_point consumed_at_;  // when the message being processed was consumed
  int64_t last_publish_ms_ = 0;
  uint64_t loop_ = 0;
};

}  // namespace authwatch
