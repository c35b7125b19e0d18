#include "emit/enriched_json.h"

#include <string>

#include "gtest/gtest.h"
#include "simdjson.h"

namespace authwatch {
namespace {

AuthEvent SampleEvent() {
  AuthEvent e;
  e.ts_ms = 1793607330123;
  e.account = "alice@mail.example";
  e.ip = IpAddress::Parse("81.2.69.142").value();
  e.result = AuthResult::kFailure;
  e.protocol = "imap";
  e.user_agent = "Thunderbird \"128\"";
  e.failure_reason = "bad_password";
  e.event_id = "evt-1";
  e.source_offset = 17;
  return e;
}

TEST(EnrichedJsonTest, WritesTheDocumentedFieldsInOrder) {
  EnrichedEvent e;
  e.event = SampleEvent();
  GeoRecord g;
  g.country_iso = "GB";
  g.city = "London";
  g.has_location = true;
  g.latitude = 51.5142;
  g.longitude = -0.0931;
  g.accuracy_radius_km = 10;
  g.asn = 20712;
  g.as_org = "Andrews & Arnold Ltd";
  e.geo = std::make_shared<const GeoRecord>(g);
  e.prefix = IpPrefix::Of(e.event.ip, 24, 64);
  std::string out;
  AppendEnrichedJson(e, &out);
  EXPECT_EQ(out,
            R"({"ts":"2026-11-02T08:15:30.123Z","account":"alice@mail.example","ip":"81.2.69.142",)"
            R"("result":"failure","protocol":"imap","user_agent":"Thunderbird \"128\"","reason":"bad_password",)"
            R"("event_id":"evt-1","source_offset":17,"geo":{"country":"GB","city":"London","lat":51.5142,)"
            R"("lon":-0.0931,"accuracy_km":10,"asn":20712,"as_org":"Andrews & Arnold Ltd"},"prefix":"81.2.69.0/24"})");
  simdjson::dom::parser parser;
  EXPECT_FALSE(parser.parse(out).error());
}

TEST(EnrichedJsonTest, OmitsEmptyOptionalFieldsAndWritesEmptyGeo) {
  EnrichedEvent e;
  e.event.ts_ms = 1793607330000;
  e.event.account = "bob";
  e.event.ip = IpAddress::Parse("2001:db8::1").value();
  e.event.result = AuthResult::kSuccess;
  e.geo = std::make_shared<const GeoRecord>();
  e.prefix = IpPrefix::Of(e.event.ip, 24, 64);
  std::string out;
  AppendEnrichedJson(e, &out);
  EXPECT_EQ(out, R"({"ts":"2026-11-02T08:15:30.000Z","account":"bob","ip":"2001:db8::1","result":"success",)"
                 R"("geo":{},"prefix":"2001:db8::/64"})");
}

TEST(EnrichedJsonTest, EventJsonIsTheEventPartAlone) {
  std::string out;
  AppendEventJson(SampleEvent(), &out);
  simdjson::dom::parser parser;
  auto doc = parser.parse(out);
  ASSERT_FALSE(doc.error()) << out;
  auto obj = doc.value_unsafe().get_object().value();
  EXPECT_EQ(std::string(obj["account"].get_string().value()), "alice@mail.example");
  EXPECT_EQ(obj["source_offset"].get_int64().value(), 17);
  EXPECT_TRUE(obj["geo"].error()) << "no geo in the event part";
}

}  // namespace
}  // namespace authwatch
