#include "state/state_codec.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/strings.h"
#include "detect/test_events.h"
#include "gtest/gtest.h"
#include "state/snapshot_chunks.h"

namespace authwatch {
namespace {

using testing::Ev;
using testing::kHour;
using testing::kMinute;
using testing::kSecond;
using testing::Rules;

std::shared_ptr<const RuleSet> ShippedRules() {
  RuleLoadResult r = LoadRules({std::string(AUTHWATCH_SOURCE_DIR) + "/rules"});
  EXPECT_NE(r.rules, nullptr) << "rules/ does not compile";
  return r.rules;
}

std::string Describe(const Signal& s) {
  std::string out = Cat(s.rule, " ", KeyKindName(s.subject.type), "=", s.subject.value, " @", s.ts_ms, " trigger ",
                        s.trigger_id, " ", ActionName(s.consequence.action), "/", s.consequence.scope, " ",
                        s.evidence_json);
  for (const auto& r : s.reasons) Append(&out, " | ", r);
  return out;
}

std::string Describe(const Decision& d) {
  std::string out = Cat(d.decision_id, " ", ActionName(d.action), " ", KeyKindName(d.subject.type), "=",
                        d.subject.value, " @", d.ts_ms, " ttl ", d.ttl_s, " until ", d.expires_ms, " ", d.rule,
                        " scope ", d.scope, " sev ", d.severity, d.dry_run ? " dry" : "", " would ",
                        ActionName(d.would_action), " offence ", d.offence, " ", d.evidence_json);
  for (const auto& r : d.reasons) Append(&out, " | ", r);
  return out;
}

// One shard as the pipeline drives it: expire to the newest event time, detect, decide.
class Shard {
 public:
  explicit Shard(std::shared_ptr<const RuleSet> rules) : engine_(rules), policy_(rules) {}

  // The signals and decisions this event causes, as text.
  std::vector<std::string> Feed(const EnrichedEvent& e) {
    std::vector<std::string> out;
    newest_ms_ = std::max(newest_ms_, e.event.ts_ms);
    decisions_.clear();
    policy_.AdvanceTo(newest_ms_, &decisions_);
    signals_.clear();
    engine_.Process(e, &ctx_, &signals_);
    for (const Signal& s : signals_) {
      policy_.OnSignal(s, ctx_, &decisions_);
      out.push_back(Cat("signal ", Describe(s)));
    }
    for (const Decision& d : decisions_) out.push_back(Cat("decision ", Describe(d)));
    return out;
  }

  DetectionEngine engine_;
  DecisionPolicy policy_;
  EventTimeMs newest_ms_ = 0;

