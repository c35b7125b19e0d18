#include "enforce/policy_answer.h"

#include "core/strings.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

constexpr EventTimeMs kNow = 1795770000000;  // 2026-11-27

std::string Decision(std::string_view type, std::string_view value, std::string_view action,
                     std::string_view scope, std::string_view expires = "2026-11-27T12:00:00.000Z",
                     bool dry_run = false) {
  return Cat(R"({"decision_id":"0123456789abcdef","ts":"2026-11-27T09:00:00.000Z","subject":{"type":")", type,
             R"(","value":")", value, R"("},"action":")", action, R"(","scope":")", scope,
             R"(","ttl_s":3600,"expires":")", expires, R"(","rule":"r","dry_run":)", dry_run ? "true" : "false", "}");
}

PolicyRequest Request(std::string user, std::string addr = "203.0.113.9") {
  PolicyRequest r;
  r.sasl_username = std::move(user);
  r.client_address = std::move(addr);
  return r;
}

class PolicyAnswerTest : public ::testing::Test {
 protected:
  PolicyVerdict Verdict(const PolicyRequest& r, bool ready = true) { return answerer_.Answer(r, kNow, ready).verdict; }
  DecisionStore store_;
  PolicyAnswerer answerer_{&store_, PolicyAnswerOptions{}, [](const IpAddress& ip) -> uint32_t {
                             return ip.ToString().rfind("45.155.205.", 0) == 0 ? 51396 : 0;
                           }};
};

TEST_F(PolicyAnswerTest, BlockedAccountIsRefusedWithReferenceOthersPass) {
  EXPECT_EQ(store_.Apply(Decision("account", "alice@mail.example", "block", "smtp")), ApplyResult::kHeld);
  const PolicyAnswer a = answerer_.Answer(Request("Alice@Mail.Example"), kNow, true);
  EXPECT_EQ(a.verdict, PolicyVerdict::kReject);
  EXPECT_EQ(a.text, "action=554 5.7.1 Sending refused: this account or network is blocked for suspected abuse "
                    "(ref 0123456789ab)\n\n");
  EXPECT_EQ(answerer_.Answer(Request("bob@mail.example"), kNow, true).text, "action=DUNNO\n\n");
}

TEST_F(PolicyAnswerTest, AddressPrefixAsnAndPairSubjectsApply) {
  store_.Apply(Decision("ip", "198.51.100.7", "block", "all"));
  store_.Apply(Decision("prefix", "192.0.2.0/24", "block", "smtp"));
  store_.Apply(Decision("asn", "AS51396", "block", "all"));
  store_.Apply(Decision("account_ip", "carol@mail.example|203.0.113.5", "block", "all"));
  EXPECT_EQ(Verdict(Request("anyone@mail.example", "198.51.100.7")), PolicyVerdict::kReject);
  EXPECT_EQ(Verdict(Request("", "192.0.2.200")), PolicyVerdict::kReject) << "no SASL: the address still counts";
  EXPECT_EQ(Verdict(Request("x@mail.example", "45.155.205.23")), PolicyVerdict::kReject);
  EXPECT_EQ(Verdict(Request("carol@mail.example", "203.0.113.5")), PolicyVerdict::kReject);
  EXPECT_EQ(Verdict(Request("carol@mail.example", "203.0.113.6")), PolicyVerdict::kDunno);
}

TEST_F(PolicyAnswerTest, OtherScopesDryRunsAndMonitorDoNotBlockSmtp) {
  store_.Apply(Decision("account", "a@mail.example", "block", "imap"));
  EXPECT_EQ(store_.Apply(Decision("account", "b@mail.example", "block", "smtp", "2026-11-27T12:00:00.000Z", true)),
            ApplyResult::kIgnored);
  EXPECT_EQ(store_.Apply(Decision("account", "c@mail.example", "monitor", "all")), ApplyResult::kIgnored);
  for (const char* u : {"a@mail.example", "b@mail.example", "c@mail.example"}) {
    EXPECT_EQ(Verdict(Request(u)), PolicyVerdict::kDunno) << u;
  }
}

