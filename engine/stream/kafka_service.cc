#include "stream/kafka_service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "app/startup.h"
#include "core/strings.h"
#include "emit/decision_json.h"
#include "librdkafka/rdkafka.h"
#include "simdjson.h"
#include "detect/rule_windows.h"
#include "state/state_codec.h"
#include "stream/kafka_config.h"
#include "stream/kafka_service_output.h"
#include "stream/run_support.h"

namespace authwatch {
namespace {

using run::Crash;
using run::CrashArmed;
using run::Log;
using run::NowMs;
using run::WallMs;

// Rule files under the configured paths with their modification times: a change in the list
// or a time means the rules must be reloaded.
std::vector<std::pair<std::string, int64_t>> RuleFileSignature(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& p : paths) {
    std::error_code ec;
    std::vector<std::string> files;
    if (fs::is_directory(p, ec)) {
      for (const auto& e : fs::directory_iterator(p, ec)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(e.path().string());
      }
    } else {
      files.push_back(p);
    }
    for (const auto& f : files) {
      struct stat st;
      const int64_t m = stat(f.c_str(), &st) == 0
                            ? static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec
                            : -1;
      out.emplace_back(f, m);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

class KafkaService::Callbacks final : public RdKafka::EventCb,
                                      public RdKafka::DeliveryReportCb,
                                      public RdKafka::RebalanceCb {
 public:
  explicit Callbacks(KafkaService* s) : s_(s) {}

  void event_cb(RdKafka::Event& e) override {
    switch (e.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (e.fatal()) {
          s_->fatal_error_ = Cat("fatal Kafka error: ", RdKafka::err2str(e.err()), ": ", e.str());
          s_->Stop();
        }
        ++s_->stats_.broker_errors;
        RateLimited(Cat("Kafka: ", RdKafka::err2str(e.err()), ": ", e.str(),
                        e.err() == RdKafka::ERR__ALL_BROKERS_DOWN || e.err() == RdKafka::ERR__TRANSPORT
                            ? " (retrying)"
                            : ""));
        break;
      case RdKafka::Event::EVENT_STATS:
        s_->OnStatistics(e.str());
        break;
      case RdKafka::Event::EVENT_LOG:
        if (e.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) RateLimited(Cat("Kafka: ", e.fac(), ": ", e.str()));
        break;
      default:
        break;
    }
  }

  void dr_cb(RdKafka::Message& m) override {
    if (s_->state_store_ && s_->state_store_->Owns(m)) {
      s_->state_store_->OnDelivery(m);
      return;
    }
    auto* tag = static_cast<DeliveryTag*>(m.msg_opaque());
    if (tag == nullptr) return;
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      ++s_->stats_.delivery_failures;
      if (s_->fatal_error_.empty()) {
        s_->fatal_error_ = Cat("delivery to ", m.topic_name(), " failed: ", m.errstr());
      }
      s_->Stop();  // its input offset stays uncommitted: re-read after restart
    } else {
      s_->tracker_.Ack(tag->stream, tag->offset);
    }
    delete tag;
  }

  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    ++s_->stats_.rebalances;
    const bool cooperative = consumer->rebalance_protocol() == "COOPERATIVE";
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      Log(Cat("assigned ", partitions.size(), " partition(s)"));
      s_->assigned_partitions_ += partitions.size();
      s_->ever_assigned_ = true;
      if (s_->scale_out()) s_->AssignShards(consumer, partitions);
      for (RdKafka::TopicPartition* tp : partitions) {
        if (s_->scale_out()) break;
        // A restored snapshot reflects input up to its offset: read on from there.
        auto it = s_->restore_from_.find(s_->StreamId(tp->topic(), tp->partition()));
        if (it == s_->restore_from_.end()) {
          if (s_->state_store_) s_->RebuildByTime(consumer, tp);
          continue;
        }
        tp->set_offset(it->second);
        s_->restore_from_.erase(it);
      }
      if (cooperative) {
        if (RdKafka::Error* e = consumer->incremental_assign(partitions)) {
          Log(Cat("incremental assign failed: ", e->str()));
          delete e;
        }
      } else {
        consumer->assign(partitions);
      }
      return;
    }
    // Lost: our session expired (we were stopped or cut off); the partitions are others' already.
    const bool lost = err != RdKafka::ERR__REVOKE_PARTITIONS || consumer->assignment_lost();
    Log(Cat("revoked ", partitions.size(), " partition(s)", lost ? " (lost)" : ""));
    if (s_->scale_out()) {
      s_->RevokeShards(partitions, lost);
    } else {
      s_->OnRevoke(partitions);
    }
    s_->assigned_partitions_ -= std::min(s_->assigned_partitions_.load(), partitions.size());
    if (cooperative) {
      if (RdKafka::Error* e = consumer->incremental_unassign(partitions)) {
        Log(Cat("incremental unassign failed: ", e->str()));
        delete e;
      }
    } else {
      consumer->unassign();
    }
  }

