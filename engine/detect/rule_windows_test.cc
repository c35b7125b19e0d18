#include "detect/rule_windows.h"

#include "core/strings.h"
#include "detect/detection_engine.h"
#include "detect/rule_loader.h"
#include "detect/test_events.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

using testing::Ev;
using testing::kHour;
using testing::kMinute;
using testing::kSecond;
using testing::Rules;

// Runs events through a detection engine, returning the signals of the last event.
class Harness {
 public:
  explicit Harness(const std::string& yaml) : rules_(Rules(yaml)) {
    EXPECT_NE(rules_, nullptr);
    engine_ = std::make_unique<DetectionEngine>(rules_);
  }
  std::vector<Signal> Feed(const Ev& ev) {
    event_ = ev.Build();
    std::vector<Signal> out;
    engine_->Process(event_, &ctx_, &out);
    return out;
  }
  const DetectionEngine& engine() const { return *engine_; }

 private:
  std::shared_ptr<const RuleSet> rules_;
  std::unique_ptr<DetectionEngine> engine_;
  EnrichedEvent event_;
  EventContext ctx_;
};

constexpr char kCountRule[] = R"(
- rule: five-failures
  key: ip
  window: 160s
  when:
    - count: {result: failure}
      at_least: 5
  then:
    - {action: block, ttl: 10s}
)";

// A rule keyed by address that counts `what` (a filter) and monitors from `at_least`.
std::string MonitorCountRule(std::string_view name, std::string_view window, std::string_view what, int at_least) {
  return Cat("\n- rule: ", name, "\n  key: ip\n  window: ", window, "\n  when:\n    - count: ", what,
             "\n      at_least: ", at_least, "\n  then:\n    - {action: monitor, ttl: 10s}\n");
}

TEST(RuleWindowsTest, CountFiresAtThresholdNotBefore) {
  Harness h(kCountRule);
  Ev ev;
  for (int i = 0; i < 4; ++i) {
    ev.ts += kSecond;
    EXPECT_TRUE(h.Feed(ev).empty()) << "failure " << i + 1;
  }
  ev.ts += kSecond;
  auto s = h.Feed(ev);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].rule, "five-failures");
  EXPECT_EQ(s[0].subject.type, KeyKind::kIp);
  EXPECT_EQ(s[0].subject.value, "198.51.100.7");
  EXPECT_EQ(s[0].reasons[0],
            "count(result=failure) = 5 >= 5 within 160s for ip 198.51.100.7");
}

// Evidence: each rule's samples are the last three events *it* counted, oldest first, even when
// the rules of one key share an event's sample (a success counted by one rule only must not
// appear in the other's evidence).
TEST(RuleWindowsTest, EvidenceSamplesAreEachRulesLastThreeMatches) {
  Harness h(std::string(kCountRule) + R"(
- rule: attempts
  key: ip
  window: 1h
  when:
    - count: {}
      at_least: 6
  then:
    - {action: monitor, ttl: 10s}
)");
  Ev ev;
  std::vector<Signal> last;
  for (int i = 0; i < 6; ++i) {
    ev.ts += kSecond;
    ev.account = "user" + std::to_string(i) + "@mail.example";
    ev.success = i == 5;  // the sixth attempt succeeds: counted by "attempts" only
    auto s = h.Feed(ev);
    if (!s.empty()) last.insert(last.end(), s.begin(), s.end());
  }
  ASSERT_EQ(last.size(), 2u);
  const auto accounts = [](const Signal& s) {
    std::vector<std::string> out;
    for (size_t at = s.evidence_json.find("\"account\":\""); at != std::string::npos;
         at = s.evidence_json.find("\"account\":\"", at + 1)) {
      const size_t from = at + 11;
      out.push_back(s.evidence_json.substr(from, s.evidence_json.find('"', from) - from));
    }
    return out;
  };
  EXPECT_EQ(last[0].rule, "five-failures");  // fired at the fifth failure
  EXPECT_EQ(accounts(last[0]),
            (std::vector<std::string>{"user2@mail.example", "user3@mail.example", "user4@mail.example"}));
  EXPECT_EQ(last[1].rule, "attempts");  // fired at the success
  EXPECT_EQ(accounts(last[1]),
            (std::vector<std::string>{"user3@mail.example", "user4@mail.example", "user5@mail.example"}));
}

