#include "ingest/protobuf_decoder.h"

#include <random>
#include <string>

#include "google/protobuf/stubs/logging.h"
#include "gtest/gtest.h"
#include "ingest/event_fields.h"

namespace authwatch {
namespace {

constexpr EventTimeMs kT = 1793607330123;  // 2026-11-02T08:15:30.123Z

AuthEvent SampleEvent() {
  AuthEvent e;
  e.ts_ms = kT;
  e.account = "alice@mail.example";
  e.ip = IpAddress::Parse("198.51.100.7").value();
  e.result = AuthResult::kSuccess;
  e.protocol = "imap";
  e.user_agent = "Thunderbird/128.3";
  e.device_id = "dev-7";
  e.failure_reason = "";
  e.event_id = "evt-1";
  e.source_offset = 17;
  return e;
}

v1::AuthEvent SampleMessage() { return ToProto(SampleEvent()); }

class ProtobufDecoderTest : public ::testing::Test {
 protected:
  DecodeOutcome Decode(const v1::AuthEvent& m) { return Decode(m.SerializeAsString()); }
  DecodeOutcome Decode(std::string_view bytes) { return decoder_.Decode(bytes, &event_, &rejection_); }
  RejectReason Rejected(const v1::AuthEvent& m) {
    EXPECT_EQ(Decode(m), DecodeOutcome::kRejected) << m.ShortDebugString();
    EXPECT_FALSE(rejection_.detail.empty());
    return rejection_.reason;
  }