 private:
  // At most one line per message text every 10 s: a broker that is down for an hour must not
  // write a gigabyte of logs.
  void RateLimited(const std::string& line) {
    const int64_t now = NowMs();
    auto& last = last_logged_[line];
    if (now - last >= 10000) {
      last = now;
      Log(line);
    }
  }

  KafkaService* s_;
  absl::flat_hash_map<std::string, int64_t> last_logged_;
};

KafkaService::KafkaService(const AppConfig& config) : config_(config) {}

KafkaService::~KafkaService() {
  // Destroy in dependency order: the consumer (closed in Run), then the producer.
  // librdkafka 2.0.2 aborts destroying a cooperative-sticky consumer that never received an
  // assignment (an assert on the assignor's state, librdkafka#4312, fixed in 2.3.0): stopped
  // during start-up, the consumer is left to the process's exit instead.
  if (!ever_assigned_ && consumer_ && consumer_->rebalance_protocol() != "EAGER") (void)consumer_.release();
  consumer_.reset();
  state_store_.reset();
  decisions_topic_.reset();
  dead_letter_topic_.reset();
  producer_.reset();
}

absl::StatusOr<std::unique_ptr<KafkaService>> KafkaService::Create(const AppConfig& config) {
  if (config.kafka.input_topics.empty()) {
    return absl::InvalidArgumentError(Cat(config.path, ": kafka.input_topics names no topic"));
  }
  std::unique_ptr<KafkaService> s(new KafkaService(config));
  auto databases = StepOpenGeoDatabases(config);
  if (!databases.ok()) return databases.status();
  auto rules = StepLoadRules(config);
  if (!rules.ok()) return rules.status();
  s->rule_file_mtimes_ = RuleFileSignature(config.rule_paths);
  s->rules_ = *rules;
  s->topics_ = config.kafka.input_topics;
  s->enricher_ = std::make_unique<GeoEnricher>(*databases, config.geoip);
  s->callbacks_ = std::make_unique<Callbacks>(s.get());
  s->output_ = std::make_unique<Output>(s.get());

  std::string err;
  auto pconf = MakeKafkaConf(config.kafka.properties, KafkaRole::kProducer, config.kafka.group_id);
  if (!pconf.ok()) return pconf.status();
  (*pconf)->set("event_cb", static_cast<RdKafka::EventCb*>(s->callbacks_.get()), err);
  (*pconf)->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(s->callbacks_.get()), err);
  s->producer_.reset(RdKafka::Producer::create(pconf->get(), err));
  if (!s->producer_) return absl::InvalidArgumentError(Cat("Kafka producer: ", err));
  s->decisions_topic_.reset(RdKafka::Topic::create(s->producer_.get(), config.kafka.decisions_topic, nullptr, err));
  if (!s->decisions_topic_) return absl::InvalidArgumentError(Cat("decisions topic: ", err));
  s->dead_letter_topic_.reset(RdKafka::Topic::create(s->producer_.get(), config.kafka.dead_letter_topic, nullptr, err));
  if (!s->dead_letter_topic_) return absl::InvalidArgumentError(Cat("dead-letter topic: ", err));

