#include "ingest/json_decoder.h"

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "ingest/event_fields.h"

namespace authwatch {
namespace {

constexpr size_t kLimit = 65536;
constexpr EventTimeMs kT = 1793607330123;  // 2026-11-02T08:15:30.123Z

IpAddress Ip(std::string_view text) { return IpAddress::Parse(text).value(); }

class JsonDecoderTest : public ::testing::Test {
 protected:
  DecodeOutcome Decode(std::string_view record) { return decoder_.Decode(record, &event_, &rejection_); }

  // Decodes a record that must be rejected and returns the reason.
  RejectReason Rejected(std::string_view record) {
    const DecodeOutcome outcome = Decode(record);
    EXPECT_EQ(outcome, DecodeOutcome::kRejected) << record;
    EXPECT_FALSE(rejection_.detail.empty()) << record;
    return rejection_.reason;
  }

  JsonEventDecoder decoder_{FieldMapping::Canonical(), kLimit};
  AuthEvent event_;
  Rejection rejection_;
};

// A valid canonical record with one field replaced (or removed when `value` is empty).
std::string Record(std::string_view field = "", std::string_view value = "") {
  struct F {
    std::string_view key, json;
  };
  const F fields[] = {{"ts", R"("2026-11-02T08:15:30.123Z")"},
                      {"account", R"("alice@mail.example")"},
                      {"ip", R"("198.51.100.7")"},
                      {"result", R"("failure")"}};
  std::string out = "{";
  for (const auto& f : fields) {
    std::string_view json = f.json;
    if (f.key == field) {
      if (value.empty()) continue;
      json = value;
    }
    if (out.size() > 1) out += ",";
    // Appended piecewise: GCC 12 at -O3 warns falsely (-Wrestrict) on chained operator+.
    out.append("\"").append(f.key).append("\":").append(json);
  }
  return out + "}";
}

TEST_F(JsonDecoderTest, DecodesEveryFieldOfACanonicalEvent) {
  ASSERT_EQ(Decode(R"({"ts":"2026-11-02T08:15:30.123Z","account":"alice@mail.example",)"
                   R"("ip":"198.51.100.7","result":"success","protocol":"imap",)"
                   R"("user_agent":"Thunderbird/128.3","device_id":"dev-7","reason":"bad_password",)"
                   R"("event_id":"evt-0001"})"),
            DecodeOutcome::kEvent)
      << rejection_.detail;
  EXPECT_EQ(event_.ts_ms, kT);
  EXPECT_EQ(event_.account, "alice@mail.example");
  EXPECT_EQ(event_.ip, Ip("198.51.100.7"));
  EXPECT_EQ(event_.result, AuthResult::kSuccess);
  EXPECT_EQ(event_.protocol, "imap");
  EXPECT_EQ(event_.user_agent, "Thunderbird/128.3");
  EXPECT_EQ(event_.device_id, "dev-7");
  EXPECT_EQ(event_.failure_reason, "bad_password");
  EXPECT_EQ(event_.event_id, "evt-0001");
  EXPECT_EQ(event_.source_offset, -1) << "the decoder does not know where the record came from";
}

TEST_F(JsonDecoderTest, OptionalFieldsMayBeAbsent) {
  ASSERT_EQ(Decode(Record()), DecodeOutcome::kEvent) << rejection_.detail;
  EXPECT_EQ(event_.result, AuthResult::kFailure);
  EXPECT_EQ(event_.protocol, "");
  EXPECT_EQ(event_.user_agent, "");
  EXPECT_EQ(event_.event_id, "");
}

TEST_F(JsonDecoderTest, ReusedDecoderDoesNotCarryFieldsOver) {
  ASSERT_EQ(Decode(R"({"ts":1793607330123,"account":"a","ip":"198.51.100.7","result":"ok",)"
                   R"("protocol":"imap","user_agent":"UA","event_id":"e1"})"),
            DecodeOutcome::kEvent);
  ASSERT_EQ(Decode(Record()), DecodeOutcome::kEvent);
  EXPECT_EQ(event_.protocol, "");
  EXPECT_EQ(event_.user_agent, "");
  EXPECT_EQ(event_.event_id, "");
  EXPECT_EQ(event_.account, "alice@mail.example");
}

TEST_F(JsonDecoderTest, TimeAsEpochMillisecondsNumberOrDigitString) {
  ASSERT_EQ(Decode(Record("ts", "1793607330123")), DecodeOutcome::kEvent) << rejection_.detail;
  EXPECT_EQ(event_.ts_ms, kT);
  ASSERT_EQ(Decode(Record("ts", R"("1793607330123")")), DecodeOutcome::kEvent) << rejection_.detail;
  EXPECT_EQ(event_.ts_ms, kT);
  ASSERT_EQ(Decode(Record("ts", R"("2026-11-02T09:15:30.123+01:00")")), DecodeOutcome::kEvent);
  EXPECT_EQ(event_.ts_ms, kT);
}

TEST_F(JsonDecoderTest, EpochSecondsWhenTheMappingSaysSo) {
  FieldMapping m = FieldMapping::Canonical();
  m.ts_format = TimeFormat::kEpochS;
  JsonEventDecoder d(m, kLimit);
  ASSERT_EQ(d.Decode(Record("ts", "1793607330"), &event_, &rejection_), DecodeOutcome::kEvent);
  EXPECT_EQ(event_.ts_ms, 1793607330000);
  ASSERT_EQ(d.Decode(Record("ts", R"("1793607330")"), &event_, &rejection_), DecodeOutcome::kEvent);
  EXPECT_EQ(event_.ts_ms, 1793607330000);
}

TEST_F(JsonDecoderTest, Rfc3339MappingRejectsNumbers) {
  FieldMapping m = FieldMapping::Canonical();
  m.ts_format = TimeFormat::kRfc3339;
  JsonEventDecoder d(m, kLimit);
  EXPECT_EQ(d.Decode(Record("ts", "1793607330123"), &event_, &rejection_), DecodeOutcome::kRejected);
  EXPECT_EQ(rejection_.reason, RejectReason::kBadTime);
  EXPECT_EQ(d.Decode(Record("ts", R"("1793607330123")"), &event_, &rejection_), DecodeOutcome::kRejected);
  EXPECT_EQ(rejection_.reason, RejectReason::kBadTime);
}

TEST_F(JsonDecoderTest, NormalisesIpv6AndIpv4MappedAddresses) {
  ASSERT_EQ(Decode(Record("ip", R"("2001:DB8:0:0:0:0:0:1")")), DecodeOutcome::kEvent);
  EXPECT_EQ(event_.ip.ToString(), "2001:db8::1");
  ASSERT_EQ(Decode(Record("ip", R"("::ffff:198.51.100.7")")), DecodeOutcome::kEvent);
  EXPECT_EQ(event_.ip, Ip("198.51.100.7"));
  EXPECT_TRUE(event_.ip.is_v4());
  ASSERT_EQ(Decode(Record("ip", R"("[2001:db8::1]")")), DecodeOutcome::kEvent) << "bracketed form";
  EXPECT_EQ(event_.ip, Ip("2001:db8::1"));
}

TEST_F(JsonDecoderTest, AccountIsTrimmedAndLowerCased) {
  ASSERT_EQ(Decode(Record("account", R"("  Alice@Mail.EXAMPLE\t")")), DecodeOutcome::kEvent);
  EXPECT_EQ(event_.account, "alice@mail.example");
  ASSERT_EQ(Decode(Record("account", R"("Ÿves@Mail.example")")), DecodeOutcome::kEvent);
  EXPECT_EQ(event_.account, "Ÿves@mail.example") << "only ASCII letters are folded";
}

TEST_F(JsonDecoderTest, ProtocolAliasesAreNormalised) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {{"IMAPS", "imap"},   {"imap", "imap"},   {"submission", "smtp"},
                        {"SMTPS", "smtp"},   {"esmtpa", "smtp"}, {"pop3s", "pop3"},
                        {"POP", "pop3"},     {"https", "web"},   {"webmail", "web"},
                        {"sshd", "ssh"},     {"Custom", "custom"}};
  for (const auto& c : cases) {
    const std::string record = R"({"ts":1793607330123,"account":"a","ip":"198.51.100.7","result":"ok","protocol":")" +
                               std::string(c.in) + "\"}";
    ASSERT_EQ(Decode(record), DecodeOutcome::kEvent) << record;
    EXPECT_EQ(event_.protocol, c.out) << c.in;
  }
}

