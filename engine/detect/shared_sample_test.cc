#include "detect/shared_sample.h"

#include <string_view>

#include "gtest/gtest.h"

namespace authwatch {
namespace {

SharedSample Sample(std::string_view account, std::string_view protocol) {
  return SharedSample::Make(1000, *IpAddress::Parse("198.51.100.7"), AuthResult::kFailure, account, protocol);
}

TEST(SharedSampleTest, KeepsItsOwnCopyOfTheStrings) {
  std::string account = "alice@mail.example", protocol = "imap";
  const SharedSample s = Sample(account, protocol);
  account.assign("overwritten-by-the-caller");
  protocol.assign("smtp");
  EXPECT_EQ(s->account, "alice@mail.example");
  EXPECT_EQ(s->protocol, "imap");
  EXPECT_EQ(s->ts_ms, 1000);
}

TEST(SharedSampleTest, EmptyViewsWithoutDataMakeEmptyStrings) {
  const SharedSample s = Sample(std::string_view(), std::string_view());
  EXPECT_EQ(s->account, "");
  EXPECT_EQ(s->protocol, "");
}

TEST(SharedSampleTest, SharedCopiesOutliveTheFirstAndSelfAssignmentKeepsTheSample) {
  SharedSample a = Sample("bob@mail.example", "smtp");
  SharedSample b = a;
  SharedSample& same = a;
  a = same;  // self-assignment must neither empty nor free it
  ASSERT_TRUE(a);
  EXPECT_EQ(a->account, "bob@mail.example");
  a.reset();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->account, "bob@mail.example");
}

}  // namespace
}  // namespace authwatch
