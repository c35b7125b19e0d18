#include "stream/state_store.h"

#include <chrono>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "librdkafka/rdkafka.h"
#include "state/snapshot_chunks.h"
#include "state/state_codec.h"
#include "stream/kafka_config.h"
#include "stream/topic_admin.h"

namespace authwatch {
namespace {

constexpr int32_t kPartition = 0;  // the whole topic is one partition: chunks precede their manifest

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StateStore::StateStore(const StateOptions& options, std::string owner, RdKafka::Producer* producer)
    : options_(options), owner_(std::move(owner)), producer_(producer) {
  std::string err;
  topic_.reset(RdKafka::Topic::create(producer_, options_.topic, nullptr, err));
}

StateStore::~StateStore() = default;

absl::Status StateStore::EnsureTopic(int timeout_ms) {
  if (!topic_) return absl::InvalidArgumentError(Cat("state topic '", options_.topic, "' cannot be used"));
  // Compacted: the latest record of every key is kept for ever, older ones are cleaned up.
  return authwatch::EnsureTopic(producer_, "state topic", options_.topic, 1, options_.replication_factor,
                                {{"cleanup.policy", "compact"}}, timeout_ms);
}

absl::StatusOr<v1::ShardState> StateStore::Load(const std::map<std::string, std::string>& properties,
                                                 int timeout_ms) {
  auto all = LoadOwners(properties, {owner_}, timeout_ms);
  if (!all.ok()) return all.status();
  return std::move(all->at(owner_));
}

absl::StatusOr<std::map<std::string, absl::StatusOr<v1::ShardState>>> StateStore::LoadOwners(
    const std::map<std::string, std::string>& properties, const std::vector<std::string>& owners, int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  for (int attempt = 0;; ++attempt) {
    auto loaded = ReadOwners(properties, owners, static_cast<int>(std::max<int64_t>(1000, deadline - NowMs())));
    if (loaded.ok() || !Transient(loaded.status()) || NowMs() >= deadline) return loaded;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2000, 200 << std::min(attempt, 4))));
  }
}

absl::Status StateStore::Scan(const std::map<std::string, std::string>& properties, const std::string& topic,
                              const std::string& client, int timeout_ms,
                              const std::function<void(const RdKafka::Message&)>& record) {
  auto reader = MakeAssignedReader(properties, client);
  if (!reader.ok()) return reader.status();
  std::unique_ptr<RdKafka::KafkaConsumer> consumer = *std::move(reader);
  int64_t low = 0, high = 0;
  if (RdKafka::ErrorCode e = consumer->query_watermark_offsets(topic, kPartition, &low, &high, timeout_ms);
      e != RdKafka::ERR_NO_ERROR) {
    consumer->close();
    return absl::UnavailableError(Cat("state topic ", topic, ": ", RdKafka::err2str(e)));
  }
  if (high > low) {
    std::vector<RdKafka::TopicPartition*> assignment = {
        RdKafka::TopicPartition::create(topic, kPartition, RdKafka::Topic::OFFSET_BEGINNING)};
    consumer->assign(assignment);
    RdKafka::TopicPartition::destroy(assignment);
    const int64_t deadline = NowMs() + timeout_ms;
    bool done = false;
    while (!done) {
      if (NowMs() > deadline) {
        consumer->close();
        return absl::DeadlineExceededError(
            Cat("state topic ", topic, ": not read to its end (offset ", high, ") in ", timeout_ms, " ms"));
      }
      std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
      switch (m->err()) {
        case RdKafka::ERR_NO_ERROR:
          record(*m);
          done = m->offset() + 1 >= high;
          break;
        case RdKafka::ERR__PARTITION_EOF:
          done = m->offset() >= high;
          break;
        case RdKafka::ERR__TIMED_OUT:
          break;
        default:
          if (m->err() == RdKafka::ERR__FATAL || m->err() == RdKafka::ERR_TOPIC_AUTHORIZATION_FAILED) {
            consumer->close();
            return absl::UnavailableError(Cat("state topic ", topic, ": ", m->errstr()));
          }
          break;  // transient: retried until the deadline
      }
    }
  }
  consumer->close();
  return absl::OkStatus();
}

namespace {

// Applies a record of the state topic to `latest` (key -> latest value, as compaction keeps it).
void Apply(const RdKafka::Message& m, std::map<std::string, std::string>* latest) {
  const std::string* key = m.key();
  if (key == nullptr) return;
  if (m.payload() == nullptr) {
    latest->erase(*key);  // a tombstone
  } else {
    (*latest)[*key].assign(static_cast<const char*>(m.payload()), m.len());
  }
}

}  // namespace

absl::StatusOr<std::map<std::string, absl::StatusOr<v1::ShardState>>> StateStore::ReadOwners(
    const std::map<std::string, std::string>& properties, const std::vector<std::string>& owners, int timeout_ms) {
  std::map<std::string, std::string> latest;
  std::vector<std::string> prefixes;
  for (const auto& o : owners) prefixes.push_back(o + "/");
  auto wanted = [&prefixes](const std::string& key) {
    for (const auto& p : prefixes) {
      if (key.compare(0, p.size(), p) == 0) return true;
    }
    return false;
  };
  absl::Status s = Scan(properties, options_.topic, owner_ + ".state-loader", timeout_ms,
                        [&](const RdKafka::Message& m) {
                          if (m.key() != nullptr && wanted(*m.key())) Apply(m, &latest);
                        });
  if (!s.ok()) return s;
  std::map<std::string, absl::StatusOr<v1::ShardState>> out;
  for (const auto& o : owners) {
    AssembledSnapshot a = AssembleOwner(options_.topic, o, latest);
    if (a.state.ok() && a.manifest.writer() == writer_) {
      // This writer's next checkpoint goes into the other slot (another writer's chunks are
      // keyed apart and never overwritten).
      Slots& slots = slots_[o];
      if (a.slot >= 0) slots.slot = slots.confirmed_slot = a.slot;
      slots.last_snapshot_id = a.manifest.snapshot_id();
    }
    out.emplace(o, std::move(a.state));
  }
  return out;
}

