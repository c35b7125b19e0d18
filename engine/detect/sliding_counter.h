// SlidingCounter: how many events fell in the last `window` of event time, in bounded memory.
//
// The window is cut into kBuckets buckets of width g = window / kBuckets; an event at time t
// lands in bucket floor(t / g). Count(now) sums the buckets with index in
// (floor(now / g) - kBuckets, floor(now / g)]. So an event counts from its own time until
// between `window - g` and `window` later: exactly `window` for an event at a bucket boundary,
// up to one bucket width (1/16 of the window) less otherwise. That bounded error is the price
// of 40 bytes per counter whatever the rate; thresholds are chosen with it in mind.
//
// Late events (t before the newest bucket) land in their own bucket while it is still inside
// the window; older ones are ignored (Add returns false). Counts saturate at 65535 per bucket.
// Value type, not thread-safe; owned by one shard.
#pragma once

#include <array>
#include <cstdint>

#include "core/event_time.h"

namespace authwatch {

class SlidingCounter {
 public:
  static constexpr int kBuckets = 16;

  // Bucket width for a window (at least 1 ms).
  static constexpr int64_t BucketWidth(int64_t window_ms) {
    return window_ms / kBuckets > 0 ? window_ms / kBuckets : 1;
  }

  // Adds `n` events at time t. Returns false if t is too old to count.
  bool Add(EventTimeMs t, int64_t bucket_width_ms, uint32_t n = 1);
  // Events in the window ending at `now` (now >= the newest event's time).
  uint32_t Count(EventTimeMs now, int64_t bucket_width_ms) const;
  // True when no bucket can count at `now` any more: the state can be dropped.
  bool Expired(EventTimeMs now, int64_t bucket_width_ms) const;

 private:
  friend class StateCodec;  // snapshots (engine/state/state_codec.h)
  void Advance(int64_t bucket);
  int64_t head_ = INT64_MIN;  // index of the newest bucket touched
  std::array<uint16_t, kBuckets> counts_{};
};

}  // namespace authwatch
