#include "detect/rule_loader.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/test_dir.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

namespace fs = std::filesystem;

const fs::path kTestData = fs::path(AUTHWATCH_SOURCE_DIR) / "rules" / "testdata";

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST(RuleLoaderTest, ShippedRulesCompileWithoutDiagnostics) {
  RuleLoadResult r = LoadRules({(fs::path(AUTHWATCH_SOURCE_DIR) / "rules").string()});
  EXPECT_EQ(r.diagnostics.items.size(), 0u) << r.diagnostics.FormatAll();
  ASSERT_NE(r.rules, nullptr);
  EXPECT_GE(r.rules->rules.size(), 10u);
}

TEST(RuleLoaderTest, OkTestdataCompiles) {
  for (const auto& e : fs::directory_iterator(kTestData / "ok")) {
    SCOPED_TRACE(e.path().string());
    RuleLoadResult r = CompileRules({{e.path().filename().string(), Read(e.path())}});
    EXPECT_EQ(r.diagnostics.errors(), 0) << r.diagnostics.FormatAll();
    EXPECT_NE(r.rules, nullptr);
  }
}

// Each bad file states the exact diagnostics it must produce in "# expect:" lines, in order.
TEST(RuleLoaderTest, BadTestdataGivesExactlyTheExpectedDiagnostics) {
  int files = 0;
  for (const auto& e : fs::directory_iterator(kTestData / "bad")) {
    SCOPED_TRACE(e.path().string());
    const std::string text = Read(e.path());
    std::vector<std::string> expected;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("# expect: ", 0) == 0) expected.push_back(line.substr(10));
    }
    ASSERT_FALSE(expected.empty()) << "a bad test file must state what it expects";
    RuleLoadResult r = CompileRules({{e.path().filename().string(), text}});
    std::vector<std::string> got;
    for (const auto& d : r.diagnostics.items) got.push_back(FirstLine(d.Format()));
    EXPECT_EQ(got, expected) << r.diagnostics.FormatAll();
    EXPECT_EQ(r.rules, nullptr);
    ++files;
  }
  EXPECT_GE(files, 8);
}

TEST(RuleLoaderTest, DiagnosticShowsSourceLineAndCaret) {
  RuleLoadResult r = CompileRules({{"x.yaml", "- rule: r\n  key: ip\n  window: 5x\n  when: [{count: {}, at_least: 1}]\n  then: [{action: block}]\n"}});
  ASSERT_EQ(r.diagnostics.items.size(), 1u);
  EXPECT_EQ(r.diagnostics.items[0].Format(),
            "x.yaml:3:11: error[E105] rule 'r': invalid duration: window '5x' (a positive number "
            "followed by ms, s, m, h or d)\n"
            " 3 |   window: 5x\n"
            "   |           ^");
}

TEST(RuleLoaderTest, CompilesEveryConstruct) {
  RuleLoadResult r = CompileRules({{"everything.yaml", Read(kTestData / "ok" / "everything.yaml")}});
  ASSERT_NE(r.rules, nullptr) << r.diagnostics.FormatAll();
  const RuleSet& rs = *r.rules;
  ASSERT_EQ(rs.rules.size(), 1u) << "a disabled rule is not compiled in";
  const CompiledRule& rule = rs.rules[0];
  EXPECT_EQ(rule.key, KeyKind::kPrefix);
  EXPECT_EQ(rule.window_ms, 3600000);
  EXPECT_TRUE(rule.monitor_only);
  ASSERT_EQ(rule.when.size(), 3u);
  EXPECT_EQ(rule.when[1].aggregate, Aggregate::kDistinct);
  EXPECT_EQ(rule.when[1].at_most, 1000);
  EXPECT_EQ(rule.when[2].min_events, 3u);
  ASSERT_EQ(rule.then.size(), 2u);
  EXPECT_EQ(rule.then[0].scope, "smtp");
  EXPECT_EQ(rule.then[0].subject, KeyKind::kPrefix) << "subject defaults to the rule's key";
  EXPECT_EQ(rule.then[0].ttl_ms, 1800000);
  EXPECT_EQ(rule.then[1].subject, KeyKind::kAccount);
  ASSERT_EQ(rs.lists.size(), 4u);
  EXPECT_TRUE(rs.lists[1].asns.contains(14061)) << "AS prefix accepted";
  EXPECT_TRUE(rs.lists[2].strings.contains("ceo@mail.example")) << "accounts lower-cased";
  EXPECT_TRUE(rs.lists[3].strings.contains("KP")) << "countries upper-cased";
  ASSERT_EQ(rs.travel.size(), 1u);
  EXPECT_EQ(rs.travel[0].max_speed_kmh, 1000);
  EXPECT_EQ(rs.travel[0].max_gap_ms, 12 * 3600000);
  ASSERT_EQ(rs.novelty.size(), 1u);
  EXPECT_EQ(rs.novelty[0].novelty, NoveltyKind::kAsn);
  EXPECT_EQ(rs.novelty[0].min_successes, 2u);
  EXPECT_EQ(rs.profile.established_after, 3u);
  EXPECT_EQ(rs.policy.escalation_factor, 3);
  EXPECT_EQ(rs.policy.allow_lists.size(), 2u);
  // The 'on' filter's list references resolve to the right lists.
  EXPECT_EQ(rule.when[0].filter.clauses[1].list, 0);
}