TEST_F(JsonDecoderTest, ResultValuesAreCaseInsensitiveAndBooleansWork) {
  for (const char* v : {R"("success")", R"("SUCCESS")", R"("ok")", R"("Succeeded")", "true"}) {
    ASSERT_EQ(Decode(Record("result", v)), DecodeOutcome::kEvent) << v;
    EXPECT_EQ(event_.result, AuthResult::kSuccess) << v;
  }
  for (const char* v : {R"("failure")", R"("FAIL")", R"("failed")", "false"}) {
    ASSERT_EQ(Decode(Record("result", v)), DecodeOutcome::kEvent) << v;
    EXPECT_EQ(event_.result, AuthResult::kFailure) << v;
  }
}

TEST_F(JsonDecoderTest, UnknownFieldsAreIgnored) {
  ASSERT_EQ(Decode(R"({"schema":3,"ts":"2026-11-02T08:15:30.123Z","nested":{"a":[1,{"b":null}]},)"
                   R"("account":"alice@mail.example","ip":"198.51.100.7","result":"success",)"
                   R"("extra":null,"tags":["x","y"],"score":0.5})"),
            DecodeOutcome::kEvent)
      << rejection_.detail;
  EXPECT_EQ(event_.account, "alice@mail.example");
}

TEST_F(JsonDecoderTest, NumericOptionalFieldsAreKeptAsText) {
  ASSERT_EQ(Decode(R"({"ts":1793607330123,"account":"a","ip":"198.51.100.7","result":"ok","event_id":12345})"),
            DecodeOutcome::kEvent);
  EXPECT_EQ(event_.event_id, "12345");
}

