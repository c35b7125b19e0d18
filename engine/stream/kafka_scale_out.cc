// KafkaService's scale-out mode (config.scale_out; README "Scale-out"): one shard per assigned
// partition. Input partitions are account shards that forward every event to the network
// shards of the two repartition topics (detect/shard_role.h, stream/network_shard.h); each
// shard has its own snapshot, restored when the partition is assigned, written at every
// checkpoint and when the partition is revoked, so partitions move between instances with
// their state.
#include <chrono>
#include <thread>

#include "app/startup.h"
#include "core/strings.h"
#include "detect/rule_windows.h"
#include "state/state_codec.h"
#include "stream/kafka_service.h"
#include "stream/kafka_service_output.h"
#include "stream/run_support.h"
#include "stream/topic_admin.h"

namespace authwatch {
namespace {

using run::Crash;
using run::CrashArmed;
using run::Log;
using run::NowMs;

// The broker may still be starting: retries what is transient for a minute.
template <typename F>
auto Retrying(const std::string& what, F f) -> decltype(f()) {
  for (int attempt = 0;; ++attempt) {
    auto r = f();
    if (r.ok() || attempt >= 12 || absl::IsInvalidArgument(r.status())) return r;
    Log(Cat(what, " not ready (", FromAbsl(r.status().message()), "); retrying"));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5000, 500 << std::min(attempt, 4))));
  }
}

}  // namespace

absl::Status KafkaService::PrepareScaleOut() {
  const ScaleOutOptions& so = config_.scale_out;
  for (const std::string& topic : {so.address_topic, so.asn_topic}) {
    auto created = Retrying(Cat("repartition topic ", topic), [&]() -> absl::StatusOr<int> {
      if (absl::Status s = EnsureTopic(producer_.get(), "repartition topic", topic, so.partitions,
                                       so.replication_factor, {}, 10000);
          !s.ok()) {
        return s;
      }
      return PartitionCount(producer_.get(), topic, 10000);
    });
    if (!created.ok()) return created.status();
    // Network shards are found by route key modulo this: every instance must agree.
    if (*created != so.partitions) {
      return absl::FailedPreconditionError(Cat("repartition topic ", topic, " has ", *created,
                                               " partitions, scale_out.partitions says ", so.partitions));
    }
  }
  sources_ = 0;
  for (const std::string& topic : config_.kafka.input_topics) {
    auto count = Retrying(Cat("input topic ", topic), [&] { return PartitionCount(producer_.get(), topic, 10000); });
    if (!count.ok()) return count.status();
    source_base_.push_back(sources_);
    sources_ += *count;
  }
  topics_.push_back(so.address_topic);
  topics_.push_back(so.asn_topic);
  std::string err;
  address_topic_.reset(RdKafka::Topic::create(producer_.get(), so.address_topic, nullptr, err));
  asn_topic_.reset(RdKafka::Topic::create(producer_.get(), so.asn_topic, nullptr, err));
  if (!address_topic_ || !asn_topic_) return absl::InvalidArgumentError(Cat("repartition topics: ", err));
  Log(Cat("scale-out: ", sources_, " input partition(s); address shards on ", so.address_topic, ", ASN shards on ",
          so.asn_topic, " (", so.partitions, " partitions each)"));
  return absl::OkStatus();
}

std::string KafkaService::ShardOwner(const std::string& topic, int32_t partition) const {
  return Cat(config_.kafka.group_id, "/shard/", topic, "/", partition);
}

