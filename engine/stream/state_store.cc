#include "stream/state_store.h"

#include <chrono>
#include <vector>

#include "core/strings.h"
#include "librdkafka/rdkafka.h"
#include "state/snapshot_chunks.h"
#include "state/state_codec.h"
#include "stream/kafka_config.h"

namespace authwatch {
namespace {

constexpr int32_t kPartition = 0;  // the whole topic is one partition: chunks precede their manifest

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Deletes a librdkafka C object when it leaves scope.
template <typename T, void (*Destroy)(T*)>
struct CPtr {
  T* p;
  ~CPtr() {
    if (p != nullptr) Destroy(p);
  }
};

}  // namespace

StateStore::StateStore(const StateOptions& options, std::string owner, RdKafka::Producer* producer)
    : options_(options), owner_(std::move(owner)), producer_(producer) {
  std::string err;
  topic_.reset(RdKafka::Topic::create(producer_, options_.topic, nullptr, err));
}

StateStore::~StateStore() = default;

absl::Status StateStore::EnsureTopic(int timeout_ms) {
  if (!topic_) return absl::InvalidArgumentError(Cat("state topic '", options_.topic, "' cannot be used"));
  rd_kafka_t* rk = producer_->c_ptr();
  char errstr[512];
  CPtr<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy> topic{
      rd_kafka_NewTopic_new(options_.topic.c_str(), 1, options_.replication_factor, errstr, sizeof errstr)};
  if (topic.p == nullptr) return absl::InvalidArgumentError(Cat("state topic ", options_.topic, ": ", errstr));
  // Compacted: the latest record of every key is kept for ever, older ones are cleaned up.
  rd_kafka_NewTopic_set_config(topic.p, "cleanup.policy", "compact");
  CPtr<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy> opts{
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)};
  rd_kafka_AdminOptions_set_request_timeout(opts.p, timeout_ms, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(opts.p, timeout_ms, errstr, sizeof errstr);
  CPtr<rd_kafka_queue_t, rd_kafka_queue_destroy> queue{rd_kafka_queue_new(rk)};
  rd_kafka_NewTopic_t* topics[] = {topic.p};
  rd_kafka_CreateTopics(rk, topics, 1, opts.p, queue.p);
  CPtr<rd_kafka_event_t, rd_kafka_event_destroy> ev{rd_kafka_queue_poll(queue.p, timeout_ms + 5000)};
  if (ev.p == nullptr) return absl::DeadlineExceededError(Cat("creating state topic ", options_.topic, ": no answer"));
  if (rd_kafka_event_error(ev.p) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(Cat("creating state topic ", options_.topic, ": ", rd_kafka_event_error_string(ev.p)));
  }
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.p), &count);
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      return absl::UnavailableError(
          Cat("creating state topic ", options_.topic, ": ", msg != nullptr ? msg : rd_kafka_err2str(err)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ShardState> StateStore::Load(const std::map<std::string, std::string>& properties,
                                                 int timeout_ms) {
  auto conf = MakeKafkaConf(properties, KafkaRole::kConsumer, owner_ + ".state-loader");
  if (!conf.ok()) return conf.status();
  std::string err;
  // Read by assignment, not as a group member: nothing is committed, no rebalance is joined.
  (*conf)->set("enable.auto.commit", "false", err);
  (*conf)->set("enable.partition.eof", "true", err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!consumer) return absl::InvalidArgumentError(Cat("state loader: ", err));
  int64_t low = 0, high = 0;
  if (RdKafka::ErrorCode e = consumer->query_watermark_offsets(options_.topic, kPartition, &low, &high, timeout_ms);
      e != RdKafka::ERR_NO_ERROR) {
    consumer->close();
    return absl::UnavailableError(Cat("state topic ", options_.topic, ": ", RdKafka::err2str(e)));
  }
  std::map<std::string, std::string> latest;  // key -> latest value, as compaction keeps it
  const std::string prefix = owner_ + "/";
  if (high > low) {
    std::vector<RdKafka::TopicPartition*> assignment = {
        RdKafka::TopicPartition::create(options_.topic, kPartition, RdKafka::Topic::OFFSET_BEGINNING)};
    consumer->assign(assignment);
    RdKafka::TopicPartition::destroy(assignment);
    const int64_t deadline = NowMs() + timeout_ms;
    bool done = false;
    while (!done) {
      if (NowMs() > deadline) {
        consumer->close();
        return absl::DeadlineExceededError(
            Cat("state topic ", options_.topic, ": not read to its end (offset ", high, ") in ", timeout_ms, " ms"));
      }
      std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
      switch (m->err()) {
        case RdKafka::ERR_NO_ERROR: {
          const std::string* key = m->key();
          if (key != nullptr && key->compare(0, prefix.size(), prefix) == 0) {
            if (m->payload() == nullptr) {
              latest.erase(*key);  // a tombstone
            } else {
              latest[*key].assign(static_cast<const char*>(m->payload()), m->len());
            }
          }
          done = m->offset() + 1 >= high;
          break;
        }
        case RdKafka::ERR__PARTITION_EOF:
          done = m->offset() >= high;
          break;
        case RdKafka::ERR__TIMED_OUT:
          break;
        default:
          if (m->err() == RdKafka::ERR__FATAL || m->err() == RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED) {
            consumer->close();
            return absl::UnavailableError(Cat("state topic ", options_.topic, ": ", m->errstr()));
          }
          break;  // transient: retried until the deadline
      }
    }
  }
  consumer->close();
  auto manifest_it = latest.find(ManifestKey());
  if (manifest_it == latest.end()) return absl::NotFoundError(Cat("no snapshot of ", owner_, " in ", options_.topic));
  v1::SnapshotManifest manifest;
  if (!manifest.ParseFromString(manifest_it->second)) {
    return absl::DataLossError(Cat(options_.topic, " ", ManifestKey(), ": not a snapshot manifest"));
  }
  std::vector<v1::SnapshotChunk> chunks;
  for (int slot = 0; slot < 2; ++slot) {
    for (uint32_t i = 0; i < manifest.chunk_count(); ++i) {
      auto it = latest.find(ChunkKey(slot, i));
      if (it == latest.end()) continue;
      v1::SnapshotChunk chunk;
      if (!chunk.ParseFromString(it->second)) continue;  // named as missing by AssembleSnapshot if it was needed
      if (chunk.snapshot_id() == manifest.snapshot_id() && i == 0) slot_ = confirmed_slot_ = slot;
      chunks.push_back(std::move(chunk));
    }
  }
  auto serialized = AssembleSnapshot(manifest, chunks);
  if (!serialized.ok()) return serialized.status();
  auto state = ParseShardState(*serialized);
  if (!state.ok()) return state.status();
  last_snapshot_id_ = manifest.snapshot_id();
  return state;
}

std::string StateStore::ChunkKey(int slot, uint32_t index) const { return Cat(owner_, "/chunk/", slot, "/", index); }

absl::Status StateStore::Produce(const std::string& key, const std::string& value) {
  for (;;) {
    const RdKafka::ErrorCode err = producer_->produce(topic_.get(), kPartition, RdKafka::Producer::RK_MSG_COPY,
                                                      const_cast<char*>(value.data()), value.size(), &key, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) {
      ++pending_;
      return absl::OkStatus();
    }
    if (err != RdKafka::ERR__QUEUE_FULL) {
      return absl::UnavailableError(Cat("cannot produce to ", options_.topic, ": ", RdKafka::err2str(err)));
    }
    producer_->poll(50);
  }
}

absl::Status StateStore::Write(const v1::ShardState& state, const std::function<void()>& before_manifest) {
  if (!topic_) return absl::FailedPreconditionError(Cat("state topic '", options_.topic, "' cannot be used"));
  auto chunked = ChunkSnapshot(state.SerializeAsString(), -1, state.input_offset(),
                               static_cast<size_t>(options_.max_chunk_bytes));
  if (!chunked.ok()) return chunked.status();
  if (chunked->manifest.snapshot_id() == last_snapshot_id_) return absl::OkStatus();  // nothing changed
  const int slot = 1 - slot_;
  for (const v1::SnapshotChunk& chunk : chunked->chunks) {
    if (auto s = Produce(ChunkKey(slot, chunk.index()), chunk.SerializeAsString()); !s.ok()) return s;
  }
  if (before_manifest) before_manifest();
  if (auto s = Produce(ManifestKey(), chunked->manifest.SerializeAsString()); !s.ok()) return s;
  slot_ = slot;
  last_snapshot_id_ = chunked->manifest.snapshot_id();
  return absl::OkStatus();
}

bool StateStore::Owns(const RdKafka::Message& message) const {
  return topic_ && static_cast<const rd_kafka_message_t*>(const_cast<RdKafka::Message&>(message).c_ptr())->rkt ==
                       topic_->c_ptr();
}

void StateStore::OnDelivery(const RdKafka::Message& message) {
  if (pending_ > 0) --pending_;
  if (message.err() != RdKafka::ERR_NO_ERROR) {
    ++failures_;
    last_error_ = message.errstr();
    last_snapshot_id_.clear();  // write the next one in full
    slot_ = confirmed_slot_;    // ... and never into the slot the standing manifest names
  } else if (const std::string* key = message.key(); key != nullptr && *key == ManifestKey()) {
    confirmed_slot_ = slot_;
  }
}

uint64_t StateStore::TakeFailures() {
  const uint64_t f = failures_;
  failures_ = 0;
  return f;
}

}  // namespace authwatch