  std::map<std::string, std::string> consumer_properties = config.kafka.properties;
  if (!consumer_properties.contains("group.instance.id")) {
    std::string id;
    if (config.kafka.instance_id.has_value()) {
      id = *config.kafka.instance_id;
    } else {
      char host[256] = {};
      if (gethostname(host, sizeof host - 1) == 0) id = host;
    }
    if (!id.empty()) consumer_properties["group.instance.id"] = id;
  }
  if (config.state.enabled()) {
    // Each instance checkpoints its own state: two instances of a group never write the same keys.
    const auto instance = consumer_properties.find("group.instance.id");
    const std::string owner = instance == consumer_properties.end()
                                  ? config.kafka.group_id
                                  : Cat(config.kafka.group_id, "/", instance->second);
    s->state_store_ = std::make_unique<StateStore>(config.state, owner, s->producer_.get());
    // Scale-out: a shard's snapshot is written by whichever instance holds it.
    if (config.scale_out.enabled() && instance != consumer_properties.end()) s->state_store_->set_writer(instance->second);
  }
  auto cconf = MakeKafkaConf(consumer_properties, KafkaRole::kConsumer, config.kafka.group_id);
  if (!cconf.ok()) return cconf.status();
  (*cconf)->set("event_cb", static_cast<RdKafka::EventCb*>(s->callbacks_.get()), err);
  (*cconf)->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(s->callbacks_.get()), err);
  s->consumer_.reset(RdKafka::KafkaConsumer::create(cconf->get(), err));
  if (!s->consumer_) return absl::InvalidArgumentError(Cat("Kafka consumer: ", err));
  s->consumer_conf_ = *std::move(cconf);

  s->registry_ = std::make_shared<prometheus::Registry>();
  s->metrics_ = std::make_unique<EngineMetrics>(s->registry_, AUTHWATCH_VERSION_STRING);
  s->metrics_->OnRules(**rules);
  KafkaService* raw = s.get();
  auto server = MetricsServer::Start(config.metrics.listen, s->registry_, [raw]() -> std::string {
    return raw->assigned_partitions_.load() > 0 ? "" : "no input partition assigned yet";
  });
  if (!server.ok()) return server.status();
  s->metrics_server_ = *std::move(server);
  auto decoder = MakeDecoder(config, config.input.format);
  if (!decoder.ok()) return decoder.status();
  s->pipeline_ = std::make_unique<Pipeline>(*std::move(decoder), s->enricher_.get(), *rules,
                                            config.input.late_allowance_ms, EmitMode::kDecisions,
                                            s->output_.get(), s->output_.get());
  s->pipeline_->set_window_memory_budget(config.limits.window_memory_bytes);
  if (config.scale_out.enabled()) {
    if (absl::Status st = s->PrepareScaleOut(); !st.ok()) return st;
  }
  Log(Cat("kafka: ", RedactedProperties(config.kafka.properties)));
  Log(Cat("metrics on http://", config.metrics.listen.substr(0, config.metrics.listen.rfind(':')), ":",
          s->metrics_server_->port(), "/metrics (/healthz, /readyz)"));
  return s;
}

int64_t KafkaService::StreamId(std::string_view topic, int32_t partition) const {
  const int64_t index = std::find(topics_.begin(), topics_.end(), topic) - topics_.begin();
  return (index << 32) | static_cast<uint32_t>(partition);
}