void KafkaService::AssignShards(RdKafka::KafkaConsumer* consumer, std::vector<RdKafka::TopicPartition*>& partitions) {
  const size_t inputs = config_.kafka.input_topics.size();
  std::vector<std::string> owners;
  for (RdKafka::TopicPartition* tp : partitions) {
    const int64_t stream = StreamId(tp->topic(), tp->partition());
    const size_t index = static_cast<size_t>(stream >> 32);
    auto shard = std::make_unique<Shard>();
    shard->topic = tp->topic();
    shard->partition = tp->partition();
    if (index < inputs) {
      shard->role = ShardRole::kAccount;
      shard->source = source_base_[index] + tp->partition();
      auto decoder = MakeDecoder(config_, config_.input.format);  // validated at start-up
      shard->pipeline = std::make_unique<Pipeline>(*std::move(decoder), enricher_.get(),
                                                   RulesForRole(rules_, ShardRole::kAccount),
                                                   config_.input.late_allowance_ms, EmitMode::kDecisions,
                                                   output_.get(), output_.get());
      shard->pipeline->set_window_memory_budget(config_.limits.window_memory_bytes);
      shard->pipeline->set_forwarder(output_.get());
    } else {
      shard->role = index == inputs ? ShardRole::kAddress : ShardRole::kAsn;
      shard->network = std::make_unique<NetworkShard>(shard->role, rules_, sources_, enricher_.get());
    }
    owners.push_back(ShardOwner(tp->topic(), tp->partition()));
    shards_[stream] = std::move(shard);
    next_offset_.erase(stream);
    replay_until_.erase(stream);
  }
  if (state_store_) {
    // A shard's snapshot, then the events after it up to the committed offset re-read without
    // output; no snapshot: rebuilt by time. The consumer waits meanwhile (we are in its callback).
    auto loaded = state_store_->LoadOwners(config_.kafka.properties, owners, 120000);
    if (!loaded.ok()) Log(Cat("state: snapshots not readable (", FromAbsl(loaded.status().message()), "); rebuilding"));
    std::vector<RdKafka::TopicPartition*> restored;
    for (size_t i = 0; i < partitions.size(); ++i) {
      RdKafka::TopicPartition* tp = partitions[i];
      const int64_t stream = StreamId(tp->topic(), tp->partition());
      Shard& shard = *shards_[stream];
      bool ok = false;
      if (loaded.ok()) {
        const absl::StatusOr<v1::ShardState>& state = loaded->at(owners[i]);
        if (state.ok()) {
          const absl::Status r = shard.pipeline ? StateCodec::Restore(*state, shard.pipeline->mutable_detection(),
                                                                      shard.pipeline->mutable_policy())
                                                : shard.network->Restore(*state);
          for (const v1::InputPosition& in : state->inputs()) {
            if (!r.ok() || in.topic() != tp->topic() || in.partition() != tp->partition()) continue;
            ok = true;
            tp->set_offset(in.next_offset());
            next_offset_[stream] = in.next_offset();
            if (shard.pipeline && in.max_event_ms() > 0) shard.pipeline->SetWatermark(in.partition(), in.max_event_ms());
            restored.push_back(RdKafka::TopicPartition::create(tp->topic(), tp->partition()));
          }
          if (!r.ok()) {
            ++stats_.checkpoint_failures;
            Log(Cat("state: the snapshot of ", owners[i], " does not restore (", FromAbsl(r.message()), "); rebuilding"));
          }
        } else if (!absl::IsNotFound(state.status())) {
          ++stats_.checkpoint_failures;
          Log(Cat("state: the snapshot of ", owners[i], " cannot be used (", FromAbsl(state.status().message()),
                  "); rebuilding"));
        }
      }
      if (!ok) RebuildByTime(consumer, tp);
    }
    if (!restored.empty() && consumer->committed(restored, 30000) == RdKafka::ERR_NO_ERROR) {
      for (const RdKafka::TopicPartition* tp : restored) {
        const int64_t stream = StreamId(tp->topic(), tp->partition());
        if (tp->offset() > next_offset_[stream]) replay_until_[stream] = tp->offset();
      }
    }
    RdKafka::TopicPartition::destroy(restored);
  }
  for (RdKafka::TopicPartition* tp : partitions) {
    const int64_t stream = StreamId(tp->topic(), tp->partition());
    Shard& shard = *shards_[stream];
    shard.last_message_ms = NowMs();
    // A network shard processes out of partition order: it suppresses by offset as it releases.
    auto until = replay_until_.find(stream);
    if (shard.network && until != replay_until_.end()) {
      shard.suppress_below = until->second;
      replay_until_.erase(until);
    }
    Log(Cat(ShardRoleName(shard.role), " shard ", tp->topic(), "/", tp->partition(), " from offset ",
            tp->offset() >= 0 ? Cat(tp->offset()) : std::string("committed")));
  }
}

