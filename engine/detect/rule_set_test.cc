#include "detect/rule_set.h"

#include <random>

#include "detect/event_context.h"
#include "detect/test_events.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

// A filter on the result and profile facts is compiled to one mask test; it must answer exactly
// as the clause-by-clause evaluation does, negations and contradictions included.
TEST(RuleSetTest, FiltersOnFactsAnswerAsClauseByClause) {
  RuleSet rs;
  std::mt19937 rng(11);
  const FilterField facts[] = {FilterField::kNetworkKnown, FilterField::kAsnKnown,  FilterField::kCountryKnown,
                               FilterField::kAccountNew,   FilterField::kEstablished, FilterField::kDeviceKnown};
  int compiled = 0;
  for (int round = 0; round < 2000; ++round) {
    Filter f;
    const int clauses = static_cast<int>(rng() % 4);
    for (int i = 0; i < clauses; ++i) {
      FilterClause c;
      c.negate = rng() % 4 == 0;
      if (rng() % 3 == 0) {
        c.field = FilterField::kResult;
        c.result_mask = static_cast<uint8_t>(rng() % 4);  // 0 and 3 too: never / always
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
    ++compiled;
    for (int e = 0; e < 8; ++e) {
      testing::Ev ev;
      ev.success = rng() % 2 == 0;
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
  EXPECT_EQ(compiled, 2000);
}

TEST(RuleSetTest, FiltersOnListsOrStringsAreEvaluatedClauseByClause) {
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
  EXPECT_FALSE(when[0].filter.on_facts);
  EXPECT_FALSE(when[1].filter.on_facts);
  EXPECT_TRUE(when[2].filter.on_facts);
  testing::Ev ev;
  ev.protocol = "smtp";
  ev.asn = 16509;
  const EnrichedEvent event = ev.Build();
  EventContext ctx;
  ComputeKeys(event, &ctx);
  EXPECT_TRUE(rules->Matches(when[0].filter, ctx));
  EXPECT_TRUE(rules->Matches(when[1].filter, ctx));
  EXPECT_TRUE(rules->Matches(when[2].filter, ctx));
}

}  // namespace
}  // namespace authwatch
