#include "detect/sliding_counter.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace authwatch {
namespace {

constexpr int64_t kWindow = 160000;  // 160 s: 16 buckets of 10 s
constexpr int64_t kWidth = SlidingCounter::BucketWidth(kWindow);
constexpr EventTimeMs kT = 1762077600000;  // a bucket boundary (multiple of 10 s)

TEST(SlidingCounterTest, EventCountsFromItsTimeUntilWindowEnds) {
  SlidingCounter c;
  ASSERT_TRUE(c.Add(kT, kWidth));
  EXPECT_EQ(c.Count(kT, kWidth), 1u);                // t
  EXPECT_EQ(c.Count(kT + kWindow - 1, kWidth), 1u);  // t + w - epsilon
  EXPECT_EQ(c.Count(kT + kWindow, kWidth), 0u);      // t + w
  EXPECT_TRUE(c.Expired(kT + kWindow, kWidth));
  EXPECT_FALSE(c.Expired(kT + kWindow - 1, kWidth));
}

TEST(SlidingCounterTest, UnalignedEventExpiresWithinOneBucketBeforeTheWindow) {
  SlidingCounter c;
  c.Add(kT + 7000, kWidth);  // 7 s into its bucket
  EXPECT_EQ(c.Count(kT + kWindow - 1, kWidth), 1u);
  EXPECT_EQ(c.Count(kT + kWindow, kWidth), 0u);  // counted for w - 7 s: within one bucket width
}

TEST(SlidingCounterTest, SumsAcrossBucketsAndDropsOldOnes) {
  SlidingCounter c;
  for (int i = 0; i < 20; ++i) c.Add(kT + i * 10000, kWidth);  // one per bucket for 200 s
  // At the last event (t + 190 s) the window holds buckets t+40 s .. t+190 s: 16 events.
  EXPECT_EQ(c.Count(kT + 190000, kWidth), 16u);
  EXPECT_EQ(c.Count(kT + 190000 + kWindow, kWidth), 0u);
}

TEST(SlidingCounterTest, LateEventWithinWindowCountsAndTooLateIsRefused) {
  SlidingCounter c;
  c.Add(kT + 100000, kWidth);
  EXPECT_TRUE(c.Add(kT + 50000, kWidth));   // late but inside the window
  EXPECT_EQ(c.Count(kT + 100000, kWidth), 2u);
  EXPECT_FALSE(c.Add(kT - 100000, kWidth));  // older than the window
  EXPECT_EQ(c.Count(kT + 100000, kWidth), 2u);
}

TEST(SlidingCounterTest, LongGapClearsEverything) {
  SlidingCounter c;
  for (int i = 0; i < 5; ++i) c.Add(kT, kWidth);
  c.Add(kT + 10 * kWindow, kWidth);
  EXPECT_EQ(c.Count(kT + 10 * kWindow, kWidth), 1u);
}

TEST(SlidingCounterTest, SaturatesInsteadOfWrapping) {
  SlidingCounter c;
  c.Add(kT, kWidth, 70000);
  EXPECT_EQ(c.Count(kT, kWidth), 65535u);
}

// Count keeps a running total of the buckets in the window; checked here against the plain sum
// over every event, for random (partly late, partly too old) adds and queries.
TEST(SlidingCounterTest, CountEqualsTheEventsInTheWindowUnderRandomUse) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    SlidingCounter c;
    std::vector<int64_t> buckets;  // accepted events, by bucket
    int64_t head = INT64_MIN;
    EventTimeMs now = kT;
    for (int step = 0; step < 200; ++step) {
      now += static_cast<EventTimeMs>(rng() % (kWindow / 4));
      const EventTimeMs t = now - static_cast<EventTimeMs>(rng() % (kWindow + kWindow / 2));  // late, or too old
      const int64_t b = SlidingCounter::BucketOf(t, kWidth);
      const bool accepted = c.Add(t, kWidth);
      EXPECT_EQ(accepted, head == INT64_MIN || head - b < SlidingCounter::kBuckets);
      if (accepted) {
        buckets.push_back(b);
        head = std::max(head, b);
      }
      const int64_t at = SlidingCounter::BucketOf(now, kWidth);
      const auto expected = std::count_if(buckets.begin(), buckets.end(), [&](int64_t e) {
        return e > at - SlidingCounter::kBuckets && e > head - SlidingCounter::kBuckets && e <= at;
      });
      ASSERT_EQ(c.Count(now, kWidth), static_cast<uint32_t>(expected)) << "round " << round << " step " << step;
    }
  }
}

}  // namespace
}  // namespace authwatch