TEST(RuleWindowsTest, WindowEdgesOnEventTime) {
  // Four failures at t (a bucket boundary), the fifth at t + w - 1 ms fires; at t + w it
  // does not, because the first four have left the window.
  const EventTimeMs t = 1762077600000;
  for (const auto& [fifth, fires] : std::vector<std::pair<EventTimeMs, bool>>{
           {t, true}, {t + 160 * kSecond - 1, true}, {t + 160 * kSecond, false}}) {
    Harness h(kCountRule);
    Ev ev;
    ev.ts = t;
    for (int i = 0; i < 4; ++i) h.Feed(ev);
    ev.ts = fifth;
    EXPECT_EQ(!h.Feed(ev).empty(), fires) << "fifth failure at t + " << fifth - t << " ms";
  }
}

// An episode (its first_event and samples) starts again at the first event after every count
// has left the window, to the bucket: one bucket short of a window after the newest count, it
// goes on. A late event lands in its own, earlier bucket and does not move the newest.
TEST(RuleWindowsTest, EpisodeStartsAgainOnceEveryCountHasLeftTheWindow) {
  const EventTimeMs t = 1762077600000;  // a bucket boundary (buckets of 10 s)
  // Failures at `at` until the rule fires (at most five): the first_event of its evidence.
  const auto fire_at = [](Harness& h, EventTimeMs at) {
    Ev ev;
    ev.ts = at;
    for (int i = 0; i < 5; ++i) {
      const auto s = h.Feed(ev);
      if (s.empty()) continue;
      const size_t from = s[0].evidence_json.find("\"first_event\":\"") + 15;
      return s[0].evidence_json.substr(from, s[0].evidence_json.find('"', from) - from);
    }
    return std::string("no signal");
  };
  for (const auto& [later, restarts] : std::vector<std::pair<EventTimeMs, bool>>{
           {t + 170 * kSecond + 9999, false}, {t + 180 * kSecond, true}}) {
    Harness h(kCountRule);
    EXPECT_EQ(fire_at(h, t + 20 * kSecond), FormatRfc3339(t + 20 * kSecond));
    Ev late;
    late.ts = t;  // in an earlier bucket: still the same episode
    h.Feed(late);
    EXPECT_EQ(fire_at(h, later), FormatRfc3339(restarts ? later : t + 20 * kSecond))
        << "failures at t + " << later - t << " ms";
  }
}

// Only a count keeps an episode going: an event that merely triggers the rule (here a success,
// counted by nothing) does not, and a failure after a window of successes starts a new one.
TEST(RuleWindowsTest, TriggerAloneDoesNotKeepAnEpisodeGoing) {
  Harness h(R"(
- rule: failed-then-succeeded
  key: ip
  window: 160s
  on: {result: success}
  when:
    - count: {result: failure}
      at_least: 1
  then:
    - {action: monitor, ttl: 10s}
)");
  const EventTimeMs t = 1762077600000;
  Ev ev;
  ev.ts = t;
  h.Feed(ev);  // a failure
  ev.success = true;
  ev.ts = t + 100 * kSecond;
  ASSERT_EQ(h.Feed(ev).size(), 1u);
  ev.success = false;
  ev.ts = t + 170 * kSecond;  // the first failure has left the window
  h.Feed(ev);
  ev.success = true;
  ev.ts = t + 171 * kSecond;
  const auto s = h.Feed(ev);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_NE(s[0].evidence_json.find("\"first_event\":\"" + FormatRfc3339(t + 170 * kSecond)), std::string::npos)
      << s[0].evidence_json;
}

// Late failures (within the late-event allowance) count in the bucket of their own time, and so
// leave the window with it, however the events before them were bucketed.
TEST(RuleWindowsTest, LateEventsCountInTheirOwnBucket) {
  const EventTimeMs t = 1762077600000;  // a bucket boundary (buckets of 10 s)
  Harness h(kCountRule);
  Ev ev;
  ev.ts = t + 150 * kSecond;
  h.Feed(ev);
  ev.ts = t;  // three late failures, in bucket 0
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(h.Feed(ev).empty());
  ev.ts = t + 159 * kSecond;  // window (-1, 15]: all five count
  EXPECT_FALSE(h.Feed(ev).empty());
  Harness later(kCountRule);
  ev.ts = t + 150 * kSecond;
  later.Feed(ev);
  ev.ts = t;
  for (int i = 0; i < 3; ++i) later.Feed(ev);
  ev.ts = t + 160 * kSecond;  // window (0, 16]: bucket 0 has left it, two failures remain
  EXPECT_TRUE(later.Feed(ev).empty());
}

