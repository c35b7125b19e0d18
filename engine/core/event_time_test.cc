#include "core/event_time.h"

#include <string>

#include "gtest/gtest.h"

namespace authwatch {
namespace {

// 2026-11-02T08:15:30Z (date -u -d 2026-11-02T08:15:30Z +%s).
constexpr EventTimeMs kT = 1793607330000;

TEST(EventTimeTest, ParsesUtcWithZ) {
  EXPECT_EQ(ParseRfc3339("2026-11-02T08:15:30Z"), kT);
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339("2000-01-01T00:00:00Z"), kMinPlausibleMs);
  EXPECT_EQ(ParseRfc3339("2100-01-01T00:00:00Z"), kMaxPlausibleMs);
  EXPECT_EQ(ParseRfc3339("2026-11-02t08:15:30z"), kT) << "RFC 3339 allows lower-case t and z";
  EXPECT_EQ(ParseRfc3339("2026-11-02 08:15:30Z"), kT) << "space separator";
}

TEST(EventTimeTest, FractionalSecondsAreTruncatedToMilliseconds) {
  struct Case {
    const char* fraction;
    int64_t ms;
  };
  const Case cases[] = {
      {".1", 100},        {".12", 120},        {".123", 123},        {".1234", 123},
      {".12345", 123},    {".123456", 123},    {".1234567", 123},    {".12345678", 123},
      {".123456789", 123}, {".999999999", 999}, {".0005", 0},         {".000", 0},
      {".9", 900},
  };
  for (const auto& c : cases) {
    const std::string text = std::string("2026-11-02T08:15:30") + c.fraction + "Z";
    EXPECT_EQ(ParseRfc3339(text), kT + c.ms) << text;
  }
  EXPECT_FALSE(ParseRfc3339("2026-11-02T08:15:30.Z").has_value()) << "a dot needs digits";
}

TEST(EventTimeTest, AppliesZoneOffsets) {
  EXPECT_EQ(ParseRfc3339("2026-11-02T09:15:30+01:00"), kT);
  EXPECT_EQ(ParseRfc3339("2026-11-02T09:15:30+0100"), kT);
  EXPECT_EQ(ParseRfc3339("2026-11-02T02:45:30-05:30"), kT);
  EXPECT_EQ(ParseRfc3339("2026-11-02T02:45:30-0530"), kT);
  EXPECT_EQ(ParseRfc3339("2026-11-02T08:15:30+00:00"), kT);
  EXPECT_EQ(ParseRfc3339("2026-11-02T08:15:30-00:00"), kT);
  EXPECT_EQ(ParseRfc3339("2026-11-02T09:15:30.123456+01:00"), kT + 123);
  // Crossing midnight and a year boundary.
  EXPECT_EQ(ParseRfc3339("2027-01-01T00:30:00+01:00"), ParseRfc3339("2026-12-31T23:30:00Z"));
  EXPECT_EQ(ParseRfc3339("2026-12-31T20:00:00-05:00"), ParseRfc3339("2027-01-01T01:00:00Z"));
}

TEST(EventTimeTest, AcceptsLeapDaysOnlyInLeapYears) {
  EXPECT_EQ(ParseRfc3339("2024-02-29T12:00:00Z"), 1709208000000);
  EXPECT_EQ(ParseRfc3339("2024-03-01T00:00:00Z"), ParseRfc3339("2024-02-29T00:00:00Z").value() + 86400000);
  EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z").has_value()) << "divisible by 400";
  EXPECT_FALSE(ParseRfc3339("2023-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2100-02-29T00:00:00Z").has_value()) << "divisible by 100, not 400";
  EXPECT_FALSE(ParseRfc3339("2024-02-30T00:00:00Z").has_value());
}

TEST(EventTimeTest, LeapSecondCountsAsTheLastSecondOfItsMinute) {
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60Z"), 1483228799000);
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60Z"), ParseRfc3339("2016-12-31T23:59:59Z"));
}

TEST(EventTimeTest, RejectsInvalidDatesTimesAndZones) {
  for (const char* text : {
           "2026-02-30T00:00:00Z",       // Feb 30
           "2026-04-31T00:00:00Z",       // April has 30 days
           "2026-13-01T00:00:00Z",       // month 13
           "2026-00-10T00:00:00Z",       // month 0
           "2026-11-00T00:00:00Z",       // day 0
           "2026-11-32T00:00:00Z",       // day 32
           "2026-11-02T24:00:00Z",       // hour 24
           "2026-11-02T08:60:00Z",       // minute 60
           "2026-11-02T08:15:61Z",       // second 61
           "2026-11-02T08:15:30",        // missing zone: local time is ambiguous
           "2026-11-02T08:15:30.123",    // missing zone after a fraction
           "2026-11-02T08:15:30+01",     // offset without minutes
           "2026-11-02T08:15:30+24:00",  // offset hour 24
           "2026-11-02T08:15:30+01:60",  // offset minute 60
           "2026-11-02T08:15:30+1:00",   // one-digit offset hour
           "2026-11-02T08:15:30Zjunk",   // trailing text
           "2026-11-02T08:15:30Z ",      // trailing space
           "2026-11-02T08:15:30 UTC",    // zone name
           "2026-11-02",                 // date only
           "2026-11-2T08:15:30Z",        // one-digit day
           "2026/11/02T08:15:30Z",       // wrong separators
           "2026-11-02X08:15:30Z",       // wrong date/time separator
           "2026-11-02T08.15.30Z",       // wrong time separators
           "+2026-11-02T08:15:30Z",      // signed year
           "1762071330123",              // epoch digits are not RFC 3339
           "",
       }) {
    EXPECT_FALSE(ParseRfc3339(text).has_value()) << "'" << text << "' should not parse";
  }
}

TEST(EventTimeTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(kT + 123), "2026-11-02T08:15:30.123Z");
  EXPECT_EQ(FormatRfc3339(kT + 5), "2026-11-02T08:15:30.005Z");
  EXPECT_EQ(FormatRfc3339(1709208000000), "2024-02-29T12:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(kMinPlausibleMs - 1), "1999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(kMaxPlausibleMs), "2100-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999Z");
}

TEST(EventTimeTest, FormatThenParseRoundTrips) {
  // Steps by a prime number of milliseconds so that every field value is visited.
  for (EventTimeMs t = kMinPlausibleMs; t < kMaxPlausibleMs; t += 7919LL * 86400 * 3 + 104729) {
    const std::string text = FormatRfc3339(t);
    ASSERT_EQ(ParseRfc3339(text), t) << text;
  }
  for (const char* text : {"2024-02-29T23:59:59.999Z", "2000-01-01T00:00:00.000Z",
                           "2026-11-02T08:15:30.123Z", "2099-12-31T23:59:59.999Z"}) {
    auto t = ParseRfc3339(text);
    ASSERT_TRUE(t.has_value()) << text;
    EXPECT_EQ(FormatRfc3339(*t), text);
  }
}

TEST(EventTimeTest, DaysFromCivilCountsFromTheEpoch) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1970, 1, 2), 1);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 1, 1), 10957);
  EXPECT_EQ(DaysFromCivil(2024, 3, 1) - DaysFromCivil(2024, 2, 1), 29);
  EXPECT_EQ(DaysFromCivil(2023, 3, 1) - DaysFromCivil(2023, 2, 1), 28);
}

}  // namespace
}  // namespace authwatch