void KafkaService::Process(RdKafka::Message& m) {
  ++stats_.consumed;
  // The C API's name: no std::string allocated per message.
  const std::string_view topic = rd_kafka_topic_name(static_cast<rd_kafka_message_t*>(m.c_ptr())->rkt);
  const int64_t stream = StreamId(topic, m.partition());
  const int64_t offset = m.offset();
  consumed_at_ = std::chrono::steady_clock::now();
  SourcePosition pos;
  pos.name = topic;
  pos.partition = m.partition();
  pos.offset = offset;
  const std::string_view payload(static_cast<const char*>(m.payload()), m.len());
  Pipeline* pipeline = pipeline_.get();
  if (scale_out()) {
    // A member whose session expired (stopped longer than the session timeout) is fenced: its
    // partitions belong to others now, and it must write nothing until it rejoins.
    if (consumer_->assignment_lost()) return;
    auto it = shards_.find(stream);
    if (it == shards_.end()) return;  // revoked meanwhile: not ours to process or commit
    Shard& shard = *it->second;
    shard.last_message_ms = NowMs();
    if (shard.network) {
      if (state_store_) next_offset_[stream] = offset + 1;
      ProcessNetwork(shard, stream, offset, payload, pos);
      return;
    }
    pipeline = shard.pipeline.get();
    output_->set_source(shard.source);
  }
  if (state_store_) next_offset_[stream] = offset + 1;
  if (!replay_until_.empty()) {
    auto it = replay_until_.find(stream);
    if (it != replay_until_.end()) {
      const int64_t committed = it->second;
      if (offset + 1 >= committed) replay_until_.erase(it);
      if (offset < committed) {
        // Before the committed offset: processed before the restart, output and all. Only the
        // state is rebuilt; the offset is not stored (it is committed already).
        ++stats_.replayed;
        if (stats_.replayed >= 100 && CrashArmed("mid-restore")) Crash("mid-restore");
        output_->set_suppressed(true);
        pipeline->Process(payload, pos);
        output_->set_suppressed(false);
        if (replay_until_.empty()) Log(Cat("restore complete: ", stats_.replayed, " events re-read without output"));
        return;
      }
    }
  }
  tracker_.Begin(stream, offset);
  output_->SetCurrent(stream, offset);
  const uint64_t decisions_before = stats_.produced_decisions;
  pipeline->Process(payload, pos);
  tracker_.Finish(stream, offset);
  if (stats_.produced_decisions > decisions_before && stats_.produced_decisions >= 20 &&
      CrashArmed("after-decision")) {
    producer_->flush(5000);  // the decision is on the broker; its offset is not stored
    Crash("after-decision");
  }
}

void KafkaService::StoreOffsets() {
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const auto& [stream, offset] : tracker_.TakeCommittable()) {
    const auto& topic = topics_[static_cast<size_t>(stream >> 32)];
    offsets.push_back(RdKafka::TopicPartition::create(topic, static_cast<int32_t>(stream & 0xffffffff), offset));
  }
  if (offsets.empty()) return;
  consumer_->offsets_store(offsets);  // partitions not assigned any more are refused: harmless
  RdKafka::TopicPartition::destroy(offsets);
}

bool KafkaService::Drain(int64_t partition, int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  while (tracker_.Incomplete(partition) > 0 && NowMs() < deadline) producer_->poll(10);
  return tracker_.Incomplete(partition) == 0;
}

void KafkaService::OnRevoke(const std::vector<RdKafka::TopicPartition*>& partitions) {
  for (const auto* tp : partitions) {
    if (!Drain(StreamId(tp->topic(), tp->partition()), 10000)) {
      Log(Cat(tp->topic(), "/", tp->partition(), ": deliveries still pending at revoke; its offset is not advanced"));
    }
  }
  StoreOffsets();  // committed by librdkafka as the partitions are unassigned
  for (const auto* tp : partitions) {
    tracker_.Forget(StreamId(tp->topic(), tp->partition()));
    metrics_->DropConsumerLag(tp->topic(), tp->partition());
  }
}