TEST_F(PolicyAnswerTest, ChallengeDefersUnblockAndExpiryLift) {
  store_.Apply(Decision("account", "d@mail.example", "challenge", "all"));
  EXPECT_EQ(Verdict(Request("d@mail.example")), PolicyVerdict::kDefer);
  EXPECT_EQ(store_.Apply(Decision("account", "d@mail.example", "unblock", "all")), ApplyResult::kLifted);
  EXPECT_EQ(Verdict(Request("d@mail.example")), PolicyVerdict::kDunno);
  store_.Apply(Decision("account", "e@mail.example", "block", "smtp", "2026-11-27T05:00:00.000Z"));
  EXPECT_EQ(Verdict(Request("e@mail.example")), PolicyVerdict::kDunno) << "expired before now";
  EXPECT_EQ(store_.Expire(kNow), 1u);
}

TEST_F(PolicyAnswerTest, FailsOpenOrClosedBeforeDecisionsAreLoaded) {
  EXPECT_EQ(Verdict(Request("a@mail.example"), /*ready=*/false), PolicyVerdict::kDunno);
  PolicyAnswerOptions closed;
  closed.fail_open = false;
  PolicyAnswerer strict(&store_, closed, {});
  const PolicyAnswer a = strict.Answer(Request("a@mail.example"), kNow, false);
  EXPECT_EQ(a.verdict, PolicyVerdict::kDefer);
  EXPECT_EQ(a.text, "action=451 4.3.5 Policy service temporarily unavailable\n\n");
}

TEST_F(PolicyAnswerTest, MalformedDecisionRecordsAreRefused) {
  EXPECT_EQ(store_.Apply("not json"), ApplyResult::kMalformed);
  EXPECT_EQ(store_.Apply(R"({"subject":{"type":"planet","value":"x"},"action":"block","scope":"all"})"),
            ApplyResult::kMalformed);
  EXPECT_EQ(store_.Apply(Decision("account", "a@mail.example", "block", "smtp", "soon")), ApplyResult::kMalformed);
}

TEST(PolicyRequestParserTest, SplitsRequestsAcrossReadsAndCountsMalformedLines) {
  PolicyRequestParser parser(4096);
  std::vector<PolicyRequest> got;
  auto on = [&](const PolicyRequest& r) { got.push_back(r); };
  ASSERT_TRUE(parser.Feed("request=smtpd_access_policy\nsasl_user", on));
  ASSERT_TRUE(parser.Feed("name=alice\r\nclient_address=192.0.2.1\njunk\n\nsasl_username=bob\n\n", on));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].sasl_username, "alice");
  EXPECT_EQ(got[0].client_address, "192.0.2.1");
  EXPECT_EQ(got[0].malformed_lines, 1);
  EXPECT_EQ(got[1].sasl_username, "bob");
  EXPECT_EQ(got[1].client_address, "");
}

TEST(PolicyRequestParserTest, OversizedRequestIsRefused) {
  PolicyRequestParser parser(100);
  EXPECT_FALSE(parser.Feed(std::string(200, 'a'), [](const PolicyRequest&) {}));
}

// An address-keyed rule's decision on an account carries its network as `origin` and stands
// apart from other origins' on the same account and scope: an unblock lifts only its own.
TEST_F(PolicyAnswerTest, DecisionsOfDifferentOriginsStandApart) {
  auto with_origin = [](std::string record, std::string_view origin) {
    return record.insert(record.size() - 1, Cat(R"(,"origin":")", origin, R"(")"));
  };
  EXPECT_EQ(store_.Apply(Decision("account", "e@mail.example", "block", "smtp")), ApplyResult::kHeld);
  EXPECT_EQ(store_.Apply(with_origin(Decision("account", "e@mail.example", "block", "smtp"), "192.0.2.0/24")),
            ApplyResult::kHeld);
  EXPECT_EQ(store_.size(), 2u);
  EXPECT_EQ(store_.Apply(with_origin(Decision("account", "e@mail.example", "unblock", "smtp"), "192.0.2.0/24")),
            ApplyResult::kLifted);
  EXPECT_EQ(Verdict(Request("e@mail.example")), PolicyVerdict::kReject) << "the other origin's block stands";
  EXPECT_EQ(store_.Apply(with_origin(Decision("account", "e@mail.example", "unblock", "smtp"), "AS64500")),
            ApplyResult::kIgnored);
  EXPECT_EQ(store_.Apply(Decision("account", "e@mail.example", "unblock", "smtp")), ApplyResult::kLifted);
  EXPECT_NE(Verdict(Request("e@mail.example")), PolicyVerdict::kReject);
  EXPECT_EQ(store_.size(), 0u);
}

}  // namespace
}  // namespace authwatch