TEST_F(JsonDecoderTest, FreeTextIsCutToItsLimit) {
  const std::string ua(2000, 'u');
  ASSERT_EQ(Decode(R"({"ts":1793607330123,"account":"a","ip":"198.51.100.7","result":"ok","user_agent":")" + ua +
                   "\"}"),
            DecodeOutcome::kEvent);
  EXPECT_EQ(event_.user_agent, ua.substr(0, kMaxFreeTextBytes));
}

TEST_F(JsonDecoderTest, RejectsInvalidJson) {
  for (const char* record : {"{", "not json", R"({"ts":1,})", "", "   ", R"({"a":1} {"b":2})",
                             R"({"a":1}x)", R"({'ts':1})"}) {
    EXPECT_EQ(Rejected(record), RejectReason::kInvalidJson) << "'" << record << "'";
  }
}

TEST_F(JsonDecoderTest, RejectsJsonThatIsNotAnObject) {
  for (const char* record : {"[1,2]", "42", R"("text")", "null", "true"}) {
    EXPECT_EQ(Rejected(record), RejectReason::kInvalidJson) << record;
  }
}

TEST_F(JsonDecoderTest, RejectsInvalidUtf8) {
  EXPECT_EQ(Rejected(Record("account", "\"al\xff" "ice\"")), RejectReason::kInvalidUtf8);
  EXPECT_EQ(Rejected(Record("account", "\"\xc3\x28\"")), RejectReason::kInvalidUtf8);
  EXPECT_EQ(Rejected(Record("account", "\"\xed\xa0\x80\"")), RejectReason::kInvalidUtf8) << "surrogate";
  EXPECT_EQ(Rejected("{\"ts\":1793607330123,\"x\":\"\xfe\xff\"}"), RejectReason::kInvalidUtf8);
}