 private:
  EventContext ctx_;
  std::vector<Signal> signals_;
  std::vector<Decision> decisions_;
};

// Snapshot -> bytes -> chunks -> bytes -> restore, the way the state topic will carry it.
absl::Status RoundTrip(const Shard& from, Shard* to, int64_t offset = 42) {
  const std::string bytes = StateCodec::Snapshot(from.engine_, from.policy_, offset).SerializeAsString();
  absl::StatusOr<ChunkedSnapshot> chunked = ChunkSnapshot(bytes, 3, offset, 64 * 1024);
  if (!chunked.ok()) return chunked.status();
  absl::StatusOr<std::string> assembled = AssembleSnapshot(chunked->manifest, chunked->chunks);
  if (!assembled.ok()) return assembled.status();
  absl::StatusOr<v1::ShardState> state = ParseShardState(*assembled);
  if (!state.ok()) return state.status();
  if (state->input_offset() != offset) return absl::InternalError("offset lost");
  to->newest_ms_ = from.newest_ms_;  // the pipeline's watermark; it will be in the pipeline's own state
  return StateCodec::Restore(*state, &to->engine_, &to->policy_);
}

// A seeded day of mail logins: residents logging in from home (now and then failing or
// travelling), brute-force addresses, a credential-stuffing /24 on a hosting network, one
// address spraying hundreds of accounts (its distinct sets become sketches), and a few late
// events. Enough for every kind of state: windows in both generations, profiles, standing and
// expiring decisions, escalated offences.
std::vector<EnrichedEvent> Stream(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  struct Place {
    const char* country;
    uint32_t asn;
    double lat, lon;
  };
  static constexpr Place kHomes[] = {{"DE", 3320, 52.52, 13.40}, {"FR", 3215, 48.85, 2.35},
                                     {"GB", 2856, 51.51, -0.13}, {"NL", 1136, 52.37, 4.90}};
  static constexpr Place kAway[] = {{"US", 7922, 40.71, -74.0}, {"JP", 4713, 35.68, 139.7},
                                    {"BR", 28573, -23.55, -46.63}};
  static const char* const kProtocols[] = {"imap", "imap", "web", "smtp", "pop3"};
  std::vector<EnrichedEvent> out;
  out.reserve(n);
  EventTimeMs t = Ev{}.ts;
  auto account = [&](uint64_t i) { return Cat("user", i, "@mail.example"); };
  for (size_t i = 0; i < n; ++i) {
    t += static_cast<EventTimeMs>(rng() % 4000);
    Ev ev;
    ev.ts = t;
    ev.protocol = kProtocols[rng() % 5];
    static const char* const kClients[] = {"", "Thunderbird/128.5.0", "iPhone Mail (22B83)", "Mozilla/5.0 Firefox/132.0"};
    ev.user_agent = kClients[rng() % 4];  // devices: more than the two a profile remembers
    const uint64_t kind = rng() % 100;
    if (kind < 55) {  // a resident at home
      const uint64_t u = rng() % 300;
      const Place& p = kHomes[u % 4];
      ev.account = account(u);
      ev.ip = Cat("11.", u / 200, ".", u % 200, ".", 1 + u % 7);
      ev.country = p.country;
      ev.asn = p.asn;
      ev.lat = p.lat;
      ev.lon = p.lon;
      ev.success = rng() % 10 != 0;
    } else if (kind < 58) {  // a resident somewhere far away (travel, new country)
      const uint64_t u = rng() % 300;
      const Place& p = kAway[rng() % 3];
      ev.account = account(u);
      ev.ip = rng() % 2 == 0 ? Cat("13.", rng() % 50, ".", rng() % 250, ".9")
                             : Cat("2001:db8:", rng() % 50, "::", 1 + rng() % 250);
      ev.country = p.country;
      ev.asn = p.asn;
      ev.lat = p.lat;
      ev.lon = p.lon;
      ev.success = true;
    } else if (kind < 75) {  // brute force from a few addresses, in bursts
      ev.account = account(rng() % 20);
      ev.ip = Cat("45.155.205.", rng() % 6);
      ev.country = "RU";
      ev.asn = 202425;
      ev.success = rng() % 50 == 0;
    } else if (kind < 88) {  // stuffing from a hosting /24
      ev.account = account(rng() % 2000);
      ev.ip = Cat("185.220.101.", rng() % 16);
      ev.country = "NL";
      ev.asn = 60781;
      ev.success = rng() % 12 == 0;
    } else {  // one address spraying many accounts
      ev.account = account(1000 + rng() % 5000);
      ev.ip = "203.0.113.66";
      ev.country = "CN";
      ev.asn = 4134;
      ev.success = false;
    }
    if (rng() % 200 == 0) ev.ts -= static_cast<EventTimeMs>(rng() % (2 * kMinute));  // late
    out.push_back(ev.Build());
  }
  return out;
}

size_t WindowKeys(const DetectionEngine& e) {
  size_t n = 0;
  for (size_t k : e.windows().KeysByKind()) n += k;
  return n;
}

TEST(StateCodecTest, RestoredShardContinuesExactlyLikeTheOriginal) {
  const auto rules = ShippedRules();
  ASSERT_NE(rules, nullptr);
  for (const uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(Cat("seed ", seed));
    const std::vector<EnrichedEvent> events = Stream(seed, 24000);
    const size_t cut = events.size() / 2;
    Shard original(rules);
    for (size_t i = 0; i < cut; ++i) original.Feed(events[i]);
    ASSERT_GT(WindowKeys(original.engine_), 50u);
    ASSERT_GT(original.engine_.profiles().size(), 200u);
    ASSERT_GT(original.policy_.active(), 0u);

    Shard restored(rules);
    ASSERT_TRUE(RoundTrip(original, &restored).ok());
    EXPECT_EQ(StateDigest(restored.engine_, restored.policy_), StateDigest(original.engine_, original.policy_));
    EXPECT_EQ(restored.engine_.windows().KeysByKind(), original.engine_.windows().KeysByKind());
    EXPECT_EQ(restored.engine_.profiles().size(), original.engine_.profiles().size());
    EXPECT_EQ(restored.policy_.ActiveByAction(), original.policy_.ActiveByAction());

    size_t outputs = 0, unblocks = 0;
    for (size_t i = cut; i < events.size(); ++i) {
      const std::vector<std::string> a = original.Feed(events[i]);
      const std::vector<std::string> b = restored.Feed(events[i]);
      ASSERT_EQ(a, b) << "event " << i;
      outputs += a.size();
      unblocks += std::count_if(a.begin(), a.end(), [](const std::string& s) { return s.find(" unblock ") != s.npos; });
    }
    EXPECT_GT(outputs, 20u) << "the continuation must decide something to prove anything";
    EXPECT_GT(unblocks, 0u) << "decisions standing at the snapshot must expire after it";
    EXPECT_EQ(StateDigest(restored.engine_, restored.policy_), StateDigest(original.engine_, original.policy_));
  }
}

constexpr char kTwoRules[] = R"(
- rule: failures-ip
  key: ip
  window: 10m
  when:
    - count: {result: failure}
      at_least: 5
  then: [{action: block, ttl: 1h}]
- rule: failures-account
  key: account
  window: 10m
  when:
    - count: {result: failure}
      at_least: 5
  then: [{action: challenge, subject: account, ttl: 1h}]
)";

TEST(StateCodecTest, SnapshotIsCanonicalWhateverTheInsertionOrder) {
  // Per-account and per-address state of distinct accounts and addresses: fed forwards or
  // backwards at one instant, the state is the same although the hash maps were filled in
  // different orders. (Rules keyed by a shared ASN would keep different evidence samples.)
  const auto rules = Rules(kTwoRules);
  ASSERT_NE(rules, nullptr);
  std::vector<EnrichedEvent> events;
  for (int i = 0; i < 3000; ++i) {
    Ev ev;
    ev.account = Cat("user", i, "@mail.example");
    ev.ip = Cat("11.", i / 250, ".", i % 250, ".1");
    ev.success = i % 3 != 0;
    events.push_back(ev.Build());
  }
  Shard forwards(rules), backwards(rules);
  for (const auto& e : events) forwards.Feed(e);
  for (auto it = events.rbegin(); it != events.rend(); ++it) backwards.Feed(*it);
  EXPECT_EQ(StateDigest(forwards.engine_, forwards.policy_), StateDigest(backwards.engine_, backwards.policy_));
  EXPECT_TRUE(StateCodec::Snapshot(forwards.engine_, forwards.policy_, 7).SerializeAsString() ==
              StateCodec::Snapshot(backwards.engine_, backwards.policy_, 7).SerializeAsString());
  // And the digest does see the state: one more login changes it.
  const uint64_t before = StateDigest(forwards.engine_, forwards.policy_);
  Ev more;
  more.ts += kSecond;
  more.success = true;
  forwards.Feed(more.Build());
  EXPECT_NE(StateDigest(forwards.engine_, forwards.policy_), before);
}

TEST(StateCodecTest, RuleWhoseFingerprintChangedStartsEmpty) {
  Shard before(Rules(kTwoRules));
  Ev ev;
  for (int i = 0; i < 4; ++i) {
    ev.ts += kSecond;
    ASSERT_TRUE(before.Feed(ev.Build()).empty());
  }
  // The ip rule's window changes (10m -> 20m); the account rule is the same.
  std::string changed = kTwoRules;
  changed.replace(changed.find("window: 10m"), 11, "window: 20m");
  const auto new_rules = Rules(changed);
  ASSERT_NE(new_rules, nullptr);
  Shard after(new_rules);
  ASSERT_TRUE(RoundTrip(before, &after).ok());
  const auto keys = after.engine_.windows().KeysByKind();
  EXPECT_EQ(keys[static_cast<int>(KeyKind::kIp)], 0u) << "failures-ip starts empty";
  EXPECT_EQ(keys[static_cast<int>(KeyKind::kAccount)], 1u) << "failures-account keeps its state";
  ev.ts += kSecond;
  const std::vector<std::string> out = after.Feed(ev.Build());
  ASSERT_EQ(out.size(), 2u);  // the fifth failure: a signal and its decision
  EXPECT_NE(out[0].find("signal failures-account account=alice@mail.example"), std::string::npos) << out[0];
}

constexpr char kSprayRule[] = R"(
- rule: spray
  key: ip
  window: 1h
  when:
    - distinct: account
      where: {result: failure}
      at_least: 150
  then: [{action: block, ttl: 1h}]
)";

