#include "detect/sliding_distinct.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/stable_hash.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

constexpr int64_t kWindow = 3600000;
constexpr EventTimeMs kT = 1762077600000;

uint64_t H(int i) { return StableHash64(&i, sizeof(i)); }

TEST(SlidingDistinctTest, CountsDistinctValuesOnce) {
  SlidingDistinct d;
  for (int i = 0; i < 10; ++i) {
    d.Add(H(i), kT, kWindow);
    d.Add(H(i), kT + 1000, kWindow);
  }
  EXPECT_EQ(d.Count(kT + 1000, kWindow), 10u);
  EXPECT_TRUE(d.Contains(H(3), kT + 1000, kWindow));
  EXPECT_FALSE(d.Contains(H(11), kT + 1000, kWindow));
}

// Exact mode against a plain map of last-seen seconds: values repeat (a guesser's accounts),
// expire and return, and the set prunes itself near capacity without turning into a sketch
// (the values in any one window stay under kExactCapacity).
TEST(SlidingDistinctTest, ExactCountMatchesLastSeenMapUnderRandomUse) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 50; ++round) {
    SlidingDistinct d;
    std::map<uint32_t, int64_t> last_seen_s;  // by the 32-bit hash the set keeps
    EventTimeMs now = kT;
    for (int step = 0; step < 2000; ++step) {
      now += static_cast<EventTimeMs>(rng() % 180000);  // about 40 adds per hour
      const uint64_t h = H(static_cast<int>(rng() % 200));
      d.Add(h, now, kWindow);
      int64_t& seen = last_seen_s[static_cast<uint32_t>(h >> 32)];
      seen = std::max<int64_t>(seen, now / 1000);
      const int64_t cutoff_s = (now - kWindow) / 1000;
      const auto expected = std::count_if(last_seen_s.begin(), last_seen_s.end(),
                                          [&](const auto& e) { return e.second > cutoff_s; });
      ASSERT_FALSE(d.is_sketch()) << "round " << round << " step " << step;
      ASSERT_EQ(d.Count(now, kWindow), static_cast<uint32_t>(expected)) << "round " << round << " step " << step;
      ASSERT_TRUE(d.Contains(h, now, kWindow));
    }
  }
}

TEST(SlidingDistinctTest, ValueCountsUntilWindowAfterItWasLastSeen) {
  SlidingDistinct d;
  d.Add(H(1), kT, kWindow);
  EXPECT_EQ(d.Count(kT, kWindow), 1u);                   // t
  EXPECT_EQ(d.Count(kT + kWindow - 1000, kWindow), 1u);  // t + w - 1 s (1 s resolution)
  EXPECT_EQ(d.Count(kT + kWindow, kWindow), 0u);         // t + w
  d.Add(H(2), kT + kWindow / 2, kWindow);
  d.Add(H(1), kT + kWindow / 2, kWindow);  // seen again: lives on
  EXPECT_EQ(d.Count(kT + kWindow, kWindow), 2u);
  EXPECT_TRUE(d.Expired(kT + kWindow / 2 + kWindow, kWindow));
}

TEST(SlidingDistinctTest, BecomesSketchPastCapacityWithBoundedError) {
  SlidingDistinct d;
  constexpr int kN = 5000;
  for (int i = 0; i < kN; ++i) d.Add(H(i), kT + i, kWindow);
  EXPECT_TRUE(d.is_sketch());
  const double est = d.Count(kT + kN, kWindow);
  EXPECT_NEAR(est, kN, kN * 0.3) << "a 128-register HLL is within ~9% (3 sigma: 27%)";
}

TEST(SlidingDistinctTest, SmallCountsStayExact) {
  SlidingDistinct d;
  for (int i = 0; i < static_cast<int>(SlidingDistinct::kExactCapacity); ++i) d.Add(H(i), kT, kWindow);
  EXPECT_FALSE(d.is_sketch());
  EXPECT_EQ(d.Count(kT, kWindow), SlidingDistinct::kExactCapacity);
}

TEST(SlidingDistinctTest, SketchForgetsOldBuckets) {
  SlidingDistinct d;
  for (int i = 0; i < 1000; ++i) d.Add(H(i), kT, kWindow);
  ASSERT_TRUE(d.is_sketch());
  for (int i = 1000; i < 1010; ++i) d.Add(H(i), kT + 2 * kWindow, kWindow);
  EXPECT_NEAR(d.Count(kT + 2 * kWindow, kWindow), 10, 3);
}

TEST(SlidingDistinctTest, ExpiredEntriesMakeRoomBeforeSketching) {
  SlidingDistinct d;
  for (int i = 0; i < 60; ++i) d.Add(H(i), kT, kWindow);
  for (int i = 100; i < 160; ++i) d.Add(H(i), kT + 2 * kWindow, kWindow);
  EXPECT_FALSE(d.is_sketch());
  EXPECT_EQ(d.Count(kT + 2 * kWindow, kWindow), 60u);
}

}  // namespace
}  // namespace authwatch