TEST(RuleWindowsTest, SuccessesDoNotCountAndOtherKeysAreSeparate) {
  Harness h(kCountRule);
  Ev ev;
  for (int i = 0; i < 4; ++i) h.Feed(ev);
  ev.success = true;
  EXPECT_TRUE(h.Feed(ev).empty());
  ev.success = false;
  ev.ip = "198.51.100.8";
  EXPECT_TRUE(h.Feed(ev).empty()) << "another address has its own window";
}

TEST(RuleWindowsTest, DoesNotRefireWhileTheDecisionStands) {
  Harness h(kCountRule);
  Ev ev;
  int fired = 0;
  for (int i = 0; i < 20; ++i) {
    ev.ts += 100;  // 2 s in all: within the 10 s TTL
    fired += !h.Feed(ev).empty();
  }
  EXPECT_EQ(fired, 1);
  ev.ts += 10 * kSecond;  // the TTL has run out and the attack goes on
  EXPECT_EQ(h.Feed(ev).size(), 1u);
}

constexpr char kSprayRule[] = R"(
- rule: spray
  key: ip
  window: 1h
  when:
    - distinct: account
      where: {result: failure}
      at_least: 10
    - ratio: {result: failure}
      min_events: 10
      at_least: 0.7
    - distinct: account
      where: {result: success}
      at_most: 3
  then:
    - {action: block, ttl: 6h}
)";

TEST(RuleWindowsTest, SprayingAddressFires) {
  Harness h(kSprayRule);
  Ev ev;
  std::vector<Signal> last;
  for (int i = 0; i < 10; ++i) {
    ev.account = "user" + std::to_string(i) + "@mail.example";
    ev.ts += kMinute;
    last = h.Feed(ev);
  }
  ASSERT_EQ(last.size(), 1u);
}

TEST(RuleWindowsTest, NatWithManyRealUsersAndTyposDoesNotFire) {
  // An office NAT: 200 users log in successfully each morning, 30 of them mistype once first.
  Harness h(kSprayRule);
  Ev ev;
  ev.ip = "192.0.2.10";
  int signals = 0;
  for (int i = 0; i < 200; ++i) {
    ev.account = "staff" + std::to_string(i) + "@corp.example";
    ev.ts += 15 * kSecond;
    if (i % 7 == 0) {
      ev.success = false;
      signals += static_cast<int>(h.Feed(ev).size());
    }
    ev.success = true;
    signals += static_cast<int>(h.Feed(ev).size());
  }
  EXPECT_EQ(signals, 0);
}

TEST(RuleWindowsTest, ShippedRulesDoNotFlagACgnatAddressWithStaleClients) {
  // A mobile carrier's CGNAT address for 3 hours: 300 subscribers whose mail apps poll every
  // 5 minutes at random moments, and 12 phones among them retrying a stale password.
  RuleLoadResult loaded = LoadRules({std::string(AUTHWATCH_SOURCE_DIR) + "/rules"});
  ASSERT_NE(loaded.rules, nullptr);
  DetectionEngine engine(loaded.rules);
  struct Login {
    EventTimeMs ts;
    int user;
  };
  std::vector<Login> logins;
  uint64_t rng = 42;
  auto next = [&rng](uint64_t n) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (rng >> 33) % n;
  };
  const EventTimeMs start = Ev{}.ts;
  for (int u = 0; u < 312; ++u) {
    const EventTimeMs phase = static_cast<EventTimeMs>(next(5 * kMinute));
    for (EventTimeMs t = start + phase; t < start + 3 * kHour; t += 5 * kMinute) logins.push_back({t, u});
  }
  std::sort(logins.begin(), logins.end(), [](const Login& a, const Login& b) { return a.ts < b.ts; });
  Ev ev;
  ev.ip = "100.64.12.34";
  ev.asn = 21928;
  ev.country = "US";
  EventContext ctx;
  std::vector<Signal> out;
  for (const Login& l : logins) {
    ev.ts = l.ts;
    ev.account = "sub" + std::to_string(l.user) + "@mail.example";
    ev.success = l.user >= 12;  // users 0..11 have the stale password
    EnrichedEvent e = ev.Build();
    engine.Process(e, &ctx, &out);
  }
  for (const auto& s : out) {
    EXPECT_NE(s.subject.type, KeyKind::kIp) << s.rule << " flagged the shared address: " << s.reasons[0];
    EXPECT_NE(s.subject.type, KeyKind::kPrefix) << s.rule;
    EXPECT_NE(s.subject.type, KeyKind::kAsn) << s.rule;
  }
}