void KafkaService::MaybeReload(bool forced) {
  const int64_t now = NowMs();
  if (!forced && now - last_reload_check_ms_ < config_.geoip_reload_check_ms) return;
  last_reload_check_ms_ = now;
  auto signature = RuleFileSignature(config_.rule_paths);
  if (forced || signature != rule_file_mtimes_) {
    rule_file_mtimes_ = signature;
    auto rules = StepLoadRules(config_);
    metrics_->OnReload("rules", rules.ok());
    if (rules.ok()) {
      rules_ = *rules;
      pipeline_->SetRules(*rules);
      for (auto& [stream, shard] : shards_) {
        if (shard->pipeline) shard->pipeline->SetRules(RulesForRole(*rules, ShardRole::kAccount));
        if (shard->network) shard->network->SetRules(*rules);
      }
      metrics_->OnRules(**rules);
      Log(Cat("rules reloaded: version ", (*rules)->version, ", ", (*rules)->rules.size(), " rules"));
    } else {
      Log(Cat("rules NOT reloaded, keeping the previous rules: ", FromAbsl(rules.status().message())));
    }
  }
  if (forced || enricher_->databases()->ChangedOnDisk()) {
    auto databases = StepOpenGeoDatabases(config_);
    metrics_->OnReload("geoip", databases.ok());
    if (databases.ok()) {
      enricher_->SetDatabases(*databases);
      Log("GeoIP databases reloaded");
    } else {
      Log(Cat("GeoIP databases NOT reloaded, keeping the open ones: ", FromAbsl(databases.status().message())));
    }
  }
}

void KafkaService::PublishMetrics() {
  StreamStats stream;
  stream.delivery_failures = stats_.delivery_failures;
  stream.kafka_errors = stats_.broker_errors;
  stream.rebalances = stats_.rebalances;
  stream.assigned_partitions = assigned_partitions_.load();
  stream.checkpoints = stats_.checkpoints;
  stream.checkpoint_failures = stats_.checkpoint_failures;
  stream.replayed = stats_.replayed;
  metrics_->Publish(scale_out() ? Sample() : SampleOf(*pipeline_), stream, WallMs());
}

void KafkaService::OnStatistics(const std::string& json) {
  // librdkafka's statistics: topics.<name>.partitions.<id>.consumer_lag (-1 when unknown).
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json).get(root)) return;
  simdjson::dom::object topics;
  if (root["topics"].get(topics)) return;
  for (auto [topic, value] : topics) {
    simdjson::dom::object partitions;
    if (value["partitions"].get(partitions)) continue;
    for (auto [id, p] : partitions) {
      int64_t lag = -1, partition = -1;
      if (p["partition"].get(partition) || partition < 0) continue;  // -1: the internal UA partition
      if (p["consumer_lag"].get(lag) || lag < 0) continue;           // -1: not consumed here
      metrics_->SetConsumerLag(std::string(topic), static_cast<int32_t>(partition), lag);
    }
  }
}

absl::Status KafkaService::EnsureStateTopic() {
  // The broker may still be starting: retry what is transient until stopped.
  for (int attempt = 0;; ++attempt) {
    absl::Status s = state_store_->EnsureTopic(10000);
    if (s.ok()) break;
    if (absl::IsInvalidArgument(s) || stop_.load()) return s;
    Log(Cat("state topic not ready (", FromAbsl(s.message()), "); retrying"));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5000, 500 << std::min(attempt, 4))));
  }
  return absl::OkStatus();
}