TEST(RuleLoaderTest, UnusedListIsAWarningNotAnError) {
  RuleLoadResult r = CompileRules({{"l.yaml", "- list: spare\n  type: asn\n  items: [1]\n"}});
  ASSERT_NE(r.rules, nullptr);
  ASSERT_EQ(r.diagnostics.items.size(), 1u);
  EXPECT_EQ(r.diagnostics.items[0].code, DiagCode::kUnusedList);
  EXPECT_EQ(r.diagnostics.items[0].severity, Severity::kWarning);
}

TEST(RuleLoaderTest, ListMayBeDefinedInALaterFile) {
  RuleLoadResult r = CompileRules(
      {{"a.yaml", "- rule: r\n  key: ip\n  window: 1m\n  when: [{count: {ip: {in_list: later}}, at_least: 1}]\n  then: [{action: block}]\n"},
       {"b.yaml", "- list: later\n  type: cidr\n  items: [192.0.2.0/24]\n"}});
  ASSERT_NE(r.rules, nullptr) << r.diagnostics.FormatAll();
  EXPECT_EQ(r.rules->rules[0].when[0].filter.clauses[0].list, 0);
}

TEST(RuleLoaderTest, MissingFileIsReported) {
  RuleLoadResult r = LoadRules({"/nonexistent/rules.yaml"});
  ASSERT_EQ(r.diagnostics.errors(), 1);
  EXPECT_EQ(r.diagnostics.items[0].code, DiagCode::kCannotRead);
  EXPECT_NE(r.diagnostics.items[0].Format().find("/nonexistent/rules.yaml"), std::string::npos);
}

// A directory of rule files for one test, with an empty site directory in it.
class RuleDirTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(site()); }
  fs::path site() const { return dir_.path() / "site"; }
  testing::TestDir dir_;
};

constexpr char kOneRule[] =
    "- rule: r\n  key: ip\n  window: 1m\n  when: [{count: {result: failure}, at_least: 5}]\n"
    "  then: [{action: block}]\n";

TEST_F(RuleDirTest, EmptyDirectoryIsAnErrorNotAnEmptyRuleSet) {
  RuleLoadResult r = LoadRules({site().string()});
  EXPECT_EQ(r.rules, nullptr);
  ASSERT_EQ(r.diagnostics.errors(), 1) << r.diagnostics.FormatAll();
  EXPECT_EQ(r.diagnostics.items[0].code, DiagCode::kNoRules);
  EXPECT_NE(r.diagnostics.items[0].Format().find(site().string() + ": error[E111] no rules"),
            std::string::npos) << r.diagnostics.FormatAll();
}

TEST_F(RuleDirTest, ListsAndPolicyAloneDecideNothing) {
  dir_.Write("lists.yaml", "- list: spare\n  type: asn\n  items: [1]\n");
  RuleLoadResult r = LoadRules({dir_.path().string()});
  EXPECT_EQ(r.rules, nullptr);
  EXPECT_EQ(r.diagnostics.errors(), 1) << r.diagnostics.FormatAll();
}

TEST_F(RuleDirTest, AnEmptySiteDirectoryBesideTheRulesIsFine) {
  dir_.Write("rules.yaml", kOneRule);
  RuleLoadResult r = LoadRules({dir_.path().string(), site().string()});
  ASSERT_NE(r.rules, nullptr) << r.diagnostics.FormatAll();
  EXPECT_EQ(r.rules->rules.size(), 1u);
}

TEST_F(RuleDirTest, ZeroByteFileIsAnErrorNamingIt) {
  dir_.Write("rules.yaml", kOneRule);
  dir_.Write("brute-force.yaml", "");
  RuleLoadResult r = LoadRules({dir_.path().string()});
  EXPECT_EQ(r.rules, nullptr);
  ASSERT_EQ(r.diagnostics.errors(), 1) << r.diagnostics.FormatAll();
  EXPECT_EQ(r.diagnostics.items[0].code, DiagCode::kEmptyFile);
  EXPECT_NE(r.diagnostics.items[0].Format().find("brute-force.yaml: error[E112] empty file"), std::string::npos);
}

TEST_F(RuleDirTest, CommentOnlyPlaceholderIsFine) {
  dir_.Write("rules.yaml", kOneRule);
  dir_.Write("site.yaml", "# site rules go here\n");
  RuleLoadResult r = LoadRules({dir_.path().string()});
  ASSERT_NE(r.rules, nullptr) << r.diagnostics.FormatAll();
  EXPECT_EQ(r.rules->rules.size(), 1u);
}

TEST(RuleLoaderTest, VersionChangesWithContent) {
  const std::string a = "- list: x\n  type: asn\n  items: [1]\n";
  const std::string b = "- list: x\n  type: asn\n  items: [2]\n";
  EXPECT_NE(CompileRules({{"f", a}}).rules->version, CompileRules({{"f", b}}).rules->version);
  EXPECT_EQ(CompileRules({{"f", a}}).rules->version, CompileRules({{"f", a}}).rules->version);
}

}  // namespace
}  // namespace authwatch
