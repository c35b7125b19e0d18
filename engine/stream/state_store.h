// StateStore: `authwatch run`'s detection state in a compacted Kafka topic, so that a restart
// (an upgrade, a crash, kill -9) resumes with the windows, profiles and standing decisions it
// had, instead of starting from zero: a slow brute force spread over hours, or an attacker who
// times a restart, is still seen.
//
// Layout of the topic (one partition, cleanup.policy=compact, created if missing), per owner
// (the consumer group and the instance's group.instance.id, "<group>/<instance>", or the group
// alone without static membership; in a scale-out deployment, one owner per shard,
// "<group>/shard/<topic>/<partition>", written by whichever instance holds the shard):
//   <owner>/chunk/<slot>/<index>   SnapshotChunk     (state/snapshot_chunks.h)
//   <owner>/chunk/<writer>/<slot>/<index>            (the same, per writing instance: set_writer)
//   <owner>/manifest               SnapshotManifest  written after every chunk of its snapshot
// Two slots alternate: a checkpoint writes into the slot the current manifest does not name,
// then the manifest. A crash mid-checkpoint leaves the previous manifest and its intact slot,
// and compaction never removes the latest record of a key, so the latest complete snapshot is
// always readable. One partition keeps the order chunks-then-manifest (idempotent producer).
//
// Consistency: the caller checkpoints only when every decision of the events before the
// snapshot's offsets is acknowledged (KafkaService drains first), so starting again from those
// offsets never loses a decision; events between them and the group's committed offsets are
// re-processed with output suppressed (their decisions were written before the crash).
//
// Used from the consume loop's thread only (delivery reports arrive through the same poll()).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/config.h"
#include "authwatch/v1/state.pb.h"
#include "librdkafka/rdkafkacpp.h"

namespace authwatch {

class StateStore {
 public:
  // `owner`: the owner of Load() and Write() without an owner argument.
  StateStore(const StateOptions& options, std::string owner, RdKafka::Producer* producer);
  ~StateStore();

  // Creates the topic (one partition, compacted) unless it exists.
  absl::Status EnsureTopic(int timeout_ms);
  // The group's latest complete snapshot. NotFound when the group has none; DataLoss when the
  // manifest names a snapshot that cannot be assembled (the message says what is wrong).
  // `properties` are the user's librdkafka properties (bootstrap servers, TLS, SASL).
  absl::StatusOr<v1::ShardState> Load(const std::map<std::string, std::string>& properties, int timeout_ms);
  // The latest complete snapshot of each of `owners`, reading the topic once (a scale-out
  // instance restores every partition it is assigned at once). Per owner as in Load; the
  // outer status fails only when the topic cannot be read.
  absl::StatusOr<std::map<std::string, absl::StatusOr<v1::ShardState>>> LoadOwners(
      const std::map<std::string, std::string>& properties, const std::vector<std::string>& owners, int timeout_ms);
  // Unavailable and DeadlineExceeded (the topic just created, a broker restarting) are
  // transient: the load is tried again, up to `timeout_ms` in all, so that a valid snapshot is
  // not given up for a moment's error.
  static bool Transient(const absl::Status& s) { return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s); }

  // Every snapshot completed in `topic` under owners starting with `prefix`, as it stood when its
  // manifest was written, in the order written: the topic's history until compaction cleans up
  // superseded records (the fault suite checks each against an oracle: `authwatch verify-state`).
  struct HistoricSnapshot {
    std::string owner;
    std::string writer;  // SnapshotManifest.writer
    int64_t manifest_offset;
    absl::StatusOr<v1::ShardState> state;
  };
  static absl::StatusOr<std::vector<HistoricSnapshot>> ReadHistory(const std::map<std::string, std::string>& properties,
                                                                   const std::string& topic, const std::string& prefix,
                                                                   int timeout_ms);

  // Produces a checkpoint: its chunks, then its manifest. Completion is reported through
  // OnDelivery; pending() is 0 once every record is acknowledged.
  // `before_manifest` (tests/faults) runs between the last chunk and the manifest.
  absl::Status Write(const v1::ShardState& state, const std::function<void()>& before_manifest = {});
  absl::Status Write(const std::string& owner, const v1::ShardState& state,
                     const std::function<void()>& before_manifest = {});
  // Chunks are keyed by `writer` too (SnapshotManifest.writer): for snapshots that several
  // instances may write in turn (a scale-out shard moves), so that none overwrites the chunks
  // another's manifest names. Empty (the default): the single-instance layout.
  void set_writer(std::string writer) { writer_ = std::move(writer); }
  // True if `message` (from the producer's delivery report) is one of this store's records.
  bool Owns(const RdKafka::Message& message) const;
  void OnDelivery(const RdKafka::Message& message);

  size_t pending() const { return pending_; }
  // Failed deliveries since the last call (a checkpoint that did not land; the previous one stands).
  uint64_t TakeFailures();
  const std::string& last_error() const { return last_error_; }
  const std::string& topic() const { return options_.topic; }

 private:
  struct Slots {
    int slot = 1;            // slot of the latest manifest written; the next checkpoint writes the other
    int confirmed_slot = 1;  // slot of the latest manifest the broker acknowledged
    std::string last_snapshot_id;
  };
  struct AssembledSnapshot {
    absl::StatusOr<v1::ShardState> state;
    v1::SnapshotManifest manifest;
    int slot;  // the slot holding its chunks, -1 if none
  };
  static AssembledSnapshot AssembleOwner(const std::string& topic, const std::string& owner,
                                         const std::map<std::string, std::string>& latest);
  // Reads `topic` (its one partition) from the beginning to its end, by assignment.
  static absl::Status Scan(const std::map<std::string, std::string>& properties, const std::string& topic,
                           const std::string& client, int timeout_ms,
                           const std::function<void(const RdKafka::Message&)>& record);
  static std::string ChunkKey(const std::string& owner, const std::string& writer, int slot, uint32_t index);
  static std::string ManifestKey(const std::string& owner) { return owner + "/manifest"; }
  // One read of the topic (LoadOwners retries it).
  absl::StatusOr<std::map<std::string, absl::StatusOr<v1::ShardState>>> ReadOwners(
      const std::map<std::string, std::string>& properties, const std::vector<std::string>& owners, int timeout_ms);
  absl::Status Produce(const std::string& key, const std::string& value);

  StateOptions options_;
  std::string owner_;  // "<group>/<instance>" or "<group>"
  std::string writer_;
  RdKafka::Producer* producer_;
  std::unique_ptr<RdKafka::Topic> topic_;
  std::map<std::string, Slots> slots_;  // by owner
  size_t pending_ = 0;
  uint64_t failures_ = 0;
  std::string last_error_;
};

}  // namespace authwatch