absl::StatusOr<std::vector<StateStore::HistoricSnapshot>> StateStore::ReadHistory(
    const std::map<std::string, std::string>& properties, const std::string& topic, const std::string& prefix,
    int timeout_ms) {
  std::map<std::string, std::string> latest;
  std::vector<HistoricSnapshot> out;
  absl::Status s = Scan(properties, topic, prefix + ".state-history", timeout_ms, [&](const RdKafka::Message& m) {
    const std::string* key = m.key();
    if (key == nullptr || !key->starts_with(prefix)) return;
    Apply(m, &latest);
    if (!key->ends_with("/manifest") || m.payload() == nullptr) return;
    const std::string owner = key->substr(0, key->size() - 9);
    AssembledSnapshot a = AssembleOwner(topic, owner, latest);
    out.push_back({owner, a.manifest.writer(), m.offset(), std::move(a.state)});
  });
  if (!s.ok()) return s;
  return out;
}

StateStore::AssembledSnapshot StateStore::AssembleOwner(const std::string& topic, const std::string& owner,
                                                        const std::map<std::string, std::string>& latest) {
  AssembledSnapshot out{absl::NotFoundError(Cat("no snapshot of ", owner, " in ", topic)), {}, -1};
  auto manifest_it = latest.find(ManifestKey(owner));
  if (manifest_it == latest.end()) return out;
  if (!out.manifest.ParseFromString(manifest_it->second)) {
    out.state = absl::DataLossError(Cat(topic, " ", ManifestKey(owner), ": not a snapshot manifest"));
    return out;
  }
  const v1::SnapshotManifest& manifest = out.manifest;
  std::vector<v1::SnapshotChunk> chunks;
  for (int slot = 0; slot < 2; ++slot) {
    for (uint32_t i = 0; i < manifest.chunk_count(); ++i) {
      auto it = latest.find(ChunkKey(owner, manifest.writer(), slot, i));
      if (it == latest.end()) continue;
      v1::SnapshotChunk chunk;
      if (!chunk.ParseFromString(it->second)) continue;  // named as missing by AssembleSnapshot if it was needed
      if (chunk.snapshot_id() == manifest.snapshot_id() && i == 0) out.slot = slot;
      chunks.push_back(std::move(chunk));
    }
  }
  auto serialized = AssembleSnapshot(manifest, chunks);
  if (!serialized.ok()) {
    out.state = serialized.status();
  } else {
    out.state = ParseShardState(*serialized);
  }
  return out;
}

std::string StateStore::ChunkKey(const std::string& owner, const std::string& writer, int slot, uint32_t index) {
  return writer.empty() ? Cat(owner, "/chunk/", slot, "/", index) : Cat(owner, "/chunk/", writer, "/", slot, "/", index);
}

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
  return Write(owner_, state, before_manifest);
}

absl::Status StateStore::Write(const std::string& owner, const v1::ShardState& state,
                               const std::function<void()>& before_manifest) {
  if (!topic_) return absl::FailedPreconditionError(Cat("state topic '", options_.topic, "' cannot be used"));
  auto chunked = ChunkSnapshot(state.SerializeAsString(), -1, state.input_offset(),
                               static_cast<size_t>(options_.max_chunk_bytes));
  if (!chunked.ok()) return chunked.status();
  Slots& slots = slots_[owner];
  if (chunked->manifest.snapshot_id() == slots.last_snapshot_id) return absl::OkStatus();  // nothing changed
  chunked->manifest.set_writer(writer_);
  const int slot = 1 - slots.slot;
  for (const v1::SnapshotChunk& chunk : chunked->chunks) {
    if (auto s = Produce(ChunkKey(owner, writer_, slot, chunk.index()), chunk.SerializeAsString()); !s.ok()) return s;
  }
  if (before_manifest) before_manifest();
  if (auto s = Produce(ManifestKey(owner), chunked->manifest.SerializeAsString()); !s.ok()) return s;
  slots.slot = slot;
  slots.last_snapshot_id = chunked->manifest.snapshot_id();
  return absl::OkStatus();
}

bool StateStore::Owns(const RdKafka::Message& message) const {
  return topic_ && static_cast<const rd_kafka_message_t*>(const_cast<RdKafka::Message&>(message).c_ptr())->rkt ==
                       topic_->c_ptr();
}

void StateStore::OnDelivery(const RdKafka::Message& message) {
  if (pending_ > 0) --pending_;
  const std::string* key = message.key();
  if (key == nullptr) return;
  // The owner is the key up to "/manifest" or "/chunk/".
  const bool manifest = key->ends_with("/manifest");
  const size_t cut = manifest ? key->size() - 9 : key->find("/chunk/");
  if (cut == std::string::npos) return;
  Slots& slots = slots_[key->substr(0, cut)];
  if (message.err() != RdKafka::ERR_NO_ERROR) {
    ++failures_;
    last_error_ = message.errstr();
    slots.last_snapshot_id.clear();   // write the next one in full
    slots.slot = slots.confirmed_slot;  // ... and never into the slot the standing manifest names
  } else if (manifest) {
    slots.confirmed_slot = slots.slot;
  }
}

uint64_t StateStore::TakeFailures() {
  const uint64_t f = failures_;
  failures_ = 0;
  return f;
}

}  // namespace authwatch