TEST(RuleWindowsTest, StateExpiresByEventTime) {
  Harness h(kCountRule);
  Ev ev;
  for (int i = 0; i < 100; ++i) {
    ev.ip = "203.0.113." + std::to_string(i);
    h.Feed(ev);
  }
  EXPECT_EQ(h.engine().windows().KeysByKind()[static_cast<int>(KeyKind::kIp)], 100u);
  ev.ts += 3 * 160 * kSecond;  // three windows later: both generations rotated out
  ev.ip = "203.0.113.200";
  h.Feed(ev);
  EXPECT_EQ(h.engine().windows().KeysByKind()[static_cast<int>(KeyKind::kIp)], 1u);
}

// Four failures under `before`, a reload to `after`, a fifth failure: five-failures (in both
// sets) fires only if the four were kept.
void ExpectFailuresKeptAcrossReload(const std::string& before, const std::string& after) {
  DetectionEngine engine(Rules(before));
  Ev ev;
  EventContext ctx;
  std::vector<Signal> out;
  for (int i = 0; i < 4; ++i) {
    EnrichedEvent e = ev.Build();
    engine.Process(e, &ctx, &out);
  }
  engine.SetRules(Rules(after));
  EXPECT_EQ(engine.windows().KeysByKind()[static_cast<int>(KeyKind::kIp)], 1u);
  EnrichedEvent e = ev.Build();
  engine.Process(e, &ctx, &out);
  ASSERT_EQ(out.size(), 1u) << "the four earlier failures were kept across the reload";
  EXPECT_EQ(out[0].rule, "five-failures");
}

TEST(RuleWindowsTest, StateSurvivesReloadOfAnUnchangedRule) {
  ExpectFailuresKeptAcrossReload(kCountRule, std::string(kCountRule) + "\n- list: extra\n  type: asn\n  items: [1]\n");
}

// What a rule matches of an event is worked out once per set of fact bits: a reload must work
// it out again from the new rules, or events like those seen before would skip a new rule.
TEST(RuleWindowsTest, AfterAReloadEventsAreMatchedByTheNewRules) {
  DetectionEngine engine(Rules(MonitorCountRule("failures", "1h", "{result: failure}", 3)));
  Ev ev;
  ev.success = true;
  EventContext ctx;
  std::vector<Signal> out;
  for (int i = 0; i < 3; ++i) {  // successes: the failure-counting rule has nothing to do
    ev.ts += kSecond;
    EnrichedEvent e = ev.Build();
    engine.Process(e, &ctx, &out);
  }
  EXPECT_TRUE(out.empty());
  engine.SetRules(Rules(MonitorCountRule("successes", "1h", "{result: success}", 3)));
  for (int i = 0; i < 3; ++i) {
    ev.ts += kSecond;
    EnrichedEvent e = ev.Build();
    engine.Process(e, &ctx, &out);
  }
  ASSERT_EQ(out.size(), 1u) << "the third success after the reload fires the new rule";
  EXPECT_EQ(out[0].rule, "successes");
}

TEST(RuleWindowsTest, RulesOfOneKeyKindExpireOnTheirOwnWindows) {
  Harness h(MonitorCountRule("long", "1h", "{result: failure}", 8) + kCountRule);
  Ev ev;
  for (int i = 0; i < 4; ++i) {
    ev.ts += kSecond;
    EXPECT_TRUE(h.Feed(ev).empty());
  }
  EXPECT_EQ(h.engine().windows().KeysByKind()[static_cast<int>(KeyKind::kIp)], 2u) << "one key, two rules";
  ev.ts += 10 * kMinute;  // over three of five-failures' windows, inside long's
  Ev other = ev;
  other.ip = "192.0.2.9";
  h.Feed(other);
  EXPECT_EQ(h.engine().windows().KeysByKind()[static_cast<int>(KeyKind::kIp)], 3u)
      << "long keeps 198.51.100.7; five-failures dropped it; both count 192.0.2.9";
  for (int i = 0; i < 4; ++i) {
    ev.ts += kSecond;
    auto s = h.Feed(ev);
    if (i < 3) {
      EXPECT_TRUE(s.empty()) << "failure " << i + 5;
    } else {
      ASSERT_EQ(s.size(), 1u);
      EXPECT_EQ(s[0].rule, "long") << "the eighth failure in the hour; only four in 160s";
    }
  }
  ev.ts += kSecond;
  auto s = h.Feed(ev);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].rule, "five-failures") << "five failures in 160s since its state started again";
}