TEST(StateCodecTest, SketchModeDistinctRoundTrips) {
  const auto rules = Rules(kSprayRule);
  Shard original(rules);
  Ev ev;
  ev.ip = "203.0.113.66";
  for (int i = 0; i < 100; ++i) {  // past the 64 exact entries: a sketch
    ev.ts += kSecond;
    ev.account = Cat("victim", i, "@mail.example");
    ASSERT_TRUE(original.Feed(ev.Build()).empty());
  }
  const v1::ShardState state = StateCodec::Snapshot(original.engine_, original.policy_, 100);
  ASSERT_EQ(state.rules_size(), 1);
  ASSERT_EQ(state.rules(0).current_size(), 1);
  const v1::SlidingDistinctState& d = state.rules(0).current(0).conditions(0).distinct();
  ASSERT_TRUE(d.has_sketch());
  EXPECT_EQ(d.sketch().registers().size(), 512u);
  EXPECT_EQ(d.exact_hashes_size(), 0);

  Shard restored(rules);
  ASSERT_TRUE(RoundTrip(original, &restored).ok());
  EXPECT_EQ(StateDigest(restored.engine_, restored.policy_), StateDigest(original.engine_, original.policy_));
  int fired_at = -1;
  for (int i = 100; i < 300 && fired_at < 0; ++i) {
    ev.ts += kSecond;
    ev.account = Cat("victim", i, "@mail.example");
    const auto a = original.Feed(ev.Build());
    ASSERT_EQ(a, restored.Feed(ev.Build())) << "victim " << i;
    if (!a.empty()) fired_at = i;
  }
  EXPECT_GT(fired_at, 120) << "the estimate is near the truth (9 % standard error)";
  EXPECT_EQ(StateDigest(restored.engine_, restored.policy_), StateDigest(original.engine_, original.policy_));
}

