// KeyState: the windows of one key in one rule, in one allocation.
//
// A header (the episode's times, the evidence ring) is followed by exactly the windows the
// rule's conditions keep: a distinct count one set of values, a count one counter, a ratio two
// (numerator, denominator). Every state of an address-keyed rule is updated for nearly every
// login of the address (the ratios count all attempts): in one allocation its windows are
// reached without a second pointer and prefetched with the state's own address, and without the
// unused windows every condition used to carry a state is about half its former size.
//
// Owned by one shard's RuleWindows; not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "detect/rule_set.h"
#include "detect/shared_sample.h"
#include "detect/sliding_counter.h"
#include "detect/sliding_distinct.h"

namespace authwatch {

// Where each condition of a rule keeps its windows in a KeyState: the same for every key.
class KeyStateLayout {
 public:
  KeyStateLayout() = default;
  explicit KeyStateLayout(const std::vector<Condition>& when);

  // Condition i's first counter (a ratio: numerator, then denominator at slot + 1), or for a
  // distinct count its set, as an index into KeyState::counters() or distincts().
  size_t slot(size_t i) const { return slots_[i]; }
  size_t counters() const { return counters_; }
  size_t distincts() const { return distincts_; }

 private:
  std::vector<uint8_t> slots_;
  uint8_t counters_ = 0;
  uint8_t distincts_ = 0;
};

class KeyState {
 public:
  static constexpr size_t kMaxSamples = 3;  // evidence samples kept per key
  struct Free {
    void operator()(KeyState* st) const;
  };
  using Ptr = std::unique_ptr<KeyState, Free>;

  // A state with empty windows as `layout` places them.
  static Ptr Make(const KeyStateLayout& layout);

  KeyState(const KeyState&) = delete;
  KeyState& operator=(const KeyState&) = delete;

  std::span<SlidingCounter> counters() { return {CounterData(), counter_count_}; }
  std::span<const SlidingCounter> counters() const { return {CounterData(), counter_count_}; }
  std::span<SlidingDistinct> distincts() { return {DistinctData(), distinct_count_}; }
  std::span<const SlidingDistinct> distincts() const { return {DistinctData(), distinct_count_}; }

  // True when no window can count at `bucket` (the rule's bucket of time t) any more.
  bool WindowsExpired(int64_t bucket, EventTimeMs t, int64_t window_ms) const;
  // Bytes of the allocation (header and windows, not the samples or a distinct set's own heap).
  size_t Bytes() const { return sizeof(KeyState) + WindowBytes(counter_count_, distinct_count_); }
  // The same for any state of `layout`.
  static size_t Bytes(const KeyStateLayout& layout) {
    return sizeof(KeyState) + WindowBytes(layout.counters(), layout.distincts());
  }

  EventTimeMs first_ms = 0;        // first event of the current episode
  EventTimeMs latest_ms = 0;       // newest event time seen
  EventTimeMs refire_after_ms = 0; // no new signal before this (the policy's decision stands)
  // A bucket at or below the newest bucket some counter of this state has counted in: while it
  // is inside the window the episode has not expired, and no window needs reading to know it.
  // INT64_MIN (new, or restored from a snapshot): unknown, every window is asked.
  int64_t counted_bucket = INT64_MIN;
  // The last few matching events, for evidence: a ring that fills 0, 1, 2 (next_sample ==
  // sample_count) and then wraps.
  std::array<SharedSample, kMaxSamples> samples;
  uint8_t sample_count = 0;
  uint8_t next_sample = 0;

 private:
  KeyState(uint8_t counters, uint8_t distincts) : counter_count_(counters), distinct_count_(distincts) {}
  ~KeyState();
  static size_t WindowBytes(size_t counters, size_t distincts) {
    return distincts * sizeof(SlidingDistinct) + counters * sizeof(SlidingCounter);
  }
  // The sets come first (measured a little faster than counters first, though nearly every event
  // counts in a counter; SlidingDistinct's alignment is at least SlidingCounter's).
  SlidingDistinct* DistinctData() const {
    return reinterpret_cast<SlidingDistinct*>(const_cast<KeyState*>(this) + 1);
  }
  SlidingCounter* CounterData() const { return reinterpret_cast<SlidingCounter*>(DistinctData() + distinct_count_); }

  const uint8_t counter_count_;
  const uint8_t distinct_count_;
};

static_assert(sizeof(KeyState) <= 64, "a state's header is one cache line");
static_assert(alignof(KeyState) >= alignof(SlidingDistinct) && sizeof(KeyState) % alignof(SlidingDistinct) == 0);
static_assert(alignof(SlidingDistinct) >= alignof(SlidingCounter) &&
              sizeof(SlidingDistinct) % alignof(SlidingCounter) == 0);

}  // namespace authwatch