absl::Status KafkaService::RestoreState() {
  if (absl::Status s = EnsureStateTopic(); !s.ok()) return s;
  auto loaded = state_store_->Load(config_.kafka.properties, 120000);
  if (absl::IsNotFound(loaded.status())) {
    Log(Cat("state: no snapshot of group ", config_.kafka.group_id, " in ", state_store_->topic(), "; starting empty"));
    return absl::OkStatus();
  }
  if (!loaded.ok()) {
    // A damaged snapshot must not keep the service down: start empty, and say so loudly.
    Log(Cat("state: the latest snapshot cannot be used, starting EMPTY: ", FromAbsl(loaded.status().message())));
    ++stats_.checkpoint_failures;
    return absl::OkStatus();
  }
  if (absl::Status s = StateCodec::Restore(*loaded, pipeline_->mutable_detection(), pipeline_->mutable_policy());
      !s.ok()) {
    Log(Cat("state: the snapshot does not restore, starting EMPTY: ", FromAbsl(s.message())));
    ++stats_.checkpoint_failures;
    return absl::OkStatus();
  }
  std::vector<RdKafka::TopicPartition*> committed;
  for (const v1::InputPosition& in : loaded->inputs()) {
    const auto& topics = config_.kafka.input_topics;
    if (std::find(topics.begin(), topics.end(), in.topic()) == topics.end()) continue;  // no longer an input
    const int64_t stream = StreamId(in.topic(), in.partition());
    restore_from_[stream] = in.next_offset();
    next_offset_[stream] = in.next_offset();
    if (in.max_event_ms() > 0) pipeline_->SetWatermark(in.partition(), in.max_event_ms());
    committed.push_back(RdKafka::TopicPartition::create(in.topic(), in.partition()));
  }
  // Events between the snapshot and the group's committed offsets were processed before the
  // restart, decisions and all: they are re-read to rebuild the state, with output suppressed.
  if (!committed.empty()) {
    if (RdKafka::ErrorCode err = consumer_->committed(committed, 30000); err != RdKafka::ERR_NO_ERROR) {
      Log(Cat("state: committed offsets unknown (", RdKafka::err2str(err),
              "); events after the snapshot are processed with output (at least once)"));
    } else {
      for (const RdKafka::TopicPartition* tp : committed) {
        const int64_t stream = StreamId(tp->topic(), tp->partition());
        if (tp->offset() >= 0 && tp->offset() > restore_from_[stream]) replay_until_[stream] = tp->offset();
      }
    }
  }
  RdKafka::TopicPartition::destroy(committed);
  const auto& d = pipeline_->detection();
  Log(Cat("state: restored snapshot of ", loaded->inputs_size(), " partition(s) at offset sum ", loaded->input_offset(),
          ": ", d.profiles().size(), " account profiles, ", d.windows().MemoryBytes() / 1024, " KiB of windows, ",
          pipeline_->policy().active(), " active decisions"));
  consumed_at_checkpoint_ = stats_.consumed;
  return absl::OkStatus();
}

void KafkaService::RebuildByTime(RdKafka::KafkaConsumer* consumer, RdKafka::TopicPartition* tp) {
  int64_t window = config_.state.rebuild_window_ms;
  if (window < 0) {
    window = 0;
    for (const auto& r : pipeline_->detection().rules()->rules) window = std::max(window, r.window_ms);
  }
  if (window == 0) return;
  std::vector<RdKafka::TopicPartition*> one = {RdKafka::TopicPartition::create(tp->topic(), tp->partition())};
  int64_t committed = -1;
  if (consumer->committed(one, 10000) == RdKafka::ERR_NO_ERROR) committed = one[0]->offset();
  int64_t from = -1;
  if (committed > 0) {
    one[0]->set_offset(WallMs() - window);  // a timestamp in, the first offset at or after it out
    if (consumer->offsetsForTimes(one, 10000) == RdKafka::ERR_NO_ERROR) from = one[0]->offset();
  }
  RdKafka::TopicPartition::destroy(one);
  // No commit: nothing was processed before, the group reads from auto.offset.reset anyway.
  if (committed <= 0 || from < 0 || from >= committed) return;
  tp->set_offset(from);
  replay_until_[StreamId(tp->topic(), tp->partition())] = committed;
  Log(Cat("state: ", tp->topic(), "/", tp->partition(), " has no snapshot here; rebuilding it from offset ", from,
          " (", FormatDuration(window), " ago) to the committed ", committed, " without output"));
}