TEST(StateCodecTest, TextThatIsNotUtf8RoundTrips) {
  // Log lines need not be UTF-8 (a Latin-1 syslog account): proto3 would refuse to parse such a
  // `string` field, so every input-derived text in the snapshot is `bytes`.
  const auto rules = Rules(kTwoRules);
  Shard original(rules);
  Ev ev;
  ev.account = "m\xfcller@mail.example";
  ev.protocol = "\xff\xfe";
  for (int i = 0; i < 5; ++i) {
    ev.ts += kSecond;
    original.Feed(ev.Build());
  }
  ASSERT_GT(original.policy_.active(), 0u);
  Shard restored(rules);
  ASSERT_TRUE(RoundTrip(original, &restored).ok());
  EXPECT_EQ(StateDigest(restored.engine_, restored.policy_), StateDigest(original.engine_, original.policy_));
  ev.ts += kSecond;
  EXPECT_EQ(original.Feed(ev.Build()), restored.Feed(ev.Build()));
}

TEST(StateCodecTest, EmptyStateRoundTrips) {
  const auto rules = ShippedRules();
  ASSERT_NE(rules, nullptr);
  Shard a(rules), b(rules);
  ASSERT_TRUE(RoundTrip(a, &b).ok());
  EXPECT_EQ(StateDigest(a.engine_, a.policy_), StateDigest(b.engine_, b.policy_));
}

// ---- Bad input ------------------------------------------------------------------------------

class BadSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(rules_, nullptr);
    for (const auto& e : Stream(7, 6000)) source_.Feed(e);
    good_ = StateCodec::Snapshot(source_.engine_, source_.policy_, 6000);
    ASSERT_GT(good_.policy().expiry_at_ms_size(), 2);
    target_digest_ = StateDigest(target_.engine_, target_.policy_);
  }
  // Restores `s` into the target; the target must be untouched when it fails.
  absl::Status Restore(const v1::ShardState& s) {
    absl::Status st = StateCodec::Restore(s, &target_.engine_, &target_.policy_);
    if (!st.ok()) {
      EXPECT_EQ(StateDigest(target_.engine_, target_.policy_), target_digest_) << "a failed restore changed state";
    }
    return st;
  }
  // The first key state in the current generation of any rule.
  v1::KeyWindowState* SomeKey(v1::ShardState* s) {
    for (auto& r : *s->mutable_rules()) {
      if (r.current_size() > 0) return r.mutable_current(0);
    }
    ADD_FAILURE() << "no window state";
    return nullptr;
  }
  // A condition of `aggregate` in the first key state of a rule that has one.
  v1::ConditionWindowState* SomeCondition(v1::ShardState* s, Aggregate aggregate) {
    for (auto& r : *s->mutable_rules()) {
      if (r.current_size() == 0) continue;
      for (const CompiledRule& rule : rules_->rules) {
        if (rule.name != r.name()) continue;
        for (size_t i = 0; i < rule.when.size(); ++i) {
          if (rule.when[i].aggregate == aggregate) return r.mutable_current(0)->mutable_conditions(static_cast<int>(i));
        }
      }
    }
    ADD_FAILURE() << "no window state of that aggregate";
    return nullptr;
  }
  std::shared_ptr<const RuleSet> rules_ = ShippedRules();
  Shard source_{rules_};
  Shard target_{rules_};
  v1::ShardState good_;
  uint64_t target_digest_ = 0;
};

void ExpectError(const absl::Status& s, absl::StatusCode code, std::string_view fragment) {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_NE(FromAbsl(s.message()).find(fragment), std::string_view::npos)
      << "message: " << s.message() << "\nexpected to contain: " << fragment;
}

TEST_F(BadSnapshotTest, GoodSnapshotRestores) { EXPECT_TRUE(Restore(good_).ok()); }

TEST_F(BadSnapshotTest, UnknownFormatVersion) {
  v1::ShardState s = good_;
  s.set_format_version(2);
  ExpectError(Restore(s), absl::StatusCode::kFailedPrecondition, "format version 2, this build reads 1 only");
}

TEST_F(BadSnapshotTest, WrongConditionCount) {
  v1::ShardState s = good_;
  SomeKey(&s)->add_conditions();
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "conditions, the rule has");
}

TEST_F(BadSnapshotTest, SampleRingOutOfStep) {
  v1::ShardState s = good_;
  v1::KeyWindowState* k = SomeKey(&s);
  k->set_next_sample(static_cast<uint32_t>(k->samples_size()) + 1);
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "next sample");
}

TEST_F(BadSnapshotTest, SampleAddressOfWrongSize) {
  v1::ShardState s = good_;
  v1::KeyWindowState* k = SomeKey(&s);
  ASSERT_GT(k->samples_size(), 0);
  k->mutable_samples(0)->set_ip("\x01\x02\x03\x04\x05");
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "sample address of 5 bytes, expected 4 or 16");
}

TEST_F(BadSnapshotTest, CounterOverflowsItsBucket) {
  v1::ShardState s = good_;
  v1::KeyWindowState* k = SomeKey(&s);
  v1::ConditionWindowState* c = k->mutable_conditions(0);
  c->mutable_numerator()->add_counts(70000);
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "condition 0:");
}

TEST_F(BadSnapshotTest, TimeOutOfRange) {
  v1::ShardState s = good_;
  SomeKey(&s)->set_latest_ms(INT64_MAX);
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "event time out of range");
}

TEST_F(BadSnapshotTest, DuplicateKey) {
  v1::ShardState s = good_;
  for (auto& r : *s.mutable_rules()) {
    if (r.current_size() > 0) {
      *r.add_previous() = r.current(0);
      ExpectError(Restore(s), absl::StatusCode::kDataLoss, "key appears twice");
      return;
    }
  }
  FAIL() << "no window state";
}

// A state keeps only the windows of each condition's aggregate (engine/detect/key_state.h).
TEST_F(BadSnapshotTest, WindowOfAnotherAggregate) {
  {
    v1::ShardState s = good_;
    *SomeCondition(&s, Aggregate::kCount)->mutable_denominator() = SomeCondition(&s, Aggregate::kCount)->numerator();
    ExpectError(Restore(s), absl::StatusCode::kDataLoss, "a denominator, but the condition is not a ratio");
  }
  {
    v1::ShardState s = good_;
    SomeCondition(&s, Aggregate::kRatio)->mutable_distinct()->add_exact_hashes(1);
    ExpectError(Restore(s), absl::StatusCode::kDataLoss, "distinct values, but the condition is not a distinct count");
  }
  {
    v1::ShardState s = good_;
    SomeCondition(&s, Aggregate::kDistinct)->mutable_numerator()->set_head(1);
    ExpectError(Restore(s), absl::StatusCode::kDataLoss, "a counter, but the condition counts distinct values");
  }
}