// A state of the previous generation touched again is current once more, counted once, and
// survives the next turn; untouched for two turns it is gone.
TEST(RuleWindowsTest, TouchedStateMovesToTheCurrentGeneration) {
  Harness h(kCountRule);  // window 160s
  Ev x, y = x, z = x;
  y.ip = "192.0.2.1";
  z.ip = "192.0.2.2";
  const auto ip_keys = [&] { return h.engine().windows().KeysByKind()[static_cast<int>(KeyKind::kIp)]; };
  h.Feed(x);
  x.ts += 170 * kSecond;  // a turn: x goes to the previous generation, and comes back
  h.Feed(x);
  EXPECT_EQ(ip_keys(), 1u);
  y.ts = x.ts + 170 * kSecond;  // a turn: x previous, y current
  h.Feed(y);
  EXPECT_EQ(ip_keys(), 2u);
  z.ts = y.ts + 170 * kSecond;  // a turn: x untouched for two, gone; y previous; z current
  h.Feed(z);
  EXPECT_EQ(ip_keys(), 2u);
  x.ts = z.ts;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(h.Feed(x).empty()) << "x starts from zero";
  EXPECT_EQ(h.Feed(x).size(), 1u);
}

// A reload that drops one rule of a key kind renumbers the others' places in the records; their
// state is kept.
TEST(RuleWindowsTest, ReloadWithoutOneRuleOfAKindKeepsTheOthersState) {
  ExpectFailuresKeptAcrossReload(MonitorCountRule("first", "1h", "{}", 1000) + kCountRule, kCountRule);
}

TEST(RuleWindowsTest, GuardOnlyConditionsDoNotCreateState) {
  Harness h(kSprayRule);
  Ev ev;
  ev.success = true;
  for (int i = 0; i < 50; ++i) {
    ev.ip = "198.51.100." + std::to_string(i);
    h.Feed(ev);
  }
  EXPECT_EQ(h.engine().windows().KeysByKind()[static_cast<int>(KeyKind::kIp)], 0u);
}

// Generations dropped by rotation are freed a slice per event; the keys of a dropped generation
// start from zero when they come back, and state is counted only while it lives (ASan checks
// that nothing freed is used).
TEST(RuleWindowsTest, DroppedGenerationsAreFreedGraduallyAndKeysStartAgain) {
  Harness h(kCountRule);
  Ev ev;
  for (int i = 0; i < 5000; ++i) {  // 5,000 addresses with four failures each: no signal
    ev.ip = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1";
    for (int k = 0; k < 4; ++k) EXPECT_TRUE(h.Feed(ev).empty());
  }
  EXPECT_EQ(h.engine().windows().KeysByKind()[static_cast<int>(KeyKind::kIp)], 5000u);
  ev.ts += 10 * kMinute;  // more than three windows later: every generation is dropped
  ev.ip = "192.0.2.1";
  h.Feed(ev);
  EXPECT_EQ(h.engine().windows().KeysByKind()[static_cast<int>(KeyKind::kIp)], 1u);
  for (int i = 0; i < 200; ++i) {  // events free the buried generation while old keys return
    ev.ts += kSecond / 10;
    ev.ip = "10.0." + std::to_string(i) + ".1";
    EXPECT_TRUE(h.Feed(ev).empty()) << "one failure of a key whose four earlier ones expired";
  }
  ev.ip = "10.0.0.1";
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(h.Feed(ev).empty());
  EXPECT_EQ(h.Feed(ev).size(), 1u) << "the fifth failure in the window fires";
}

constexpr char kFloodRules[] = R"(
- rule: ip-failures
  key: ip
  window: 1h
  when:
    - count: {result: failure}
      at_least: 1000000
  then: [{action: block, ttl: 1h}]
- rule: prefix-spray
  key: prefix
  window: 1h
  when:
    - distinct: ip
      where: {result: failure}
      at_least: 200
  then: [{action: block, ttl: 1h}]
- rule: account-successes
  key: account
  window: 1h
  when:
    - count: {result: success}
      at_least: 1000000
  then: [{action: monitor, ttl: 1h}]
)";

