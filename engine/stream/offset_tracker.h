// OffsetTracker: which input offsets may be committed, for at-least-once delivery.
//
// A consumed message at (partition, offset) is complete once the pipeline has processed it AND
// every record it caused (decisions, dead letters) has been acknowledged by the broker. The
// offset to commit for a partition is the lowest offset not yet complete (or one past the
// highest consumed when all are complete): committing it never skips an incomplete message,
// even when acknowledgements arrive out of order.
// Partitions are identified by a 64-bit stream id (the service uses topic index << 32 | partition).
// Not thread-safe: used from the consume loop and from delivery callbacks served by poll() on
// the same thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace authwatch {

class OffsetTracker {
 public:
  // The message is being processed: it is incomplete until Finish and every Ack.
  void Begin(int64_t partition, int64_t offset);
  // One more record produced for the message, to be acknowledged.
  void AddPending(int64_t partition, int64_t offset);
  // The pipeline is done with the message.
  void Finish(int64_t partition, int64_t offset);
  // A produced record was acknowledged.
  void Ack(int64_t partition, int64_t offset) { Release(partition, offset); }

  // Partitions whose committable offset moved since the last call, with that offset.
  std::vector<std::pair<int64_t, int64_t>> TakeCommittable();
  // The committable offset of one partition, if anything was consumed from it.
  std::optional<int64_t> Committable(int64_t partition) const;
  // Messages not yet complete in a partition (all partitions when -1).
  size_t Incomplete(int64_t partition = -1) const;
  // Drops a revoked partition.
  void Forget(int64_t partition) { partitions_.erase(partition); }

 private:
  struct Partition {
    // Messages are processed one at a time per partition, so "being processed" is one offset;
    // only messages with deliveries in flight enter the map (most messages cause none).
    std::map<int64_t, int> pending;  // offset -> deliveries not yet acknowledged
    int64_t in_progress = -1;        // the message being processed, or -1
    int64_t next = -1;               // one past the highest offset begun
    int64_t last_reported = -1;
  };
  void Release(int64_t partition, int64_t offset);
  absl::flat_hash_map<int64_t, Partition> partitions_;
};

}  // namespace authwatch
