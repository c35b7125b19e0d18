#include "detect/sliding_counter.h"

#include <algorithm>

namespace authwatch {
namespace {
size_t Slot(int64_t bucket) {
  return static_cast<size_t>(((bucket % SlidingCounter::kBuckets) + SlidingCounter::kBuckets) % SlidingCounter::kBuckets);
}
}  // namespace

void SlidingCounter::Advance(int64_t bucket) {
  if (head_ == INT64_MIN || bucket - head_ >= kBuckets) {
    counts_.fill(0);
    total_ = 0;
  } else {
    for (int64_t b = head_ + 1; b <= bucket; ++b) {
      uint16_t& c = counts_[Slot(b)];
      total_ -= c;
      c = 0;
    }
  }
  head_ = bucket;
}

bool SlidingCounter::AddAt(int64_t bucket, uint32_t n) {
  if (head_ == INT64_MIN || bucket > head_) {
    Advance(bucket);
  } else if (head_ - bucket >= kBuckets) {
    return false;  // older than the window
  }
  uint16_t& c = counts_[Slot(bucket)];
  const auto sum = static_cast<uint16_t>(std::min<uint32_t>(uint32_t{c} + n, UINT16_MAX));
  total_ += sum - c;
  c = sum;
  return true;
}

uint32_t SlidingCounter::CountAt(int64_t now_bucket) const {
  if (head_ == INT64_MIN) return 0;
  if (now_bucket >= head_) {
    if (now_bucket - head_ >= kBuckets) return 0;
    // The window (now_bucket - kBuckets, now_bucket] has left the oldest buckets behind.
    uint32_t sum = total_;
    for (int64_t b = head_ - kBuckets + 1; b <= now_bucket - kBuckets; ++b) sum -= counts_[Slot(b)];
    return sum;
  }
  // Asked about a time before the newest bucket: sum the buckets up to it.
  uint32_t sum = 0;
  for (int64_t b = std::max(now_bucket - kBuckets + 1, head_ - kBuckets + 1); b <= now_bucket; ++b) {
    sum += counts_[Slot(b)];
  }
  return sum;
}

void SlidingCounter::Retotal() {
  total_ = 0;
  for (uint16_t c : counts_) total_ += c;
}

}  // namespace authwatch
