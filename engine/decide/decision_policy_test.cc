#include "decide/decision_policy.h"

#include "detect/test_events.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

using testing::Ev;
using testing::kHour;
using testing::kMinute;
using testing::Rules;

constexpr char kPolicy[] = R"(
- list: allow
  type: cidr
  items: [192.0.2.0/24]
- list: vip
  type: account
  items: [boss@mail.example]
- policy: {escalation_factor: 2, max_ttl: 4h, offence_memory: 1d, allow: [allow, vip]}
)";

class PolicyTest : public ::testing::Test {
 protected:
  Signal MakeSignal(EventTimeMs ts, ActionKind action = ActionKind::kBlock, std::string severity = "high",
                    std::string value = "45.155.205.23", std::string scope = "all") {
    Signal s;
    s.rule = "r";
    s.consequence.action = action;
    s.consequence.subject = KeyKind::kIp;
    s.consequence.scope = scope;
    s.consequence.ttl_ms = kHour;
    s.subject = {KeyKind::kIp, value};
    s.severity = severity;
    s.ts_ms = ts;
    s.trigger_id = static_cast<uint64_t>(ts);
    return s;
  }
  std::vector<Decision> On(const Signal& s, const Ev& ev = Ev{}) {
    event_ = ev.Build();
    ComputeKeys(event_, &ctx_);
    expired_.clear();
    policy_.AdvanceTo(s.ts_ms, &expired_);
    std::vector<Decision> out;
    policy_.OnSignal(s, ctx_, &out);
    return out;
  }
  DecisionPolicy policy_{Rules(kPolicy)};
  EnrichedEvent event_;
  EventContext ctx_;
  std::vector<Decision> expired_;  // unblocks written while advancing to a signal's time
  const EventTimeMs t0_ = Ev{}.ts;
};

TEST_F(PolicyTest, OneActiveDecisionPerSubjectAndScope) {
  EXPECT_EQ(On(MakeSignal(t0_)).size(), 1u);
  EXPECT_TRUE(On(MakeSignal(t0_ + kMinute)).empty());
  EXPECT_TRUE(On(MakeSignal(t0_ + kMinute, ActionKind::kChallenge)).empty()) << "weaker action absorbed";
  EXPECT_EQ(On(MakeSignal(t0_ + kMinute, ActionKind::kBlock, "high", "45.155.205.23", "smtp")).size(), 1u)
      << "another scope is another decision";
  EXPECT_EQ(policy_.stats().absorbed_duplicate, 2u);
}

TEST_F(PolicyTest, StrongerActionReplacesSameActionDoesNot) {
  EXPECT_EQ(On(MakeSignal(t0_, ActionKind::kChallenge, "medium")).size(), 1u);
  EXPECT_TRUE(On(MakeSignal(t0_ + 1, ActionKind::kChallenge, "critical")).empty());
  auto b = On(MakeSignal(t0_ + 2, ActionKind::kBlock, "low"));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].action, ActionKind::kBlock);
  EXPECT_EQ(policy_.active(), 1u);
}

TEST_F(PolicyTest, ExpiryWritesUnblockAtTtlByEventTime) {
  auto d = On(MakeSignal(t0_));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].ttl_s, 3600);
  std::vector<Decision> out;
  policy_.AdvanceTo(t0_ + kHour - 1, &out);
  EXPECT_TRUE(out.empty());
  policy_.AdvanceTo(t0_ + kHour, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].action, ActionKind::kUnblock);
  EXPECT_EQ(out[0].subject.value, "45.155.205.23");
  EXPECT_EQ(out[0].ts_ms, t0_ + kHour);
  EXPECT_EQ(policy_.active(), 0u);
}

TEST_F(PolicyTest, RepeatOffenderTtlDoublesUpToMax) {
  std::vector<int64_t> ttls;
  EventTimeMs t = t0_;
  for (int i = 0; i < 5; ++i) {
    auto d = On(MakeSignal(t));
    ASSERT_EQ(d.size(), 1u);
    ttls.push_back(d[0].ttl_s);
    EXPECT_EQ(d[0].offence, i + 1);
    t += d[0].ttl_s * 1000 + kMinute;  // after it expired
  }
  EXPECT_EQ(ttls, (std::vector<int64_t>{3600, 7200, 14400, 14400, 14400}));
}

TEST_F(PolicyTest, OffencesAreForgivenAfterTheirMemory) {
  On(MakeSignal(t0_));
  auto d = On(MakeSignal(t0_ + 2 * 24 * kHour));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].offence, 1);
  EXPECT_EQ(d[0].ttl_s, 3600);
}

TEST_F(PolicyTest, AllowlistedAddressAndAccountAreNeverDecided) {
  Ev office;
  office.ip = "192.0.2.44";
  EXPECT_TRUE(On(MakeSignal(t0_, ActionKind::kBlock, "high", "192.0.2.44"), office).empty());
  Ev boss;
  boss.account = "boss@mail.example";
  Signal s = MakeSignal(t0_);
  s.subject = {KeyKind::kAccount, "boss@mail.example"};
  EXPECT_TRUE(On(s, boss).empty());
  EXPECT_EQ(policy_.stats().absorbed_allowlist, 2u);
}

TEST_F(PolicyTest, DryRunIsMonitorAndDoesNotShadowRealDecisions) {
  Signal dry = MakeSignal(t0_);
  dry.dry_run = true;
  auto d = On(dry);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].action, ActionKind::kMonitor);
  EXPECT_TRUE(d[0].dry_run);
  EXPECT_EQ(d[0].would_action, ActionKind::kBlock);
  EXPECT_EQ(On(MakeSignal(t0_ + 1)).size(), 1u) << "the real block still goes out";
  std::vector<Decision> out;
  policy_.AdvanceTo(t0_ + 10 * kHour, &out);
  EXPECT_EQ(out.size(), 1u) << "only the real block is lifted; a dry run blocked nothing";
}

TEST_F(PolicyTest, DecisionIdIsStable) {
  auto a = On(MakeSignal(t0_));
  DecisionPolicy other(Rules(kPolicy));
  std::vector<Decision> out;
  other.OnSignal(MakeSignal(t0_), ctx_, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(a[0].decision_id, out[0].decision_id);
  EXPECT_EQ(a[0].decision_id.size(), 24u);
}

TEST_F(PolicyTest, ExplicitLiftWritesUnblock) {
  On(MakeSignal(t0_));
  std::vector<Decision> out;
  EXPECT_TRUE(policy_.Lift({KeyKind::kIp, "45.155.205.23"}, "all", t0_ + kMinute, "lifted by operator", &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].reasons[0], "lifted by operator");
  EXPECT_FALSE(policy_.Lift({KeyKind::kIp, "45.155.205.23"}, "all", t0_ + kMinute, "again", &out));
}

}  // namespace
}  // namespace authwatch
