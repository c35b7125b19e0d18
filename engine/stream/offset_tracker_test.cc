#include "stream/offset_tracker.h"

#include "gtest/gtest.h"

namespace authwatch {
namespace {

using Offsets = std::vector<std::pair<int64_t, int64_t>>;

TEST(OffsetTrackerTest, MessageWithoutOutputIsCompleteWhenProcessed) {
  OffsetTracker t;
  t.Begin(0, 10);
  EXPECT_EQ(t.Committable(0), 10) << "not processed yet: commit nothing past it";
  t.Finish(0, 10);
  EXPECT_EQ(t.Committable(0), 11);
  EXPECT_EQ(t.TakeCommittable(), (Offsets{{0, 11}}));
  EXPECT_TRUE(t.TakeCommittable().empty()) << "reported once";
}

TEST(OffsetTrackerTest, WaitsForEveryDecisionToBeAcknowledged) {
  OffsetTracker t;
  t.Begin(0, 5);
  t.AddPending(0, 5);
  t.AddPending(0, 5);
  t.Finish(0, 5);
  t.Begin(0, 6);
  t.Finish(0, 6);
  EXPECT_EQ(t.Committable(0), 5) << "two decisions of offset 5 are in flight";
  t.Ack(0, 5);
  EXPECT_EQ(t.Committable(0), 5);
  t.Ack(0, 5);
  EXPECT_EQ(t.Committable(0), 7);
}

TEST(OffsetTrackerTest, OutOfOrderAcksNeverSkipAnIncompleteMessage) {
  OffsetTracker t;
  for (int64_t o = 0; o < 3; ++o) {
    t.Begin(1, o);
    t.AddPending(1, o);
    t.Finish(1, o);
  }
  t.Ack(1, 2);
  t.Ack(1, 1);
  EXPECT_EQ(t.Committable(1), 0);
  t.Ack(1, 0);
  EXPECT_EQ(t.Committable(1), 3);
  EXPECT_EQ(t.Incomplete(), 0u);
}

TEST(OffsetTrackerTest, PartitionsAreIndependentAndForgettable) {
  OffsetTracker t;
  t.Begin(0, 100);
  t.Begin(1, 7);
  t.Finish(1, 7);
  EXPECT_EQ(t.Committable(0), 100);
  EXPECT_EQ(t.Committable(1), 8);
  t.Forget(0);
  EXPECT_FALSE(t.Committable(0).has_value());
  t.Finish(0, 100);  // a late callback for a revoked partition is ignored
  EXPECT_EQ(t.Incomplete(0), 0u);
}

}  // namespace
}  // namespace authwatch
