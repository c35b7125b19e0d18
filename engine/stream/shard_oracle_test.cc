#include "stream/shard_oracle.h"

#include <random>

#include "app/pipeline.h"
#include "app/startup.h"
#include "detect/rule_loader.h"
#include "gtest/gtest.h"
#include "state/state_codec.h"
#include "stream/network_shard.h"

namespace authwatch {
namespace {

using Result = SnapshotVerdict::Result;

class Discard final : public OutputSink, public DeadLetterSink {
 public:
  void Decision(const authwatch::Decision&) override {}
  void Enriched(const EnrichedEvent&) override {}
  void Write(const DeadLetter&) override {}
};

// Collects what an account shard forwards, for one network shard (address role, partition 0 of 1).
class Collect final : public EventForwarder {
 public:
  void Forward(const EnrichedEvent& e, const EventContext& ctx, const std::vector<ProfileFacts>& facts) override {
    if (RouteKey(ctx, ShardRole::kAddress) == 0) return;
    ToRoutedEvent(e, source, offset, facts, &events.emplace_back());
  }
  int32_t source = 0;
  int64_t offset = 0;
  std::vector<v1::RoutedEvent> events;
};

class ShardOracleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.scale_out.partitions = 1;
    RuleLoadResult loaded = LoadRules({std::string(AUTHWATCH_SOURCE_DIR) + "/rules"});
    ASSERT_NE(loaded.rules, nullptr);
    rules_ = loaded.rules;
    // Two partitions: users at home, a spraying /24, a brute-forced account.
    std::mt19937_64 rng(5);
    for (int32_t p = 0; p < 2; ++p) {
      OracleInput in{"events", p, p, {}};
      for (int64_t off = 0; off < 3000; ++off) {
        const int kind = static_cast<int>(rng() % 10);
        const int user = static_cast<int>(rng() % 300) * 2 + p;
        std::string ip = kind < 7 ? "10.1." + std::to_string(user % 200) + ".9" : "203.0.113." + std::to_string(rng() % 4);
        const bool success = kind < 7 ? rng() % 20 != 0 : rng() % 50 == 0;
        const int64_t sec = off * 7;  // 7 s apart, on both partitions: ties across them
        char ts[32];
        std::snprintf(ts, sizeof ts, "2026-03-01T%02d:%02d:%02dZ", static_cast<int>(sec / 3600),
                      static_cast<int>(sec / 60 % 60), static_cast<int>(sec % 60));
        in.records.push_back({off, std::string("{\"ts\":\"") + ts + "\",\"account\":\"user" + std::to_string(user) +
                                       "@mail.example\",\"ip\":\"" + ip + "\",\"result\":\"" +
                                       (success ? "success" : "failure") + "\",\"protocol\":\"imap\"}"});
      }
      inputs_.push_back(std::move(in));
    }
  }

  std::unique_ptr<Pipeline> AccountPipeline() {
    auto decoder = MakeDecoder(config_, InputFormat::kJson);
    return std::make_unique<Pipeline>(*std::move(decoder), &geo_, RulesForRole(rules_, ShardRole::kAccount),
                                      config_.input.late_allowance_ms, EmitMode::kDecisions, &discard_, &discard_);
  }
  // The account shard of partition `p` after its records [0, upto), less the one at `skip`.
  v1::ShardState AccountSnapshot(int32_t p, int64_t upto, int64_t skip = -1, int64_t labelled = -1) {
    auto pipeline = AccountPipeline();
    for (const InputRecord& r : inputs_[p].records) {
      if (r.offset >= upto) break;
      if (r.offset != skip) pipeline->Process(r.payload, SourcePosition{"events", r.offset, p});
    }
    v1::ShardState s = StateCodec::Snapshot(pipeline->detection(), pipeline->policy(), upto);
    v1::InputPosition* in = s.add_inputs();
    in->set_topic("events");
    in->set_partition(p);
    in->set_next_offset(labelled >= 0 ? labelled : upto);
    return s;
  }
  std::vector<Result> Check(const ShardId& id, const std::vector<v1::ShardState>& states) {
    ShardOracle oracle(config_, rules_, &geo_, inputs_);
    std::vector<const v1::ShardState*> ptrs;
    for (const auto& s : states) ptrs.push_back(&s);
    std::vector<Result> out;
    for (const SnapshotVerdict& v : oracle.Check(id, ptrs)) out.push_back(v.result);
    return out;
  }

  AppConfig config_;
  std::shared_ptr<const RuleSet> rules_;
  GeoEnricher geo_{nullptr, GeoOptions{}};
  Discard discard_;
  std::vector<OracleInput> inputs_;
};

TEST_F(ShardOracleTest, AccountShardSnapshotsAreEqualOnlyWhenTheyHoldExactlyTheirPrefix) {
  const ShardId shard{ShardId::Kind::kAccount, "events", 1};
  EXPECT_EQ(Check(shard, {AccountSnapshot(1, 0), AccountSnapshot(1, 1700), AccountSnapshot(1, 3000)}),
            (std::vector<Result>{Result::kEqual, Result::kEqual, Result::kEqual}));
  // An event lost before the snapshot, a snapshot labelled one offset later than its state, one
  // beyond the input.
  EXPECT_EQ(Check(shard, {AccountSnapshot(1, 1700, 900), AccountSnapshot(1, 1700, -1, 1701),
                          AccountSnapshot(1, 3000, -1, 3001)}),
            (std::vector<Result>{Result::kDiffer, Result::kDiffer, Result::kDiffer}));
}

TEST_F(ShardOracleTest, NetworkShardSnapshotsAreCheckedAtTheirProgressInMergeOrder) {
  // The deployment: both account shards forward; the network shard receives source 1's events
  // first, then source 0's, and releases only what nothing still to come can precede.
  Collect forwarded;
  for (int32_t p = 0; p < 2; ++p) {
    auto pipeline = AccountPipeline();
    pipeline->set_forwarder(&forwarded);
    forwarded.source = p;
    for (const InputRecord& r : inputs_[p].records) {
      forwarded.offset = r.offset;
      pipeline->Process(r.payload, SourcePosition{"events", r.offset, p});
    }
  }
  NetworkShard shard(ShardRole::kAddress, rules_, 2, &geo_);
  std::vector<v1::ShardState> snapshots;
  int64_t offset = 0;
  auto take = [&] { snapshots.push_back(shard.Snapshot(offset)); };
  take();  // nothing processed
  for (const v1::RoutedEvent& e : forwarded.events) {
    if (e.source() == 1) shard.Add(e, offset++);
  }
  shard.Release([](int64_t, std::vector<Decision>&) {});
  take();  // source 0 has not reported: still nothing processed
  size_t n = 0;
  for (const v1::RoutedEvent& e : forwarded.events) {
    if (e.source() != 0) continue;
    shard.Add(e, offset++);
    if (++n % 500 == 0) {
      shard.Release([](int64_t, std::vector<Decision>&) {});
      take();
    }
  }
  ASSERT_GE(snapshots.size(), 4u);
  // Progress that no merge order reaches: source 1 ahead of what source 0's time allows.
  v1::ShardState skewed = snapshots[2];
  for (v1::SourceProgress& p : *skewed.mutable_sources()) {
    if (p.source() == 1) p.set_processed_offset(2990);
  }
  snapshots.push_back(skewed);
  std::vector<Result> expected(snapshots.size(), Result::kEqual);
  expected.back() = Result::kDiffer;
  EXPECT_EQ(Check(ShardId{ShardId::Kind::kAddress, "events.by-address", 0}, snapshots), expected);
}

}  // namespace
}  // namespace authwatch