// Over the memory budget, failures create no per-address state but are still counted per
// network; successes still create state.
TEST(RuleWindowsTest, OverTheMemoryBudgetFailuresAreCountedPerNetworkOnly) {
  auto rules = Rules(kFloodRules);
  DetectionEngine engine(rules);
  engine.set_window_memory_budget(1);  // over it as soon as anything is kept
  EventContext ctx;
  std::vector<Signal> out;
  bool prefix_fired = false;
  Ev ev;
  for (int i = 0; i < 2048 + 250; ++i) {  // a flood: each address fails once
    ev.ts += 10;
    ev.ip = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".9";
    if (i >= 2048) ev.ip = "203.0.113." + std::to_string(i - 2048);  // one /24, after the budget bites
    EnrichedEvent e = ev.Build();
    out.clear();
    engine.Process(e, &ctx, &out);
    for (const auto& s : out) prefix_fired |= s.rule == "prefix-spray";
  }
  const auto keys = engine.windows().KeysByKind();
  EXPECT_EQ(keys[static_cast<int>(KeyKind::kIp)], 1024u) << "address state stopped at the first measurement";
  EXPECT_EQ(engine.windows().shed(), 2048u + 250u - 1024u);
  EXPECT_TRUE(prefix_fired) << "the spray from one /24 is still seen per network";
  Ev ok;
  ok.success = true;
  ok.account = "new.user@mail.example";
  ok.ts = ev.ts + 1;
  EnrichedEvent e = ok.Build();
  engine.Process(e, &ctx, &out);
  EXPECT_EQ(engine.windows().KeysByKind()[static_cast<int>(KeyKind::kAccount)], 1u) << "a success always creates state";
}

// The presence filters only skip lookups that would find nothing: with them on or off, the
// shipped rules give the same signals and keep the same keys, through filter rebuilds (20,000
// addresses), generation turns (two days) and a rule reload (which makes the filters stale).
TEST(RuleWindowsTest, PresenceFilterChangesNothingButTheWork) {
  RuleLoadResult loaded = LoadRules({std::string(AUTHWATCH_SOURCE_DIR) + "/rules"});
  ASSERT_NE(loaded.rules, nullptr);
  RuleWindows filtered(loaded.rules);
  RuleWindows reference(loaded.rules);
  reference.set_presence_filter(false);
  uint64_t rng = 7;
  auto next = [&rng](uint64_t n) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (rng >> 33) % n;
  };
  Ev ev;
  EventContext a, b;
  std::vector<Signal> out_a, out_b;
  size_t signals = 0;
  for (int i = 0; i < 300000; ++i) {
    ev.ts += static_cast<EventTimeMs>(next(1200));  // about two days in all
    // A few hot attacking addresses among many benign ones.
    const bool attacker = next(20) == 0;
    ev.ip = attacker ? "203.0.113." + std::to_string(next(8))
                     : "10." + std::to_string(next(80)) + "." + std::to_string(next(250)) + ".1";
    ev.account = "user" + std::to_string(next(attacker ? 5000 : 3000)) + "@mail.example";
    ev.success = attacker ? next(50) == 0 : next(30) != 0;
    ev.protocol = next(4) == 0 ? "smtp" : "imap";
    ev.asn = attacker ? 64500 : 3320 + static_cast<uint32_t>(next(3));
    const EnrichedEvent e = ev.Build();
    ComputeKeys(e, &a);
    ComputeKeys(e, &b);
    a.event = &e;
    b.event = &e;
    out_a.clear();
    out_b.clear();
    filtered.Process(a, &out_a);
    reference.Process(b, &out_b);
    ASSERT_EQ(out_a.size(), out_b.size()) << "event " << i;
    for (size_t k = 0; k < out_a.size(); ++k) {
      ASSERT_EQ(out_a[k].rule, out_b[k].rule) << "event " << i;
      ASSERT_EQ(out_a[k].subject.value, out_b[k].subject.value) << "event " << i;
      ASSERT_EQ(out_a[k].evidence_json, out_b[k].evidence_json) << "event " << i;
    }
    signals += out_a.size();
    if (i == 150000) filtered.SetRules(loaded.rules);
  }
  EXPECT_GT(signals, 10u) << "the stream must make the rules fire for the comparison to mean anything";
  EXPECT_EQ(filtered.KeysByKind(), reference.KeysByKind());
}

}  // namespace
}  // namespace authwatch
