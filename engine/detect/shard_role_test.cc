#include "detect/shard_role.h"

#include <map>
#include <set>

#include "decide/decision_policy.h"
#include "detect/detection_engine.h"
#include "detect/rule_loader.h"
#include "detect/test_events.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

using testing::Ev;

TEST(ShardRoleTest, EveryRuleBelongsToExactlyOneRole) {
  RuleLoadResult loaded = LoadRules({std::string(AUTHWATCH_SOURCE_DIR) + "/rules"});
  ASSERT_NE(loaded.rules, nullptr);
  size_t total = 0;
  for (ShardRole role : {ShardRole::kAccount, ShardRole::kAddress, ShardRole::kAsn}) {
    auto subset = RulesForRole(loaded.rules, role);
    for (const auto& r : subset->rules) EXPECT_EQ(RoleOfKey(r.key), role) << r.name;
    total += subset->rules.size();
    EXPECT_EQ(subset->travel.empty(), role != ShardRole::kAccount);
    EXPECT_EQ(subset->novelty.empty(), role != ShardRole::kAccount);
  }
  EXPECT_EQ(total, loaded.rules->rules.size());
  EXPECT_EQ(RulesForRole(loaded.rules, ShardRole::kAll), loaded.rules);
}

// A small deployment in one process: account shards by account, address shards by prefix, ASN
// shards by ASN, each with its own engine and policy; every event goes to its account shard,
// which forwards it with the profile facts to its address and ASN shards. With events in time
// order, the shards' decisions must be replay's (one engine, kAll), id for id: the split by
// key changes where the work happens, not what is decided.
class ShardedDeployment {
 public:
  ShardedDeployment(const std::shared_ptr<const RuleSet>& rules, int shards) {
    for (ShardRole role : {ShardRole::kAccount, ShardRole::kAddress, ShardRole::kAsn}) {
      auto subset = RulesForRole(rules, role);
      for (int i = 0; i < shards; ++i) {
        shards_[role].push_back(std::make_unique<Shard>(subset));
      }
    }
  }
  void Process(const EnrichedEvent& e, std::vector<Decision>* out) {
    EventContext ctx;
    ComputeKeys(e, &ctx);
    Shard& account = Pick(ShardRole::kAccount, RouteKey(ctx, ShardRole::kAccount));
    account.Advance(e.event.ts_ms, out);
    account.signals.clear();
    account.engine.Process(e, &account.ctx, &account.signals);
    for (const Signal& s : account.signals) account.policy.OnSignal(s, account.ctx, out);
    const ProfileFacts facts = account.ctx.profile;  // as the account's shard saw it
    for (ShardRole role : {ShardRole::kAddress, ShardRole::kAsn}) {
      const uint64_t route = RouteKey(ctx, role);
      if (route == 0) continue;
      Shard& net = Pick(role, route);
      net.Advance(e.event.ts_ms, out);
      net.signals.clear();
      net.engine.ProcessWithFacts(e, facts, &net.ctx, &net.signals);
      for (const Signal& s : net.signals) net.policy.OnSignal(s, net.ctx, out);
    }
  }

 private:
  struct Shard {
    explicit Shard(std::shared_ptr<const RuleSet> rules) : engine(rules), policy(rules) {}
    // Each shard's clock is its own events' time (stream time, as in Kafka Streams).
    void Advance(EventTimeMs t, std::vector<Decision>* out) {
      clock = std::max(clock, t);
      policy.AdvanceTo(clock, out);
    }
    DetectionEngine engine;
    DecisionPolicy policy;
    EventContext ctx;
    std::vector<Signal> signals;
    EventTimeMs clock = 0;
  };
  Shard& Pick(ShardRole role, uint64_t route) {
    auto& v = shards_[role];
    return *v[route % v.size()];
  }
  std::map<ShardRole, std::vector<std::unique_ptr<Shard>>> shards_;
};

TEST(ShardRoleTest, ShardsDecideWhatOneEngineDecides) {
  RuleLoadResult loaded = LoadRules({std::string(AUTHWATCH_SOURCE_DIR) + "/rules"});
  ASSERT_NE(loaded.rules, nullptr);
  DetectionEngine single(loaded.rules);
  DecisionPolicy single_policy(loaded.rules);
  ShardedDeployment sharded(loaded.rules, 3);
  uint64_t rng = 11;
  auto next = [&rng](uint64_t n) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (rng >> 33) % n;
  };
  // Benign users at home networks (several ASNs), a spraying /24 on a hosting ASN, a
  // brute-forced account, stolen passwords used from the spraying network (stuffing success,
  // an address-keyed rule deciding on accounts), and SMTP senders on hosting addresses.
  std::set<std::string> single_ids, sharded_ids;
  std::vector<Decision> out;
  EventContext ctx;
  std::vector<Signal> signals;
  Ev ev;
  EventTimeMs clock = 0;
  for (int i = 0; i < 120000; ++i) {
    ev.ts += static_cast<EventTimeMs>(1 + next(3000));
    const int kind = static_cast<int>(next(100));
    const int user = static_cast<int>(next(2000));
    ev.account = "user" + std::to_string(user) + "@mail.example";
    ev.protocol = next(3) == 0 ? "smtp" : "imap";
    if (kind < 88) {  // a user at home
      ev.ip = "10." + std::to_string(user % 50) + "." + std::to_string(user / 50) + ".7";
      ev.asn = 3320 + static_cast<uint32_t>(user % 4);
      ev.country = "DE";
      ev.success = next(25) != 0;
    } else if (kind < 96) {  // spraying from a hosting /24
      ev.ip = "203.0.113." + std::to_string(next(20));
      ev.asn = 16509;
      ev.country = "US";
      ev.success = next(60) == 0;
      ev.account = "user" + std::to_string(next(4000)) + "@mail.example";
    } else if (kind < 98) {  // brute force on one account from many networks
      ev.account = "user7@mail.example";
      ev.ip = "198.51." + std::to_string(next(200)) + ".9";
      ev.asn = 4134;
      ev.country = "CN";
      ev.success = false;
    } else {  // hosting senders
      ev.ip = "192.0.2." + std::to_string(next(5));
      ev.asn = 14061;
      ev.country = "NL";
      ev.protocol = "smtp";
      ev.success = true;
    }
    const EnrichedEvent e = ev.Build();
    out.clear();
    clock = std::max(clock, e.event.ts_ms);
    single_policy.AdvanceTo(clock, &out);
    signals.clear();
    single.Process(e, &ctx, &signals);
    for (const Signal& s : signals) single_policy.OnSignal(s, ctx, &out);
    for (const Decision& d : out) {
      if (d.action != ActionKind::kUnblock) single_ids.insert(d.decision_id + " " + d.rule + " " + d.subject.value);
    }
    out.clear();
    sharded.Process(e, &out);
    for (const Decision& d : out) {
      if (d.action != ActionKind::kUnblock) sharded_ids.insert(d.decision_id + " " + d.rule + " " + d.subject.value);
    }
  }
  std::set<std::string> rules_fired;
  for (const auto& id : single_ids) rules_fired.insert(id.substr(id.find(' ') + 1, id.rfind(' ') - id.find(' ') - 1));
  EXPECT_GE(rules_fired.size(), 4u) << "the stream must exercise rules of every role";
  EXPECT_EQ(single_ids, sharded_ids);
}

}  // namespace
}  // namespace authwatch