TEST_F(BadSnapshotTest, SketchOfWrongSize) {
  v1::ShardState s = good_;
  v1::ConditionWindowState* c = SomeCondition(&s, Aggregate::kDistinct);
  c->mutable_distinct()->mutable_sketch()->set_registers(std::string(100, '\x01'));
  c->mutable_distinct()->clear_exact_hashes();
  c->mutable_distinct()->clear_exact_last_seen_s();
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "sketch of 100 register bytes, expected 512");
}

TEST_F(BadSnapshotTest, ProfileColumnTooShort) {
  v1::ShardState s = good_;
  s.mutable_profiles()->mutable_successes()->RemoveLast();
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "state snapshot: profiles: column successes has");
}

TEST_F(BadSnapshotTest, DevicesColumnOfWrongLength) {
  v1::ShardState s = good_;
  ASSERT_GT(s.profiles().devices_size(), 1);
  s.mutable_profiles()->mutable_devices()->RemoveLast();
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "column devices has");
}

// Snapshots written before profiles remembered devices have no devices column: they restore,
// and every account then has no device history (device_known until it logs in again).
TEST_F(BadSnapshotTest, SnapshotWithoutDevicesRestoresWithNoDeviceHistory) {
  v1::ShardState s = good_;
  s.mutable_profiles()->clear_devices();
  ASSERT_TRUE(Restore(s).ok());
  const v1::ShardState again = StateCodec::Snapshot(target_.engine_, target_.policy_, 6000);
  ASSERT_EQ(again.profiles().devices_size(), s.profiles().key_deltas_size());
  for (uint32_t d : again.profiles().devices()) EXPECT_EQ(d, 0u);
}

TEST_F(BadSnapshotTest, DuplicateProfileKey) {
  v1::ShardState s = good_;
  ASSERT_GT(s.profiles().key_deltas_size(), 2);
  s.mutable_profiles()->set_key_deltas(1, 0);
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "appears twice");
}

TEST_F(BadSnapshotTest, ExpiryQueueNotAHeap) {
  v1::ShardState s = good_;
  auto* at = s.mutable_policy()->mutable_expiry_at_ms();
  at->Set(0, at->Get(1) + 1);  // the root later than a child
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "the expiry queue is not a heap");
}

TEST_F(BadSnapshotTest, UnknownSubjectType) {
  v1::ShardState s = good_;
  ASSERT_GT(s.policy().active_size(), 0);
  s.mutable_policy()->mutable_active(0)->set_subject_type(static_cast<v1::SubjectType>(99));
  ExpectError(Restore(s), absl::StatusCode::kDataLoss, "subject type 99");
}

TEST_F(BadSnapshotTest, NotAShardState) {
  ExpectError(ParseShardState("\xff\xff\xff\xff not a snapshot").status(), absl::StatusCode::kDataLoss,
              "do not parse as authwatch.v1.ShardState");
}

TEST_F(BadSnapshotTest, RandomDamageIsAnErrorOrAStateNeverACrash) {
  // Bytes flipped, truncated or spliced: each either fails to parse, fails to restore with an
  // error, or restores some state; the sanitizer build checks that none reads out of bounds.
  const std::string bytes = good_.SerializeAsString();
  std::mt19937_64 rng(11);
  int parsed = 0, restored = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string b = bytes;
    switch (trial % 3) {
      case 0:
        for (int k = 0; k < 4; ++k) b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 1: b.resize(rng() % b.size()); break;
      case 2: {
        const size_t at = rng() % b.size();
        b.insert(at, b.substr(rng() % b.size(), 1 + rng() % 64));
        break;
      }
    }
    absl::StatusOr<v1::ShardState> s = ParseShardState(b);
    if (!s.ok()) continue;
    ++parsed;
    Shard fresh(rules_);
    if (StateCodec::Restore(*s, &fresh.engine_, &fresh.policy_).ok()) {
      ++restored;
      Ev ev;  // and the engine still runs
      ev.ts = 1762077600000 + 30 * kHour;
      fresh.Feed(ev.Build());
    }
  }
  EXPECT_GT(parsed, 0);
  RecordProperty("parsed", parsed);
  RecordProperty("restored", restored);
}

