#include "detect/sliding_counter.h"

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

}  // namespace
}  // namespace authwatch