TEST_F(JsonDecoderTest, RejectsOversizeRecordsBeforeParsing) {
  JsonEventDecoder small(FieldMapping::Canonical(), 256);
  std::string account(302, 'a');
  account.front() = account.back() = '"';
  std::string record = Record("account", account);
  ASSERT_GT(record.size(), 256u);
  EXPECT_EQ(small.Decode(record, &event_, &rejection_), DecodeOutcome::kRejected);
  EXPECT_EQ(rejection_.reason, RejectReason::kOversize);
  EXPECT_NE(rejection_.detail.find(std::to_string(record.size())), std::string::npos) << rejection_.detail;
  EXPECT_NE(rejection_.detail.find("256"), std::string::npos) << rejection_.detail;

  // Even garbage is oversize first: nothing is parsed.
  EXPECT_EQ(small.Decode(std::string(1000, '\xff'), &event_, &rejection_), DecodeOutcome::kRejected);
  EXPECT_EQ(rejection_.reason, RejectReason::kOversize);

  // A record of exactly the limit is accepted.
  std::string exact = Record();
  exact.insert(1, "\"pad\":\"\",");
  exact.insert(8, std::string(256 - exact.size(), 'p'));
  ASSERT_EQ(exact.size(), 256u);
  EXPECT_EQ(small.Decode(exact, &event_, &rejection_), DecodeOutcome::kEvent) << exact << rejection_.detail;
}

TEST_F(JsonDecoderTest, RejectsEachMissingRequiredField) {
  for (const char* field : {"ts", "account", "ip", "result"}) {
    EXPECT_EQ(Rejected(Record(field)), RejectReason::kMissingField) << field;
    EXPECT_NE(rejection_.detail.find(std::string("/") + field), std::string::npos)
        << "detail names the field: " << rejection_.detail;
  }
}

TEST_F(JsonDecoderTest, JsonNullCountsAsMissing) {
  for (const char* field : {"ts", "account", "ip", "result"}) {
    EXPECT_EQ(Rejected(Record(field, "null")), RejectReason::kMissingField) << field;
  }
}

TEST_F(JsonDecoderTest, EmptyRequiredFieldCountsAsMissing) {
  // RejectReason::kMissingField: "a required field is absent or empty" (and the protobuf decoder,
  // where proto3 cannot tell empty from absent, says missing_field for these too).
  for (const char* field : {"ts", "account", "ip", "result"}) {
    EXPECT_EQ(Rejected(Record(field, R"("")")), RejectReason::kMissingField) << field;
  }
  EXPECT_EQ(Rejected(Record("account", R"("   ")")), RejectReason::kMissingField);
}

TEST_F(JsonDecoderTest, RejectsWrongTypes) {
  EXPECT_EQ(Rejected(Record("account", R"({"name":"alice"})")), RejectReason::kWrongType);
  EXPECT_EQ(Rejected(Record("account", "42")), RejectReason::kWrongType);
  EXPECT_EQ(Rejected(Record("ip", "3325256711")), RejectReason::kWrongType);
  EXPECT_EQ(Rejected(Record("ip", R"(["198.51.100.7"])")), RejectReason::kWrongType);
  EXPECT_EQ(Rejected(Record("result", R"(["success"])")), RejectReason::kWrongType);
  EXPECT_EQ(Rejected(R"({"ts":1793607330123,"account":"a","ip":"198.51.100.7","result":"ok","protocol":{"x":1}})"),
            RejectReason::kWrongType);
  EXPECT_NE(rejection_.detail.find("/protocol"), std::string::npos) << rejection_.detail;
}

TEST_F(JsonDecoderTest, RejectsBadIp) {
  for (const char* ip : {R"("999.1.1.1")", R"("1.2.3")", R"("not-an-ip")", R"("198.51.100.7:443")",
                         R"("198.51.100.7 ")", R"("198.51.100.7\u0000junk")"}) {
    EXPECT_EQ(Rejected(Record("ip", ip)), RejectReason::kBadIp) << ip;
  }
  Rejected(Record("ip", R"("999.1.1.1")"));
  EXPECT_NE(rejection_.detail.find("999.1.1.1"), std::string::npos) << rejection_.detail;
}