  ProtobufEventDecoder decoder_{65536};
  AuthEvent event_;
  Rejection rejection_;
};

TEST_F(ProtobufDecoderTest, ToProtoCarriesEveryField) {
  const v1::AuthEvent m = SampleMessage();
  EXPECT_EQ(m.ts_unix_ms(), kT);
  EXPECT_EQ(m.account(), "alice@mail.example");
  EXPECT_EQ(m.ip(), "198.51.100.7");
  EXPECT_EQ(m.result(), v1::AUTH_RESULT_SUCCESS);
  EXPECT_EQ(m.protocol(), "imap");
  EXPECT_EQ(m.user_agent(), "Thunderbird/128.3");
  EXPECT_EQ(m.device_id(), "dev-7");
  EXPECT_EQ(m.event_id(), "evt-1");
  EXPECT_EQ(m.source_offset(), 17);
}

TEST_F(ProtobufDecoderTest, RoundTripsThroughSerializedBytes) {
  for (const char* ip : {"198.51.100.7", "2001:db8::1"}) {
    for (AuthResult result : {AuthResult::kSuccess, AuthResult::kFailure}) {
      AuthEvent in = SampleEvent();
      in.ip = IpAddress::Parse(ip).value();
      in.result = result;
      in.failure_reason = result == AuthResult::kFailure ? "bad_password" : "";
      ASSERT_EQ(Decode(ToProto(in)), DecodeOutcome::kEvent) << rejection_.detail;
      EXPECT_EQ(event_.ts_ms, in.ts_ms);
      EXPECT_EQ(event_.account, in.account);
      EXPECT_EQ(event_.ip, in.ip) << ip;
      EXPECT_EQ(event_.result, in.result);
      EXPECT_EQ(event_.protocol, in.protocol);
      EXPECT_EQ(event_.user_agent, in.user_agent);
      EXPECT_EQ(event_.device_id, in.device_id);
      EXPECT_EQ(event_.failure_reason, in.failure_reason);
      EXPECT_EQ(event_.event_id, in.event_id);
    }
  }
}

TEST_F(ProtobufDecoderTest, NormalisesLikeTheJsonDecoder) {
  v1::AuthEvent m = SampleMessage();
  m.set_account("  Alice@Mail.EXAMPLE ");
  m.set_ip("::ffff:198.51.100.7");
  m.set_protocol("IMAPS");
  ASSERT_EQ(Decode(m), DecodeOutcome::kEvent) << rejection_.detail;
  EXPECT_EQ(event_.account, "alice@mail.example");
  EXPECT_EQ(event_.ip, IpAddress::Parse("198.51.100.7").value());
  EXPECT_TRUE(event_.ip.is_v4());
  EXPECT_EQ(event_.protocol, "imap");

  m.set_protocol("submission");
  m.set_ip("[2001:DB8::1]");
  ASSERT_EQ(Decode(m), DecodeOutcome::kEvent) << rejection_.detail;
  EXPECT_EQ(event_.protocol, "smtp");
  EXPECT_EQ(event_.ip.ToString(), "2001:db8::1");
}

TEST_F(ProtobufDecoderTest, RejectsMissingTime) {
  v1::AuthEvent m = SampleMessage();
  m.clear_ts_unix_ms();
  EXPECT_EQ(Rejected(m), RejectReason::kMissingField);
}

TEST_F(ProtobufDecoderTest, RejectsImplausibleTime) {
  v1::AuthEvent m = SampleMessage();
  m.set_ts_unix_ms(kT / 1000);  // seconds where milliseconds belong
  EXPECT_EQ(Rejected(m), RejectReason::kBadTime);
  m.set_ts_unix_ms(-1);
  EXPECT_EQ(Rejected(m), RejectReason::kBadTime);
}

TEST_F(ProtobufDecoderTest, RejectsMissingOrBadAccount) {
  v1::AuthEvent m = SampleMessage();
  m.clear_account();
  EXPECT_EQ(Rejected(m), RejectReason::kMissingField);
  m.set_account("   ");
  EXPECT_EQ(Rejected(m), RejectReason::kMissingField);
  m.set_account("ali\x01" "ce");
  EXPECT_EQ(Rejected(m), RejectReason::kBadAccount);
  m.set_account(std::string(kMaxAccountBytes + 1, 'a'));
  EXPECT_EQ(Rejected(m), RejectReason::kBadAccount);
}

TEST_F(ProtobufDecoderTest, RejectsMissingOrBadIp) {
  v1::AuthEvent m = SampleMessage();
  m.clear_ip();
  EXPECT_EQ(Rejected(m), RejectReason::kMissingField);
  for (const std::string& ip : {std::string("999.1.1.1"), std::string("1.2.3"), std::string("host.example"),
                                std::string("198.51.100.7 "), std::string("198.51.100.7\0junk", 17)}) {
    m.set_ip(ip);
    EXPECT_EQ(Rejected(m), RejectReason::kBadIp) << ip;
  }
  m.set_ip("999.1.1.1");
  Rejected(m);
  EXPECT_NE(rejection_.detail.find("999.1.1.1"), std::string::npos) << rejection_.detail;
}

TEST_F(ProtobufDecoderTest, RejectsUnspecifiedOrUnknownResult) {
  v1::AuthEvent m = SampleMessage();
  m.set_result(v1::AUTH_RESULT_UNSPECIFIED);
  EXPECT_EQ(Rejected(m), RejectReason::kMissingField);
  m.set_result(static_cast<v1::AuthResult>(7));  // a value from a newer schema
  EXPECT_EQ(Rejected(m), RejectReason::kBadResult);
}

TEST_F(ProtobufDecoderTest, RejectsGarbageAsBadProtobuf) {
  for (const std::string& bytes : {std::string("not a protobuf"), std::string("\xff\xff\xff\xff\xff", 5),
                                   std::string("\x0a\xff\xff\xff\x0f", 5),  // length beyond the record
                                   std::string("\x1a\x05" "ab", 4)}) {     // ip truncated
    EXPECT_EQ(Decode(bytes), DecodeOutcome::kRejected);
    EXPECT_EQ(rejection_.reason, RejectReason::kBadProtobuf);
  }
}

TEST_F(ProtobufDecoderTest, RejectsInvalidUtf8InStringFields) {
  google::protobuf::LogSilencer quiet;
  // Serialize with the bytes as they would arrive from a non-conforming producer.
  std::string bytes;
  {
    v1::AuthEvent clean = SampleMessage();
    clean.clear_account();
    bytes = clean.SerializeAsString();
    bytes += std::string("\x12\x06" "al\xff" "ice", 8);  // field 2 (account), length 6
  }
  EXPECT_EQ(Decode(bytes), DecodeOutcome::kRejected);
  EXPECT_EQ(rejection_.reason, RejectReason::kBadProtobuf);
}

TEST_F(ProtobufDecoderTest, RejectsOversize) {
  ProtobufEventDecoder small(64);
  v1::AuthEvent m = SampleMessage();
  m.set_user_agent(std::string(200, 'u'));
  EXPECT_EQ(small.Decode(m.SerializeAsString(), &event_, &rejection_), DecodeOutcome::kRejected);
  EXPECT_EQ(rejection_.reason, RejectReason::kOversize);
}

TEST_F(ProtobufDecoderTest, ClipsFreeTextToItsLimit) {
  v1::AuthEvent m = SampleMessage();
  m.set_user_agent(std::string(2000, 'u'));
  m.set_protocol("averyveryverylongprotocolname");
  ASSERT_EQ(Decode(m), DecodeOutcome::kEvent);
  EXPECT_EQ(event_.user_agent.size(), kMaxFreeTextBytes);
  EXPECT_LE(event_.protocol.size(), kMaxProtocolBytes);
}

TEST_F(ProtobufDecoderTest, RandomBytesNeverCrash) {
  google::protobuf::LogSilencer quiet;  // protobuf logs each invalid UTF-8 string it meets
  std::mt19937 rng(7);
  const std::string valid = SampleMessage().SerializeAsString();
  for (int i = 0; i < 3000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 200);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {  // a valid message with a few bytes flipped
      bytes = valid;
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    const DecodeOutcome outcome = Decode(bytes);
    EXPECT_NE(outcome, DecodeOutcome::kSkipped);
    if (outcome == DecodeOutcome::kEvent) {
      EXPECT_FALSE(event_.account.empty());
      EXPECT_GE(event_.ts_ms, kMinPlausibleMs);
    }
  }
  // Every truncation of a valid message is either rejected or (when the cut falls between
  // fields after the required ones) a valid event.
  for (size_t n = 0; n < valid.size(); ++n) {
    const std::string prefix = valid.substr(0, n);
    const DecodeOutcome outcome = Decode(prefix);
    EXPECT_NE(outcome, DecodeOutcome::kSkipped);
  }
}

}  // namespace
}  // namespace authwatch
