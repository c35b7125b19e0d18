#include "detect/key_state.h"

#include "gtest/gtest.h"

namespace authwatch {
namespace {

constexpr int64_t kWindowMs = 600000;
constexpr int64_t kWidthMs = SlidingCounter::BucketWidth(kWindowMs);
constexpr EventTimeMs kT0 = 1'700'000'000'000;

std::vector<Condition> Conditions(std::initializer_list<Aggregate> aggregates) {
  std::vector<Condition> when;
  for (Aggregate a : aggregates) {
    Condition c;
    c.aggregate = a;
    when.push_back(std::move(c));
  }
  return when;
}

TEST(KeyStateLayoutTest, EachAggregateGetsOnlyItsWindows) {
  const KeyStateLayout layout(
      Conditions({Aggregate::kRatio, Aggregate::kCount, Aggregate::kDistinct, Aggregate::kRatio, Aggregate::kDistinct}));
  EXPECT_EQ(layout.counters(), 5u);  // 2 + 1 + 2
  EXPECT_EQ(layout.distincts(), 2u);
  EXPECT_EQ(layout.slot(0), 0u);  // numerator 0, denominator 1
  EXPECT_EQ(layout.slot(1), 2u);
  EXPECT_EQ(layout.slot(2), 0u);  // the first set
  EXPECT_EQ(layout.slot(3), 3u);  // numerator 3, denominator 4
  EXPECT_EQ(layout.slot(4), 1u);
  EXPECT_EQ(KeyState::Bytes(layout), sizeof(KeyState) + 5 * sizeof(SlidingCounter) + 2 * sizeof(SlidingDistinct));
}

TEST(KeyStateTest, NewStateHasEmptyWindowsOfItsLayout) {
  const KeyStateLayout layout(Conditions({Aggregate::kCount, Aggregate::kDistinct, Aggregate::kRatio}));
  KeyState::Ptr st = KeyState::Make(layout);
  ASSERT_EQ(st->counters().size(), 3u);
  ASSERT_EQ(st->distincts().size(), 1u);
  EXPECT_EQ(st->Bytes(), KeyState::Bytes(layout));
  const int64_t bucket = SlidingCounter::BucketOf(kT0, kWidthMs);
  for (const SlidingCounter& c : st->counters()) EXPECT_EQ(c.CountAt(bucket), 0u);
  EXPECT_EQ(st->distincts()[0].Count(kT0, kWindowMs), 0u);
  EXPECT_TRUE(st->WindowsExpired(bucket, kT0, kWindowMs));
  EXPECT_EQ(st->counted_bucket, INT64_MIN);
  EXPECT_EQ(st->sample_count, 0);
}

// The windows lie side by side in one allocation: counting in one must not touch its
// neighbours, nor the header before them.
TEST(KeyStateTest, WindowsAreIndependent) {
  const KeyStateLayout layout(Conditions({Aggregate::kDistinct, Aggregate::kRatio, Aggregate::kDistinct}));
  KeyState::Ptr st = KeyState::Make(layout);
  const int64_t bucket = SlidingCounter::BucketOf(kT0, kWidthMs);
  st->latest_ms = kT0;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(st->counters()[0].AddAt(bucket));
  ASSERT_TRUE(st->counters()[1].AddAt(bucket));
  for (uint64_t v = 1; v <= 200; ++v) st->distincts()[1].Add(v * 0x9E3779B97F4A7C15ull, kT0, kWindowMs);  // a sketch
  st->distincts()[0].Add(42, kT0, kWindowMs);
  EXPECT_EQ(st->counters()[0].CountAt(bucket), 3u);
  EXPECT_EQ(st->counters()[1].CountAt(bucket), 1u);
  EXPECT_EQ(st->distincts()[0].Count(kT0, kWindowMs), 1u);
  EXPECT_NEAR(st->distincts()[1].Count(kT0, kWindowMs), 200.0, 40.0);
  EXPECT_EQ(st->latest_ms, kT0);
  EXPECT_FALSE(st->WindowsExpired(bucket, kT0, kWindowMs));
}

TEST(KeyStateTest, ExpiresWhenEveryWindowHas) {
  const KeyStateLayout layout(Conditions({Aggregate::kCount, Aggregate::kDistinct}));
  const int64_t bucket = SlidingCounter::BucketOf(kT0, kWidthMs);
  const EventTimeMs later = kT0 + kWindowMs + 1000;
  const int64_t later_bucket = SlidingCounter::BucketOf(later, kWidthMs);
  {
    KeyState::Ptr st = KeyState::Make(layout);
    ASSERT_TRUE(st->counters()[0].AddAt(bucket));
    EXPECT_FALSE(st->WindowsExpired(bucket, kT0, kWindowMs));
    EXPECT_TRUE(st->WindowsExpired(later_bucket, later, kWindowMs));
  }
  {
    KeyState::Ptr st = KeyState::Make(layout);  // a set alone keeps the state live
    st->distincts()[0].Add(7, kT0, kWindowMs);
    EXPECT_FALSE(st->WindowsExpired(bucket, kT0, kWindowMs));
    EXPECT_TRUE(st->WindowsExpired(later_bucket, later, kWindowMs));
  }
}

}  // namespace
}  // namespace authwatch
