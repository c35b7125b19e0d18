// KeyPresence: an approximate set of the keys that have window state, so that an event which
// could only update existing state (a success, for rules that count failures over all
// attempts) skips the hash-table probes when its key has none. In replay 97% of events are
// successes, and most of their addresses never failed: the probes were a fifth of the time.
//
// A blocked Bloom filter: one 64-bit word per key, three bits in it, so a query is one cache
// line. No false negatives: every key with state was either inserted when its state was made
// or re-inserted by the last Rebuild. False positives only cost the probe the filter saves.
// Keys are never removed; the owner rebuilds from its live keys once as many keys have been
// added since the last rebuild as were live then (amortised O(1) per insertion), which also
// forgets expired keys.
//
// Not thread-safe; owned by RuleWindows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace authwatch {

class KeyPresence {
 public:
  // Starts empty, sized for `expected_keys`, and must then be told every live key.
  void Reset(size_t expected_keys);
  void Insert(uint64_t key);
  bool MayContain(uint64_t key) const;
  // True when enough keys were inserted since Reset that a rebuild should follow.
  bool NeedsRebuild() const { return inserted_ > rebuild_after_; }
  size_t MemoryBytes() const { return words_.size() * sizeof(uint64_t); }

 private:
  static uint64_t Mix(uint64_t key);
  std::vector<uint64_t> words_;  // power-of-two size
  uint64_t mask_ = 0;            // words_.size() - 1
  size_t inserted_ = 0;
  size_t rebuild_after_ = 0;
};

}  // namespace authwatch
