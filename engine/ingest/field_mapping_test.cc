#include "ingest/field_mapping.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/json_decoder.h"

namespace authwatch {
namespace {

using ::testing::HasSubstr;

// Equivalents of deploy/mappings/*.yaml, used when the shipped files are absent.
constexpr const char kKeycloakYaml[] = R"(name: keycloak
fields:
  ts: /time
  account: /details/username
  ip: /ipAddress
  result: /type
  reason: /error
  event_id: /id
  device_id: /sessionId
ts_format: epoch_ms
protocol: web
success_values: [LOGIN]
failure_values: [LOGIN_ERROR]
only_when:
  /type: [LOGIN, LOGIN_ERROR]
)";

constexpr const char kOktaYaml[] = R"(name: okta
fields:
  ts: /published
  account: /actor/alternateId
  ip: /client/ipAddress
  result: /outcome/result
  reason: /outcome/reason
  user_agent: /client/userAgent/rawUserAgent
  event_id: /uuid
ts_format: rfc3339
protocol: web
success_values: [SUCCESS, ALLOW]
failure_values: [FAILURE, DENY]
only_when:
  /eventType: [user.session.start]
)";

// The shipped mapping if it exists (that is what users deploy), else the inline equivalent.
FieldMapping ShippedOrInline(const std::string& name, const char* inline_yaml) {
  const std::string path = std::string(AUTHWATCH_SOURCE_DIR) + "/deploy/mappings/" + name + ".yaml";
  absl::StatusOr<FieldMapping> m = std::filesystem::exists(path)
                                       ? LoadFieldMapping(path)
                                       : ParseFieldMapping(inline_yaml, name + ".yaml (inline)");
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *m : FieldMapping{};
}

IpAddress Ip(std::string_view text) { return IpAddress::Parse(text).value(); }

class ProducerMappingTest : public ::testing::Test {
 protected:
  DecodeOutcome Decode(JsonEventDecoder& d, std::string_view record) {
    return d.Decode(record, &event_, &rejection_);
  }
  AuthEvent event_;
  Rejection rejection_;
};

TEST_F(ProducerMappingTest, KeycloakLoginDecodesToASuccess) {
  JsonEventDecoder d(ShippedOrInline("keycloak", kKeycloakYaml), 65536);
  ASSERT_EQ(Decode(d, R"({"id":"3c7a1f1e-5b0f-4a55-9d2c-6f1e2b9a0c11","time":1762071330123,"type":"LOGIN",)"
                      R"("realmId":"mail","clientId":"webmail","userId":"8f0e1a2b-0000-4c3d-9e8f-123456789abc",)"
                      R"("sessionId":"s-77","ipAddress":"203.0.113.7",)"
                      R"("details":{"username":"Alice","auth_method":"openid-connect","redirect_uri":"https://mail.example/"}})"),
            DecodeOutcome::kEvent)
      << rejection_.detail;
  EXPECT_EQ(event_.ts_ms, 1762071330123);  // 2025-11-02T08:15:30.123Z
  EXPECT_EQ(event_.account, "alice");
  EXPECT_EQ(event_.ip, Ip("203.0.113.7"));
  EXPECT_EQ(event_.result, AuthResult::kSuccess);
  EXPECT_EQ(event_.protocol, "web");
  EXPECT_EQ(event_.event_id, "3c7a1f1e-5b0f-4a55-9d2c-6f1e2b9a0c11");
  EXPECT_EQ(event_.failure_reason, "");
}

TEST_F(ProducerMappingTest, KeycloakLoginErrorDecodesToAFailureWithItsReason) {
  JsonEventDecoder d(ShippedOrInline("keycloak", kKeycloakYaml), 65536);
  ASSERT_EQ(Decode(d, R"({"id":"e-2","time":1762071331000,"type":"LOGIN_ERROR","realmId":"mail",)"
                      R"("clientId":"webmail","userId":null,"ipAddress":"2001:db8:1::42",)"
                      R"("error":"invalid_user_credentials",)"
                      R"("details":{"username":"bob@mail.example","auth_method":"openid-connect"}})"),
            DecodeOutcome::kEvent)
      << rejection_.detail;
  EXPECT_EQ(event_.ts_ms, 1762071331000);
  EXPECT_EQ(event_.account, "bob@mail.example");
  EXPECT_EQ(event_.ip, Ip("2001:db8:1::42"));
  EXPECT_EQ(event_.result, AuthResult::kFailure);
  EXPECT_EQ(event_.failure_reason, "invalid_user_credentials");
  EXPECT_EQ(event_.protocol, "web");
}

TEST_F(ProducerMappingTest, KeycloakNonLoginEventsAreSkipped) {
  JsonEventDecoder d(ShippedOrInline("keycloak", kKeycloakYaml), 65536);
  for (const char* type : {"LOGOUT", "CODE_TO_TOKEN", "REFRESH_TOKEN"}) {
    const std::string record = std::string(R"({"id":"e-3","time":1762071332000,"type":")") + type +
                               R"(","realmId":"mail","ipAddress":"203.0.113.7","details":{"username":"alice"}})";
    EXPECT_EQ(Decode(d, record), DecodeOutcome::kSkipped) << type;
  }
  EXPECT_EQ(Decode(d, R"({"id":"e-4","time":1762071332000,"realmId":"mail"})"), DecodeOutcome::kSkipped)
      << "no type at all";
}