void KafkaService::RevokeShards(const std::vector<RdKafka::TopicPartition*>& partitions, bool lost) {
  // Lost (our session expired): another instance owns the shards already; nothing of ours may
  // be committed or checkpointed over its work.
  std::vector<int64_t> streams;
  for (const RdKafka::TopicPartition* tp : partitions) streams.push_back(StreamId(tp->topic(), tp->partition()));
  if (!lost) {
    for (int64_t stream : streams) {
      auto it = shards_.find(stream);
      if (it == shards_.end()) continue;
      const size_t waiting = it->second->network ? it->second->network->waiting() : 0;
      const int64_t deadline = NowMs() + 10000;
      while (tracker_.Incomplete(stream) > waiting && NowMs() < deadline) producer_->poll(10);
      if (state_store_ && next_offset_.contains(stream)) {
        if (absl::Status s = state_store_->Write(ShardOwner(it->second->topic, it->second->partition),
                                                 SnapshotOf(*it->second, stream));
            !s.ok()) {
          Log(Cat("state: checkpoint of revoked ", it->second->topic, "/", it->second->partition, " failed: ",
                  FromAbsl(s.message())));
        }
      }
    }
    const int64_t deadline = NowMs() + 10000;
    while (state_store_ && state_store_->pending() > 0 && NowMs() < deadline) producer_->poll(10);
    StoreOffsets();  // committed by librdkafka as the partitions are unassigned
  }
  for (int64_t stream : streams) {
    auto it = shards_.find(stream);
    if (it == shards_.end()) continue;
    if (it->second->pipeline) retired_ += it->second->pipeline->counters();
    metrics_->DropConsumerLag(it->second->topic, it->second->partition);
    shards_.erase(it);
    tracker_.Forget(stream);
    next_offset_.erase(stream);
    replay_until_.erase(stream);
  }
}

void KafkaService::ProcessNetwork(Shard& shard, int64_t stream, int64_t offset, std::string_view payload,
                                  const SourcePosition& pos) {
  tracker_.Begin(stream, offset);
  output_->SetCurrent(stream, offset);
  v1::RoutedRecord record;
  if (!record.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
      record.kind_case() == v1::RoutedRecord::KIND_NOT_SET) {
    // Written by authwatch itself: a foreign producer on the topic, or a newer version.
    Rejection rejection{RejectReason::kBadProtobuf, "not an authwatch.v1.RoutedRecord"};
    const std::string source = pos.Format();
    output_->Write(DeadLetter{&rejection, source, payload});
  } else if (record.has_watermark()) {
    shard.network->Watermark(record.watermark());
  } else if (shard.network->Add(record.event(), offset)) {
    tracker_.AddPending(stream, offset);  // held until the merge processes it
  }
  tracker_.Finish(stream, offset);
  shard.network->Release([&](int64_t processed, std::vector<Decision>& decisions) {
    output_->SetCurrent(stream, processed);
    const bool replayed = processed < shard.suppress_below;  // decided before a restart
    if (replayed) ++stats_.replayed;
    output_->set_suppressed(replayed);
    for (const Decision& d : decisions) output_->Decision(d);
    output_->set_suppressed(false);
    tracker_.Ack(stream, processed);  // no longer held
  });
}

void KafkaService::SendWatermarks() {
  const ScaleOutOptions& so = config_.scale_out;
  const int64_t now = NowMs();
  std::string value;
  for (auto& [stream, shard] : shards_) {
    if (!shard->pipeline) continue;
    const auto& marks = shard->pipeline->watermarks();
    const auto w = marks.find(shard->partition);
    const int64_t max = w == marks.end() ? 0 : w->second;
    // Idle: nothing new for idle_after and read to the partition's end. A stopped or restoring
    // instance never says so: its partitions' events will come, and must come in order.
    bool idle = false;
    if (now - shard->last_message_ms >= so.idle_after_ms) {
      std::vector<RdKafka::TopicPartition*> at = {RdKafka::TopicPartition::create(shard->topic, shard->partition)};
      int64_t low = -1, high = -1;
      if (consumer_->position(at) == RdKafka::ERR_NO_ERROR &&
          consumer_->get_watermark_offsets(shard->topic, shard->partition, &low, &high) == RdKafka::ERR_NO_ERROR &&
          high >= 0) {
        idle = at[0]->offset() >= 0 ? at[0]->offset() >= high : low == high;
      }
      RdKafka::TopicPartition::destroy(at);
    }
    // On change, and every 2 s regardless (a lost watermark is superseded).
    if (max == shard->sent_watermark_ms && idle == shard->sent_idle && now - shard->last_message_ms < 2000) continue;
    v1::RoutedRecord record;
    v1::SourceWatermark* m = record.mutable_watermark();
    m->set_source(shard->source);
    m->set_max_event_ms(max);
    m->set_idle(idle);
    record.SerializeToString(&value);
    for (int32_t p = 0; p < so.partitions; ++p) {
      output_->Watermark(address_topic_.get(), p, value);
      output_->Watermark(asn_topic_.get(), p, value);
    }
    shard->sent_watermark_ms = max;
    shard->sent_idle = idle;
  }
}