void KafkaService::Checkpoint() {
  if (!state_store_ || stats_.consumed == consumed_at_checkpoint_) return;
  // Only a state whose every decision is acknowledged may be written: a restart reads on from
  // the snapshot's offsets and would not repeat a decision lost in flight.
  if (!Drain(-1, 10000)) {
    Log("state: checkpoint postponed, deliveries still pending");
    return;
  }
  StoreOffsets();
  const auto started = std::chrono::steady_clock::now();
  v1::ShardState state = StateCodec::Snapshot(pipeline_->detection(), pipeline_->policy(), 0);
  std::vector<std::pair<int64_t, int64_t>> positions(next_offset_.begin(), next_offset_.end());
  std::sort(positions.begin(), positions.end());  // canonical: equal states give equal snapshots
  int64_t sum = 0;
  for (const auto& [stream, next] : positions) {
    v1::InputPosition* in = state.add_inputs();
    in->set_topic(topics_[static_cast<size_t>(stream >> 32)]);
    in->set_partition(static_cast<int32_t>(stream & 0xffffffff));
    in->set_next_offset(next);
    auto w = pipeline_->watermarks().find(in->partition());
    if (w != pipeline_->watermarks().end()) in->set_max_event_ms(w->second);
    sum += next;
  }
  state.set_input_offset(sum);
  absl::Status s = state_store_->Write(state, [this] {
    if (!CrashArmed("mid-checkpoint") || stats_.checkpoints == 0) return;  // keep one snapshot to restore
    producer_->flush(5000);
    Crash("mid-checkpoint");  // every chunk on the broker, the manifest not
  });
  FinishCheckpoint(s, started, Cat(" at offset sum ", sum, " (", state.ByteSizeLong(), " bytes, ",
                                   pipeline_->detection().profiles().size(), " account profiles)"));
}

void KafkaService::FinishCheckpoint(const absl::Status& written, std::chrono::steady_clock::time_point started,
                                    const std::string& what) {
  const int64_t deadline = NowMs() + 30000;
  while (written.ok() && state_store_->pending() > 0 && NowMs() < deadline) producer_->poll(10);
  const uint64_t failed = state_store_->TakeFailures();
  if (!written.ok() || failed > 0 || state_store_->pending() > 0) {
    ++stats_.checkpoint_failures;
    Log(Cat("state: checkpoint failed, the previous one stands: ",
            !written.ok() ? FromAbsl(written.message())
                          : failed > 0 ? state_store_->last_error() : "not acknowledged in 30 s"));
  } else {
    ++stats_.checkpoints;
    Log(Cat("state: checkpoint ", stats_.checkpoints, what));
  }
  consumed_at_checkpoint_ = stats_.consumed;
  last_checkpoint_ms_ = NowMs();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (ms > 1000) Log(Cat("state: checkpoint took ", static_cast<int64_t>(ms), " ms"));
}

bool KafkaService::Rejoin(const std::string& reason) {
  // librdkafka 2.0.2 rejoins with a new member id after a session timeout (the broker was down
  // longer than session.timeout.ms) while its old one is still registered under the same
  // group.instance.id; the broker then fences the consumer by itself, and librdkafka makes that
  // fatal (librdkafka#3437). A new consumer joins cleanly. The fenced one's partitions were
  // revoked as lost: nothing of ours was committed or checkpointed over the new owner's work.
  // Fenced again and again means two running instances share the id: that stays fatal.
  const int64_t now = NowMs();
  std::erase_if(rejoins_ms_, [now](int64_t t) { return now - t > 600000; });
  if (rejoins_ms_.size() >= 3) {
    Log(Cat("fenced 3 times in 10 minutes: does another running instance use group.instance.id ",
            config_.kafka.instance_id.value_or("(host name)"), "?"));
    return false;
  }
  rejoins_ms_.push_back(now);
  Log(Cat("fenced (", reason, "); replacing the consumer and joining again"));
  consumer_->close();
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> fresh(RdKafka::KafkaConsumer::create(consumer_conf_.get(), err));
  if (!fresh) {
    Log(Cat("cannot create a new consumer: ", err));
    return false;
  }
  consumer_ = std::move(fresh);
  ever_assigned_ = false;
  // One engine for every partition: its state may be ahead of the committed offsets; back to
  // the latest snapshot, re-read from there (output suppressed up to the committed offsets).
  if (state_store_ && !scale_out()) {
    if (absl::Status s = RestoreState(); !s.ok()) {
      Log(Cat("state: ", FromAbsl(s.message())));
      return false;
    }
  }
  if (RdKafka::ErrorCode e = consumer_->subscribe(topics_); e != RdKafka::ERR_NO_ERROR) {
    Log(Cat("subscribe: ", RdKafka::err2str(e)));
    return false;
  }
  return true;
}