TEST_F(ProducerMappingTest, KeycloakLoginWithoutUsernameIsRejectedNotSkipped) {
  JsonEventDecoder d(ShippedOrInline("keycloak", kKeycloakYaml), 65536);
  EXPECT_EQ(Decode(d, R"({"id":"e-5","time":1762071330123,"type":"LOGIN_ERROR","ipAddress":"203.0.113.7","details":{}})"),
            DecodeOutcome::kRejected);
  EXPECT_EQ(rejection_.reason, RejectReason::kMissingField);
  EXPECT_THAT(rejection_.detail, HasSubstr("/details/username"));
}

TEST_F(ProducerMappingTest, OktaSessionStartSuccess) {
  JsonEventDecoder d(ShippedOrInline("okta", kOktaYaml), 65536);
  ASSERT_EQ(Decode(d, R"({"uuid":"1f2e3d4c-aaaa-11f0-bbbb-0123456789ab","published":"2026-11-02T08:15:30.123Z",)"
                      R"("eventType":"user.session.start","version":"0","severity":"INFO",)"
                      R"("displayMessage":"User login to Okta",)"
                      R"("actor":{"id":"00u1","type":"User","alternateId":"Alice@Example.com","displayName":"Alice"},)"
                      R"j("client":{"userAgent":{"rawUserAgent":"Mozilla/5.0 (X11; Linux x86_64)","os":"Linux",)j"
                      R"("browser":"FIREFOX"},"zone":"null","device":"Computer","ipAddress":"198.51.100.23"},)"
                      R"("outcome":{"result":"SUCCESS","reason":null},"target":null})"),
            DecodeOutcome::kEvent)
      << rejection_.detail;
  EXPECT_EQ(event_.ts_ms, 1793607330123);
  EXPECT_EQ(event_.account, "alice@example.com");
  EXPECT_EQ(event_.ip, Ip("198.51.100.23"));
  EXPECT_EQ(event_.result, AuthResult::kSuccess);
  EXPECT_EQ(event_.user_agent, "Mozilla/5.0 (X11; Linux x86_64)");
  EXPECT_EQ(event_.event_id, "1f2e3d4c-aaaa-11f0-bbbb-0123456789ab");
  EXPECT_EQ(event_.protocol, "web");
  EXPECT_EQ(event_.failure_reason, "") << "a JSON null reason is absent";
}

TEST_F(ProducerMappingTest, OktaSessionStartFailureWithReason) {
  JsonEventDecoder d(ShippedOrInline("okta", kOktaYaml), 65536);
  ASSERT_EQ(Decode(d, R"({"uuid":"u-2","published":"2026-11-02T09:15:30.123+01:00","eventType":"user.session.start",)"
                      R"("actor":{"alternateId":"bob@example.com"},)"
                      R"("client":{"ipAddress":"::ffff:198.51.100.24","userAgent":{"rawUserAgent":"curl/8.5"}},)"
                      R"("outcome":{"result":"FAILURE","reason":"INVALID_CREDENTIALS"}})"),
            DecodeOutcome::kEvent)
      << rejection_.detail;
  EXPECT_EQ(event_.ts_ms, 1793607330123);
  EXPECT_EQ(event_.account, "bob@example.com");
  EXPECT_EQ(event_.ip, Ip("198.51.100.24"));
  EXPECT_EQ(event_.result, AuthResult::kFailure);
  EXPECT_EQ(event_.failure_reason, "INVALID_CREDENTIALS");
}

TEST_F(ProducerMappingTest, OktaOtherEventTypesAreSkipped) {
  JsonEventDecoder d(ShippedOrInline("okta", kOktaYaml), 65536);
  EXPECT_EQ(Decode(d, R"({"uuid":"u-3","published":"2026-11-02T08:15:30.123Z","eventType":"user.account.update_password",)"
                      R"("actor":{"alternateId":"alice@example.com"},"client":{"ipAddress":"198.51.100.23"},)"
                      R"("outcome":{"result":"SUCCESS"}})"),
            DecodeOutcome::kSkipped);
}

TEST_F(ProducerMappingTest, OktaEpochNumberIsABadTime) {
  JsonEventDecoder d(ShippedOrInline("okta", kOktaYaml), 65536);
  EXPECT_EQ(Decode(d, R"({"uuid":"u-4","published":1793607330123,"eventType":"user.session.start",)"
                      R"("actor":{"alternateId":"alice@example.com"},"client":{"ipAddress":"198.51.100.23"},)"
                      R"("outcome":{"result":"SUCCESS"}})"),
            DecodeOutcome::kRejected);
  EXPECT_EQ(rejection_.reason, RejectReason::kBadTime);
}

