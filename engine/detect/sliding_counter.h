// SlidingCounter: how many events fell in the last `window` of event time, in bounded memory.
//
// The window is cut into kBuckets buckets of width g = window / kBuckets; an event at time t
// lands in bucket floor(t / g). Count(now) sums the buckets with index in
// (floor(now / g) - kBuckets, floor(now / g)]. So an event counts from its own time until
// between `window - g` and `window` later: exactly `window` for an event at a bucket boundary,
// up to one bucket width (1/16 of the window) less otherwise. That bounded error is the price
// of 48 bytes per counter whatever the rate; thresholds are chosen with it in mind.
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

  // The bucket of time t: floor(t / width). A caller updating several counters of one width at
  // one time computes it once (a 64-bit division costs more than the update itself).
  static int64_t BucketOf(EventTimeMs t, int64_t bucket_width_ms) { return FloorDiv(t, bucket_width_ms); }

  // Adds `n` events at time t. Returns false if t is too old to count.
  bool Add(EventTimeMs t, int64_t bucket_width_ms, uint32_t n = 1) { return AddAt(BucketOf(t, bucket_width_ms), n); }
  // Events in the window ending at `now` (now >= the newest event's time).
  uint32_t Count(EventTimeMs now, int64_t bucket_width_ms) const { return CountAt(BucketOf(now, bucket_width_ms)); }
  // True when no bucket can count at `now` any more: the state can be dropped.
  bool Expired(EventTimeMs now, int64_t bucket_width_ms) const { return ExpiredAt(BucketOf(now, bucket_width_ms)); }

  // The same, given BucketOf(time).
  bool AddAt(int64_t bucket, uint32_t n = 1);
  uint32_t CountAt(int64_t now_bucket) const;
  bool ExpiredAt(int64_t now_bucket) const { return head_ == INT64_MIN || now_bucket - head_ >= kBuckets; }

 private:
  friend class StateCodec;  // snapshots (engine/state/state_codec.h)
  void Advance(int64_t bucket);
  void Retotal();  // total_ from counts_ (after a restore)
  int64_t head_ = INT64_MIN;  // index of the newest bucket touched
  // Sum of counts_, which hold exactly the buckets (head_ - kBuckets, head_]: Count at the newest
  // bucket, the usual case (a rule is evaluated at the event that just counted), is O(1).
  uint32_t total_ = 0;
  std::array<uint16_t, kBuckets> counts_{};
};

}  // namespace authwatch