absl::Status KafkaService::Run() {
  if (state_store_ && scale_out()) {
    // Each shard restores its own snapshot when it is assigned (AssignShards).
    if (absl::Status s = EnsureStateTopic(); !s.ok()) return s;
    last_checkpoint_ms_ = NowMs();
  } else if (state_store_) {
    if (absl::Status s = RestoreState(); !s.ok()) return s;
    last_checkpoint_ms_ = NowMs();
  }
  if (RdKafka::ErrorCode err = consumer_->subscribe(topics_); err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(Cat("subscribe: ", RdKafka::err2str(err)));
  }
  Log(Cat("consuming ", config_.kafka.input_topics.front(), config_.kafka.input_topics.size() > 1 ? " and more" : "",
          " as group ", config_.kafka.group_id, "; decisions to ", config_.kafka.decisions_topic,
          ", dead letters to ", config_.kafka.dead_letter_topic));
  int64_t last_store = NowMs();
  while (!stop_.load()) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
    switch (m->err()) {
      case RdKafka::ERR_NO_ERROR:
        Process(*m);
        break;
      case RdKafka::ERR__TIMED_OUT:
      case RdKafka::ERR__PARTITION_EOF:
        break;
      default:
        ++stats_.broker_errors;
        if (m->err() == RdKafka::ERR__FATAL) {
          std::string reason;
          const RdKafka::ErrorCode cause = consumer_->fatal_error(reason);
          if (cause == RdKafka::ERR_FENCED_INSTANCE_ID && !stop_.load() && Rejoin(reason)) break;
          fatal_error_ = Cat("fatal consumer error: ", m->errstr());
          stop_.store(true);
        }
        break;
    }
    // Delivery reports are served every 64 messages or when idle: poll() takes the producer's
    // queue lock, and once per message was a measurable share of the loop.
    if ((++loop_ & 63) == 0 || m->err() != RdKafka::ERR_NO_ERROR) producer_->poll(0);
    const int64_t now = NowMs();
    if (now - last_store >= 100) {
      StoreOffsets();
      last_store = now;
    }
    MaybeReload(reload_.exchange(false));
    if (now - last_publish_ms_ >= 1000) {
      PublishMetrics();
      last_publish_ms_ = now;
    }
    if (scale_out() && now - last_watermark_ms_ >= config_.scale_out.watermark_interval_ms) {
      SendWatermarks();
      last_watermark_ms_ = now;
    }
    if (state_store_ && now - last_checkpoint_ms_ >= config_.state.checkpoint_interval_ms) {
      scale_out() ? CheckpointShards() : Checkpoint();
    }
  }
  // Graceful shutdown: finish in-flight deliveries, store and commit, leave the group.
  Log("stopping: flushing decisions and committing offsets");
  if (fatal_error_.empty() && !(scale_out() ? DrainShards(15000) : Drain(-1, 15000))) Log("some deliveries were not acknowledged in 15 s; their offsets stay uncommitted");
  producer_->flush(5000);
  StoreOffsets();
  if (fatal_error_.empty()) {
    if (RdKafka::ErrorCode err = consumer_->commitSync(); err != RdKafka::ERR_NO_ERROR && err != RdKafka::ERR__NO_OFFSET) {
      Log(Cat("final commit: ", RdKafka::err2str(err)));
    }
    scale_out() ? CheckpointShards() : Checkpoint();  // a clean restart then re-reads nothing
  }
  consumer_->close();
  producer_->flush(5000);
  PublishMetrics();
  const PipelineCounters c = scale_out() ? Sample().counters : pipeline_->counters();
  Log(Cat("stopped: ", stats_.consumed, " consumed, ", c.rejected_total(), " rejected, ",
          stats_.produced_decisions, " decisions, ", stats_.produced_dead_letters, " dead letters",
          state_store_ ? Cat(", ", stats_.checkpoints, " checkpoints (", stats_.checkpoint_failures, " failed), ",
                             stats_.replayed, " events re-read after restore")
                       : std::string()));
  if (!fatal_error_.empty()) return absl::InternalError(fatal_error_);
  return absl::OkStatus();
}

}  // namespace authwatch