TEST(FieldMappingTest, ShippedMappingsLoad) {
  for (const char* name : {"keycloak", "okta"}) {
    const std::string path = std::string(AUTHWATCH_SOURCE_DIR) + "/deploy/mappings/" + name + ".yaml";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not there (yet)";
    auto m = LoadFieldMapping(path);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->name, name);
    EXPECT_FALSE(m->only_when.empty()) << name << ": other event types must be skipped";
  }
}

TEST(FieldMappingTest, ParsesEveryKey) {
  auto m = ParseFieldMapping(R"(name: custom
fields: {ts: /t, account: /user/name, ip: /src, result: /ok, protocol: /proto, user_agent: /ua,
         device_id: /dev, reason: /why, event_id: /id}
ts_format: epoch_s
protocol: imap
success_values: [yes]
failure_values: [no, denied]
only_when: {/kind: [auth], /level: [info, warn]}
)",
                             "custom.yaml");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->name, "custom");
  EXPECT_EQ(m->ts, "/t");
  EXPECT_EQ(m->account, "/user/name");
  EXPECT_EQ(m->ip, "/src");
  EXPECT_EQ(m->result, "/ok");
  EXPECT_EQ(m->protocol, "/proto");
  EXPECT_EQ(m->user_agent, "/ua");
  EXPECT_EQ(m->device_id, "/dev");
  EXPECT_EQ(m->reason, "/why");
  EXPECT_EQ(m->event_id, "/id");
  EXPECT_EQ(m->ts_format, TimeFormat::kEpochS);
  EXPECT_EQ(m->protocol_constant, "imap");
  EXPECT_EQ(m->success_values, std::vector<std::string>{"yes"});
  EXPECT_EQ(m->failure_values, (std::vector<std::string>{"no", "denied"}));
  ASSERT_EQ(m->only_when.size(), 2u);
  EXPECT_EQ(m->only_when[0].first, "/kind");
  EXPECT_EQ(m->only_when[1].second, (std::vector<std::string>{"info", "warn"}));
}

TEST(FieldMappingTest, UnlistedFieldsKeepCanonicalPointers) {
  auto m = ParseFieldMapping("fields: {ts: /when}\n", "partial.yaml");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->ts, "/when");
  EXPECT_EQ(m->account, "/account");
  EXPECT_EQ(m->ip, "/ip");
  EXPECT_EQ(m->result, "/result");
}

TEST(FieldMappingTest, UnknownKeyReportsFileLineAndColumn) {
  auto m = ParseFieldMapping("name: x\nfields: {ts: /t}\ncolour: blue\n", "x.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("x.yaml:3:1:"));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("'colour'"));
}

TEST(FieldMappingTest, UnknownFieldReportsFileLineAndColumn) {
  auto m = ParseFieldMapping("name: x\nfields:\n  ts: /t\n  username: /u\n", "x.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("x.yaml:4:3:"));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("'username'"));
}

TEST(FieldMappingTest, PointerWithoutSlashReportsFileLineAndColumn) {
  auto m = ParseFieldMapping("name: x\nfields:\n  ts: time\n", "x.yaml");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("x.yaml:3:7:"));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("'time'"));

  auto w = ParseFieldMapping("only_when:\n  type: [LOGIN]\n", "w.yaml");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr("w.yaml:2:3:"));
}

TEST(FieldMappingTest, OtherErrorsNameTheirPlace) {
  struct Case {
    const char* yaml;
    const char* where;
  };
  const Case cases[] = {
      {"ts_format: iso\n", "e.yaml:1:12:"},
      {"success_values: LOGIN\n", "e.yaml:1:17:"},
      {"fields: [ts, account]\n", "e.yaml:1:9:"},
      {"fields:\n  ts: {a: b}\n", "e.yaml:2:7:"},
      {"name: [a, b]\n", "e.yaml:1:"},
      {"fields: {ts: /t\n", "e.yaml:"},        // YAML syntax error
      {"fields: {ts: ''}\n", "e.yaml:"},       // a required field unmapped
      {"- a\n- b\n", "e.yaml:1:1:"},          // not a mapping
  };
  for (const auto& c : cases) {
    auto m = ParseFieldMapping(c.yaml, "e.yaml");
    ASSERT_FALSE(m.ok()) << c.yaml;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_THAT(std::string(m.status().message()), HasSubstr(c.where)) << c.yaml;
  }
}

TEST(FieldMappingTest, LoadNamesTheFileInErrors) {
  const std::string dir = ::testing::TempDir() + "/field_mapping_test." + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/bad.yaml";
  std::ofstream(path) << "name: bad\nfields:\n  ip: src_ip\n";
  auto m = LoadFieldMapping(path);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr(path + ":3:7:"));

  auto missing = LoadFieldMapping(dir + "/absent.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(dir + "/absent.yaml"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace authwatch
