#include "core/stable_hash.h"

#include "core/ip_address.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

// State keys are these hashes, and snapshots persist them: a changed value would orphan every
// user's durable state on upgrade. The values are those of the first release with snapshots.
TEST(StableHashTest, ValuesThatSnapshotsPersistNeverChange) {
  EXPECT_EQ(StableHash64("alice@mail.example", 1), 198367012849983736ULL);
  EXPECT_EQ(IpAddress::Parse("198.51.100.7")->StableHash(), 12567342761264303322ULL);
  EXPECT_EQ(IpAddress::Parse("2001:db8::1")->StableHash(), 2408786321526754391ULL);
}

}  // namespace
}  // namespace authwatch
