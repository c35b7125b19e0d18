// SlidingDistinct: how many distinct values (accounts, prefixes, countries...) were seen in the
// last `window` of event time, in bounded memory.
//
// Exact while small: up to kExactCapacity (value hash, last-seen second) pairs; an entry
// counts until `window` after it was last seen (1 s resolution). Past that capacity the set
// becomes a windowed HyperLogLog: kSketchBuckets time buckets of width window/kSketchBuckets,
// each with 2^kPrecision one-byte registers; the estimate is the HLL of the union (register-wise
// max) of the buckets still in the window, with a standard error of about 1.04/sqrt(128) = 9 %.
// Thresholds in the shipped rules are far below the capacity, so decisions are taken on exact
// counts; the sketch only bounds memory under a flood (a spraying address touching 10^5 accounts
// costs 2 KiB, not megabytes).
// Not thread-safe; owned by one shard.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/event_time.h"

namespace authwatch {

class SlidingDistinct {
 public:
  static constexpr size_t kExactCapacity = 64;
  static constexpr int kPrecision = 7;
  static constexpr int kRegisters = 1 << kPrecision;
  static constexpr int kSketchBuckets = 4;

  // Records value `hash` seen at t.
  void Add(uint64_t hash, EventTimeMs t, int64_t window_ms);
  // Distinct values seen in (now - window, now].
  uint32_t Count(EventTimeMs now, int64_t window_ms) const;
  // True if `hash` was seen in the window (exact mode; in sketch mode, always false).
  bool Contains(uint64_t hash, EventTimeMs now, int64_t window_ms) const;
  bool Expired(EventTimeMs now, int64_t window_ms) const;
  bool is_sketch() const { return sketch_ != nullptr; }

 private:
  friend class StateCodec;  // snapshots (engine/state/state_codec.h)
  struct Entry {
    uint32_t hash;
    uint32_t last_seen_s;
  };
  struct Sketch {
    int64_t head = INT64_MIN;  // newest bucket index
    std::array<std::array<uint8_t, kRegisters>, kSketchBuckets> registers{};
  };
  static uint64_t Bit(uint32_t h32) { return uint64_t{1} << (h32 >> 26); }
  void Rebits();  // present_bits_ from exact_ (after a prune or a restore)
  void Prune(EventTimeMs now, int64_t window_ms);
  void ToSketch(int64_t window_ms);
  void SketchAdd(uint64_t hash, EventTimeMs t, int64_t window_ms);

  std::vector<Entry> exact_;
  uint64_t present_bits_ = 0;  // Bit(hash) of every exact entry: a one-word Bloom filter
  std::unique_ptr<Sketch> sketch_;
  EventTimeMs newest_ = 0;
};

}  // namespace authwatch