v1::ShardState KafkaService::SnapshotOf(const Shard& shard, int64_t stream) const {
  const auto next_it = next_offset_.find(stream);
  int64_t next = next_it == next_offset_.end() ? -1 : next_it->second;
  v1::ShardState state;
  int64_t max_event_ms = 0;
  if (shard.pipeline) {
    state = StateCodec::Snapshot(shard.pipeline->detection(), shard.pipeline->policy(), next);
    const auto w = shard.pipeline->watermarks().find(shard.partition);
    if (w != shard.pipeline->watermarks().end()) max_event_ms = w->second;
  } else {
    // Waiting events are not in the state: they are read again from the oldest.
    const int64_t oldest = shard.network->OldestWaiting();
    if (oldest >= 0) next = oldest;
    state = shard.network->Snapshot(next);
  }
  v1::InputPosition* in = state.add_inputs();
  in->set_topic(shard.topic);
  in->set_partition(shard.partition);
  in->set_next_offset(next);
  in->set_max_event_ms(max_event_ms);
  return state;
}

void KafkaService::CheckpointShards() {
  if (!state_store_ || stats_.consumed == consumed_at_checkpoint_) return;
  // Fenced (our session expired while we were stopped): the shards are another's now, and an
  // older state of ours must not overwrite its snapshots.
  if (consumer_->assignment_lost()) return;
  // Only states whose every decision is acknowledged.
  if (!DrainShards(10000)) {
    Log("state: checkpoint postponed, deliveries still pending");
    return;
  }
  StoreOffsets();
  const auto started = std::chrono::steady_clock::now();
  std::vector<int64_t> streams;
  for (const auto& [stream, shard] : shards_) {
    if (next_offset_.contains(stream)) streams.push_back(stream);
  }
  std::sort(streams.begin(), streams.end());
  absl::Status s = absl::OkStatus();
  size_t bytes = 0;
  for (size_t i = 0; i < streams.size() && s.ok(); ++i) {
    const Shard& shard = *shards_[streams[i]];
    const v1::ShardState state = SnapshotOf(shard, streams[i]);
    bytes += state.ByteSizeLong();
    s = state_store_->Write(ShardOwner(shard.topic, shard.partition), state, [this, i] {
      if (i != 0 || !CrashArmed("mid-checkpoint") || stats_.checkpoints == 0) return;
      producer_->flush(5000);
      Crash("mid-checkpoint");  // the first shard's chunks on the broker, its manifest not
    });
  }
  FinishCheckpoint(s, started, Cat(" of ", streams.size(), " shard(s) (", bytes, " bytes)"));
}

bool KafkaService::DrainShards(int timeout_ms) {
  // A shard is drained when its incomplete messages are only its waiting events.
  auto drained = [this] {
    for (const auto& [stream, shard] : shards_) {
      if (tracker_.Incomplete(stream) > (shard->network ? shard->network->waiting() : 0)) return false;
    }
    return true;
  };
  const int64_t deadline = NowMs() + timeout_ms;
  while (!drained() && NowMs() < deadline) producer_->poll(10);
  return drained();
}

EngineSample KafkaService::Sample() const {
  EngineSample sample;
  sample.counters = retired_;
  for (const auto& [stream, shard] : shards_) {
    if (shard->pipeline) {
      sample.counters += shard->pipeline->counters();
      sample.AddState(shard->pipeline->detection(), shard->pipeline->policy());
    } else {
      sample.AddState(shard->network->detection(), shard->network->policy());
    }
  }
  sample.geo = enricher_->cache_stats();
  return sample;
}

}  // namespace authwatch