TEST_F(JsonDecoderTest, RejectsBadTime) {
  EXPECT_EQ(Rejected(Record("ts", R"("2026-13-02T08:15:30Z")")), RejectReason::kBadTime) << "month 13";
  EXPECT_EQ(Rejected(Record("ts", R"("2026-11-02T08:15:30")")), RejectReason::kBadTime) << "no zone";
  EXPECT_EQ(Rejected(Record("ts", R"("yesterday")")), RejectReason::kBadTime);
  EXPECT_EQ(Rejected(Record("ts", "true")), RejectReason::kBadTime);
  EXPECT_EQ(Rejected(Record("ts", R"("1999-12-31T23:59:59Z")")), RejectReason::kBadTime) << "before 2000";
  EXPECT_EQ(Rejected(Record("ts", "-1793607330123")), RejectReason::kBadTime);

  // Epoch seconds where milliseconds are expected: January 1970, out of range, not guessed.
  EXPECT_EQ(Rejected(Record("ts", "1793607330")), RejectReason::kBadTime);
  EXPECT_NE(rejection_.detail.find("out of range"), std::string::npos) << rejection_.detail;
  EXPECT_EQ(Rejected(Record("ts", R"("1793607330")")), RejectReason::kBadTime);
  // Microseconds are out of range the other way.
  EXPECT_EQ(Rejected(Record("ts", "1793607330123000")), RejectReason::kBadTime);
}

TEST_F(JsonDecoderTest, RejectsUnknownResult) {
  for (const char* v : {R"("maybe")", R"("succes")", R"("LOGIN")", "1"}) {
    EXPECT_EQ(Rejected(Record("result", v)), RejectReason::kBadResult) << v;
  }
  Rejected(Record("result", R"("maybe")"));
  EXPECT_NE(rejection_.detail.find("maybe"), std::string::npos) << rejection_.detail;
}

TEST_F(JsonDecoderTest, RejectsBadAccount) {
  EXPECT_EQ(Rejected(Record("account", R"("ali\u0001ce")")), RejectReason::kBadAccount);
  EXPECT_EQ(Rejected(Record("account", R"("alice\u0000@mail.example")")), RejectReason::kBadAccount);
  EXPECT_EQ(Rejected(Record("account", R"("ali\nce")")), RejectReason::kBadAccount);
  EXPECT_EQ(Rejected(Record("account", R"("ali\u007fce")")), RejectReason::kBadAccount);
  EXPECT_EQ(Rejected(Record("account", "\"" + std::string(kMaxAccountBytes + 1, 'a') + "\"")),
            RejectReason::kBadAccount);
  ASSERT_EQ(Decode(Record("account", "\"" + std::string(kMaxAccountBytes, 'a') + "\"")), DecodeOutcome::kEvent);
}

TEST_F(JsonDecoderTest, BinaryGarbageIsRejectedNeverCrashes) {
  std::mt19937 rng(20261102);
  for (int i = 0; i < 3000; ++i) {
    std::string record(rng() % 400, '\0');
    for (char& c : record) c = static_cast<char>(rng());
    if (i % 3 == 0 && !record.empty()) record[0] = '{';
    EXPECT_EQ(Decode(record), DecodeOutcome::kRejected) << "record " << i;
  }
  EXPECT_EQ(Decode(std::string(64, '\0')), DecodeOutcome::kRejected);
  EXPECT_EQ(Decode(std::string("{\0}", 3)), DecodeOutcome::kRejected);
  EXPECT_EQ(Decode(Record() + std::string(1, '\0')), DecodeOutcome::kRejected) << "NUL after the object";
  EXPECT_EQ(Decode(std::string("{\"ts\"\0:1}", 9)), DecodeOutcome::kRejected);
}

TEST_F(JsonDecoderTest, EveryTruncationOfAValidRecordIsRejected) {
  const std::string full =
      R"({"ts":"2026-11-02T08:15:30.123Z","account":"alice@mail.example","ip":"2001:db8::1",)"
      R"("result":"success","protocol":"imap","user_agent":"Ÿ UA","event_id":"e"})";
  ASSERT_EQ(Decode(full), DecodeOutcome::kEvent);
  for (size_t n = 0; n < full.size(); ++n) {
    // Copy so that ASan sees a read past the prefix.
    const std::string prefix = full.substr(0, n);
    EXPECT_EQ(Decode(prefix), DecodeOutcome::kRejected) << prefix;
  }
}

}  // namespace
}  // namespace authwatch
