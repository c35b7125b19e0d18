#include "detect/rule_set.h"

#include <random>
#include <string>
#include <vector>

#include "detect/event_context.h"
#include "detect/test_events.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

// A filter on the result, profile facts and protocol is compiled to one mask test; it must
// answer exactly as the clause-by-clause evaluation does, negations and contradictions included.
TEST(RuleSetTest, FiltersOnFactsAnswerAsClauseByClause) {
  RuleSet rs;
  std::mt19937 rng(11);
  const FilterField facts[] = {FilterField::kNetworkKnown, FilterField::kAsnKnown,  FilterField::kCountryKnown,
                               FilterField::kAccountNew,   FilterField::kEstablished, FilterField::kDeviceKnown};
  const std::vector<std::string> protocol_sets[] = {{"smtp"}, {"imap"}, {"smtp", "submission"}, {"imap", "pop3"}};
  const char* protocols[] = {"smtp", "imap", "pop3", "submission", ""};
  for (int round = 0; round < 2000; ++round) {
    Filter f;
    const int clauses = static_cast<int>(rng() % 4);
    for (int i = 0; i < clauses; ++i) {
      FilterClause c;
      c.negate = rng() % 4 == 0;
      const int kind = static_cast<int>(rng() % 4);
      if (kind == 0) {
        c.field = FilterField::kResult;
        c.result_mask = static_cast<uint8_t>(rng() % 4);  // 0 and 3 too: never / always
      } else if (kind == 1) {
        c.field = FilterField::kProtocol;
        c.strings = protocol_sets[rng() % 4];
      } else {
        c.field = facts[rng() % 6];
        c.boolean = rng() % 2 == 0;
      }
      f.clauses.push_back(c);
    }
    Filter reference = f;  // not compiled: evaluated clause by clause, not memoised
    rs.rules.clear();
    rs.rules.emplace_back();
    rs.rules.back().on = f;
    rs.CompileFilters();
    const Filter& on_facts = rs.rules.back().on;
    ASSERT_TRUE(on_facts.on_facts);
    for (int e = 0; e < 8; ++e) {
      testing::Ev ev;
      ev.success = rng() % 2 == 0;
      ev.protocol = protocols[rng() % 5];
      const EnrichedEvent event = ev.Build();
      EventContext ctx;
      ComputeKeys(event, &ctx);
      ctx.profile.network_known = rng() % 2;
      ctx.profile.asn_known = rng() % 2;
      ctx.profile.country_known = rng() % 2;
      ctx.profile.account_new = rng() % 2;
      ctx.profile.established = rng() % 2;
      ctx.profile.device_known = rng() % 2;
      EXPECT_EQ(rs.Matches(on_facts, ctx), rs.Matches(reference, ctx)) << "round " << round << " event " << e;
    }
  }
}

// Past the fact bits for protocol sets, further sets are evaluated clause by clause, correctly.
TEST(RuleSetTest, ProtocolSetsBeyondTheFactBitsAreEvaluatedClauseByClause) {
  RuleSet rs;
  for (int i = 0; i < RuleSet::kMaxProtocolSets + 6; ++i) {
    CompiledRule r;
    FilterClause c;
    c.field = FilterField::kProtocol;
    c.strings = {"proto" + std::to_string(i)};
    r.on.clauses.push_back(c);
    rs.rules.push_back(r);
  }
  rs.CompileFilters();
  EXPECT_EQ(rs.protocol_sets.size(), static_cast<size_t>(RuleSet::kMaxProtocolSets));
  for (int e = 0; e < RuleSet::kMaxProtocolSets + 6; ++e) {
    testing::Ev ev;
    ev.protocol = "proto" + std::to_string(e);
    const EnrichedEvent event = ev.Build();
    EventContext ctx;
    ComputeKeys(event, &ctx);
    for (size_t i = 0; i < rs.rules.size(); ++i) {
      EXPECT_EQ(rs.Matches(rs.rules[i].on, ctx), static_cast<int>(i) == e) << "rule " << i << " event " << e;
    }
    EXPECT_EQ(rs.rules.back().on.on_facts, false);
  }
}

TEST(RuleSetTest, FiltersOnListsAreEvaluatedClauseByClauseAfterTheirFacts) {
  auto rules = testing::Rules(R"(
- list: hosting
  type: asn
  items: [16509]
- rule: r
  key: ip
  window: 1h
  when:
    - count: {result: failure, protocol: smtp}
      at_least: 1
    - count: {result: failure, asn: {in_list: hosting}}
      at_least: 1
    - count: {result: failure, network_known: false}
      at_least: 1
  then:
    - {action: block, scope: all, ttl: 1h}
)");
  ASSERT_NE(rules, nullptr);
  const auto& when = rules->rules.at(0).when;
  EXPECT_TRUE(when[0].filter.on_facts);
  EXPECT_FALSE(when[1].filter.on_facts);
  EXPECT_TRUE(when[2].filter.on_facts);
  for (const uint32_t asn : {16509u, 3320u}) {
    for (const bool success : {false, true}) {
      testing::Ev ev;
      ev.protocol = "smtp";
      ev.asn = asn;
      ev.success = success;
      const EnrichedEvent event = ev.Build();
      EventContext ctx;
      ComputeKeys(event, &ctx);
      EXPECT_EQ(rules->Matches(when[0].filter, ctx), !success);
      EXPECT_EQ(rules->Matches(when[1].filter, ctx), !success && asn == 16509) << asn;
      EXPECT_EQ(rules->Matches(when[2].filter, ctx), !success);
    }
  }
}

}  // namespace
}  // namespace authwatch
