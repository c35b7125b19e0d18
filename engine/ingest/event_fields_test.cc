#include "ingest/event_fields.h"

#include <string>

#include "gtest/gtest.h"

namespace authwatch {
namespace {

TEST(NormaliseAccountTest, TrimsAndLowercasesAsciiOnly) {
  std::string out;
  EXPECT_EQ(NormaliseAccount(" \tAlice.Smith@Mail.EXAMPLE \r\n", &out), AccountCheck::kOk);
  EXPECT_EQ(out, "alice.smith@mail.example");
  EXPECT_EQ(NormaliseAccount("\xc3\x84RGER@Mail.Example", &out), AccountCheck::kOk);  // "ÄRGER"
  EXPECT_EQ(out, "\xc3\x84rger@mail.example") << "bytes of non-ASCII letters are left as they are";
}

TEST(NormaliseAccountTest, RejectsEmptyTooLongAndControlCharacters) {
  std::string out = "previous";
  EXPECT_EQ(NormaliseAccount(" \t ", &out), AccountCheck::kEmpty);
  EXPECT_EQ(NormaliseAccount(std::string(kMaxAccountBytes + 1, 'a'), &out), AccountCheck::kTooLong);
  EXPECT_EQ(NormaliseAccount(std::string(kMaxAccountBytes, 'A'), &out), AccountCheck::kOk);
  EXPECT_EQ(out, std::string(kMaxAccountBytes, 'a'));
  EXPECT_EQ(NormaliseAccount("bob\x1f@mail.example", &out), AccountCheck::kControlChars);
  EXPECT_EQ(NormaliseAccount("bob\x7f@mail.example", &out), AccountCheck::kControlChars);
}

// The output string is reused from event to event: a shorter account leaves nothing of a longer
// one behind.
TEST(NormaliseAccountTest, ReusedOutputHoldsOnlyTheNewAccount) {
  std::string out(400, 'x');
  EXPECT_EQ(NormaliseAccount("Bob@Mail.Example", &out), AccountCheck::kOk);
  EXPECT_EQ(out, "bob@mail.example");
  EXPECT_EQ(NormaliseAccount("a", &out), AccountCheck::kOk);
  EXPECT_EQ(out, "a");
}

// A view into the output string itself: the account is normalised in place.
TEST(NormaliseAccountTest, InPlace) {
  std::string s = "  Alice@X  ";
  EXPECT_EQ(NormaliseAccount(s, &s), AccountCheck::kOk);
  EXPECT_EQ(s, "alice@x");
  s = "Bob@Mail.Example";
  EXPECT_EQ(NormaliseAccount(s, &s), AccountCheck::kOk);
  EXPECT_EQ(s, "bob@mail.example");
}

}  // namespace
}  // namespace authwatch
