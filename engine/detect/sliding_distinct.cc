#include "detect/sliding_distinct.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>

#include "core/stable_hash.h"

namespace authwatch {
namespace {

uint32_t Seconds(EventTimeMs t) { return static_cast<uint32_t>(t / 1000); }
int64_t SketchWidth(int64_t window_ms) {
  return std::max<int64_t>(1, window_ms / SlidingDistinct::kSketchBuckets);
}
size_t Slot(int64_t bucket) {
  return static_cast<size_t>(((bucket % SlidingDistinct::kSketchBuckets) +
                              SlidingDistinct::kSketchBuckets) % SlidingDistinct::kSketchBuckets);
}

}  // namespace

void SlidingDistinct::Rebits() {
  present_bits_ = 0;
  for (const Entry& e : exact_) present_bits_ |= Bit(e.hash);
}

void SlidingDistinct::Prune(EventTimeMs now, int64_t window_ms) {
  const int64_t cutoff_s = (now - window_ms) / 1000;
  std::erase_if(exact_, [&](const Entry& e) { return int64_t{e.last_seen_s} <= cutoff_s; });
  Rebits();
}

void SlidingDistinct::Add(uint64_t hash, EventTimeMs t, int64_t window_ms) {
  newest_ = std::max(newest_, t);
  if (sketch_) {
    SketchAdd(hash, t, window_ms);
    return;
  }
  const auto h32 = static_cast<uint32_t>(hash >> 32);
  // A value already in the set was most likely seen lately (a guesser repeating an account):
  // newest first. A value whose bit is clear is new, and needs no scan at all.
  if ((present_bits_ & Bit(h32)) != 0) {
    for (auto e = exact_.rbegin(); e != exact_.rend(); ++e) {
      if (e->hash == h32) {
        e->last_seen_s = std::max(e->last_seen_s, Seconds(t));
        return;
      }
    }
  }
  if (exact_.size() >= kExactCapacity) Prune(newest_, window_ms);
  if (exact_.size() >= kExactCapacity) {
    ToSketch(window_ms);
    SketchAdd(hash, t, window_ms);
    return;
  }
  exact_.push_back({h32, Seconds(t)});
  present_bits_ |= Bit(h32);
}

void SlidingDistinct::ToSketch(int64_t window_ms) {
  sketch_ = std::make_unique<Sketch>();
  // Re-insert the exact entries at their last-seen times; their 32-bit hashes are re-mixed to
  // 64 bits, which keeps the registers uniformly distributed.
  for (const Entry& e : exact_) {
    SketchAdd(Mix64(e.hash), int64_t{e.last_seen_s} * 1000, window_ms);
  }
  exact_.clear();
  exact_.shrink_to_fit();
  present_bits_ = 0;
}

void SlidingDistinct::SketchAdd(uint64_t hash, EventTimeMs t, int64_t window_ms) {
  const int64_t bucket = FloorDiv(t, SketchWidth(window_ms));
  Sketch& s = *sketch_;
  if (s.head == INT64_MIN || bucket > s.head) {
    for (int64_t b = std::max(s.head + 1, bucket - kSketchBuckets + 1); b <= bucket; ++b) {
      s.registers[Slot(b)].fill(0);
    }
    if (s.head == INT64_MIN) {
      for (auto& r : s.registers) r.fill(0);
    }
    s.head = bucket;
  } else if (s.head - bucket >= kSketchBuckets) {
    return;
  }
  const uint64_t h = Mix64(hash);
  const size_t index = h >> (64 - kPrecision);
  const uint64_t rest = h << kPrecision;
  const auto rank = static_cast<uint8_t>(rest == 0 ? 64 - kPrecision + 1 : std::countl_zero(rest) + 1);
  uint8_t& reg = s.registers[Slot(bucket)][index];
  reg = std::max(reg, rank);
}

uint32_t SlidingDistinct::Count(EventTimeMs now, int64_t window_ms) const {
  if (!sketch_) {
    const int64_t cutoff_s = (now - window_ms) / 1000;
    return static_cast<uint32_t>(std::count_if(exact_.begin(), exact_.end(), [&](const Entry& e) {
      return int64_t{e.last_seen_s} > cutoff_s;
    }));
  }
  const Sketch& s = *sketch_;
  const int64_t now_bucket = FloorDiv(now, SketchWidth(window_ms));
  std::array<uint8_t, kRegisters> merged{};
  for (int64_t b = std::max(now_bucket - kSketchBuckets + 1, s.head - kSketchBuckets + 1);
       b <= std::min(now_bucket, s.head); ++b) {
    const auto& regs = s.registers[Slot(b)];
    for (int i = 0; i < kRegisters; ++i) merged[i] = std::max(merged[i], regs[i]);
  }
  // 2^-r for every possible rank, computed once (std::ldexp per register dominated Count).
  static const std::array<double, 66> kInversePowers = [] {
    std::array<double, 66> t{};
    for (size_t i = 0; i < t.size(); ++i) t[i] = std::ldexp(1.0, -static_cast<int>(i));
    return t;
  }();
  double sum = 0;
  int zeros = 0;
  for (uint8_t r : merged) {
    sum += kInversePowers[std::min<size_t>(r, 65)];
    zeros += r == 0;
  }
  const double m = kRegisters;
  const double alpha = 0.7213 / (1 + 1.079 / m);
  double estimate = alpha * m * m / sum;
  if (estimate <= 2.5 * m && zeros > 0) estimate = m * std::log(m / zeros);  // linear counting
  return static_cast<uint32_t>(std::llround(estimate));
}

bool SlidingDistinct::Contains(uint64_t hash, EventTimeMs now, int64_t window_ms) const {
  if (sketch_) return false;
  const auto h32 = static_cast<uint32_t>(hash >> 32);
  const int64_t cutoff_s = (now - window_ms) / 1000;
  return std::any_of(exact_.begin(), exact_.end(), [&](const Entry& e) {
    return e.hash == h32 && int64_t{e.last_seen_s} > cutoff_s;
  });
}

bool SlidingDistinct::Expired(EventTimeMs now, int64_t window_ms) const {
  if (sketch_) return FloorDiv(now, SketchWidth(window_ms)) - sketch_->head >= kSketchBuckets;
  // Every entry was last seen at or before the newest time: all gone when that one is.
  return exact_.empty() || newest_ / 1000 <= (now - window_ms) / 1000;
}

}  // namespace authwatch