// Every scalar value in `m`, anywhere: (message, field, index in a repeated field).
struct Leaf {
  google::protobuf::Message* message;
  const google::protobuf::FieldDescriptor* field;
  int index;
};
void Leaves(google::protobuf::Message* m, std::vector<Leaf>* out) {
  using FD = google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m->GetReflection();
  for (int i = 0; i < m->GetDescriptor()->field_count(); ++i) {
    const FD* f = m->GetDescriptor()->field(i);
    if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(*m, f); ++k) Leaves(r->MutableRepeatedMessage(m, f, k), out);
      } else if (r->HasField(*m, f)) {
        Leaves(r->MutableMessage(m, f), out);
      }
    } else if (f->is_repeated()) {
      for (int k = 0; k < r->FieldSize(*m, f); ++k) out->push_back({m, f, k});
    } else {
      out->push_back({m, f, -1});
    }
  }
}

// Sets one scalar to a random value: small, just past a 16-bit range, negative, or any.
void Damage(const Leaf& leaf, std::mt19937_64& rng) {
  using FD = google::protobuf::FieldDescriptor;
  google::protobuf::Message* m = leaf.message;
  const FD* f = leaf.field;
  const int k = leaf.index;
  const google::protobuf::Reflection* r = m->GetReflection();
  uint64_t v = rng();
  switch (rng() % 4) {
    case 0: v %= 4; break;
    case 1: v = 65530 + v % 10; break;
    case 2: v = static_cast<uint64_t>(-static_cast<int64_t>(v % 100)); break;
    default: break;
  }
  switch (f->cpp_type()) {
    case FD::CPPTYPE_INT32:
      k >= 0 ? r->SetRepeatedInt32(m, f, k, static_cast<int32_t>(v)) : r->SetInt32(m, f, static_cast<int32_t>(v));
      break;
    case FD::CPPTYPE_INT64:
      k >= 0 ? r->SetRepeatedInt64(m, f, k, static_cast<int64_t>(v)) : r->SetInt64(m, f, static_cast<int64_t>(v));
      break;
    case FD::CPPTYPE_UINT32:
      k >= 0 ? r->SetRepeatedUInt32(m, f, k, static_cast<uint32_t>(v)) : r->SetUInt32(m, f, static_cast<uint32_t>(v));
      break;
    case FD::CPPTYPE_UINT64: k >= 0 ? r->SetRepeatedUInt64(m, f, k, v) : r->SetUInt64(m, f, v); break;
    case FD::CPPTYPE_BOOL: k >= 0 ? r->SetRepeatedBool(m, f, k, v & 1) : r->SetBool(m, f, v & 1); break;
    case FD::CPPTYPE_ENUM: {
      const int e = static_cast<int>(v % 8);
      k >= 0 ? r->SetRepeatedEnumValue(m, f, k, e) : r->SetEnumValue(m, f, e);
      break;
    }
    case FD::CPPTYPE_STRING: {
      const std::string bytes(v % 20, static_cast<char>(v >> 8));
      k >= 0 ? r->SetRepeatedString(m, f, k, bytes) : r->SetString(m, f, bytes);
      break;
    }
    default: break;
  }
}

TEST_F(BadSnapshotTest, RandomFieldValuesAreAnErrorOrAStateNeverACrash) {
  // Values out of their range anywhere (counts, heads, times, slot days, sample rings, enums,
  // heap order): Restore refuses them or the engine runs on; the sanitizer build checks that
  // nothing overflows or reads out of bounds.
  std::mt19937_64 rng(12);
  const std::vector<EnrichedEvent> more = Stream(99, 100);
  int restored = 0, refused = 0;
  for (int trial = 0; trial < 120; ++trial) {
    v1::ShardState s = good_;
    std::vector<Leaf> leaves;
    Leaves(&s, &leaves);
    for (int k = 1 + trial % 3; k > 0; --k) Damage(leaves[rng() % leaves.size()], rng);
    s.set_format_version(kStateFormatVersion);
    Shard fresh(rules_);
    if (!StateCodec::Restore(s, &fresh.engine_, &fresh.policy_).ok()) {
      ++refused;
      continue;
    }
    ++restored;
    for (const auto& e : more) fresh.Feed(e);  // and the engine still runs
    StateDigest(fresh.engine_, fresh.policy_);
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(restored, 0);
  RecordProperty("restored", restored);
  RecordProperty("refused", refused);
}

}  // namespace
}  // namespace authwatch
