#include "detect/sliding_counter.h"

#include <algorithm>

namespace authwatch {
namespace {
int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : (a - b + 1) / b; }
}  // namespace

void SlidingCounter::Advance(int64_t bucket) {
  if (head_ == INT64_MIN || bucket - head_ >= kBuckets) {
    counts_.fill(0);
  } else {
    for (int64_t b = head_ + 1; b <= bucket; ++b) counts_[static_cast<size_t>(b % kBuckets)] = 0;
  }
  head_ = bucket;
}

bool SlidingCounter::Add(EventTimeMs t, int64_t width, uint32_t n) {
  const int64_t bucket = FloorDiv(t, width);
  if (head_ == INT64_MIN || bucket > head_) {
    Advance(bucket);
  } else if (head_ - bucket >= kBuckets) {
    return false;  // older than the window
  }
  uint16_t& c = counts_[static_cast<size_t>(((bucket % kBuckets) + kBuckets) % kBuckets)];
  c = static_cast<uint16_t>(std::min<uint32_t>(uint32_t{c} + n, UINT16_MAX));
  return true;
}

uint32_t SlidingCounter::Count(EventTimeMs now, int64_t width) const {
  if (head_ == INT64_MIN) return 0;
  const int64_t now_bucket = FloorDiv(now, width);
  uint32_t sum = 0;
  // Buckets (now_bucket - kBuckets, now_bucket], of which only those <= head_ hold counts.
  const int64_t lo = std::max(now_bucket - kBuckets + 1, head_ - kBuckets + 1);
  const int64_t hi = std::min(now_bucket, head_);
  for (int64_t b = lo; b <= hi; ++b) {
    sum += counts_[static_cast<size_t>(((b % kBuckets) + kBuckets) % kBuckets)];
  }
  return sum;
}

bool SlidingCounter::Expired(EventTimeMs now, int64_t width) const {
  return head_ == INT64_MIN || FloorDiv(now, width) - head_ >= kBuckets;
}

}  // namespace authwatch
