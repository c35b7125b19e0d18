#include "app/config.h"

#include <filesystem>
#include <string>

#include "core/test_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_.path() / "etc"); }

  // Loads a config that must fail and returns the message.
  std::string Error(const std::string& yaml) {
    const std::string path = dir_.Write("etc/authwatch.yaml", yaml);
    auto c = LoadAppConfig(path);
    EXPECT_FALSE(c.ok()) << yaml;
    return c.ok() ? "" : std::string(c.status().message());
  }

  std::string D(const std::string& relative) const { return (dir_.path() / relative).lexically_normal().string(); }

  testing::TestDir dir_;
};

constexpr const char kMinimal[] = "geoip:\n  databases: [geo/city.mmdb]\n";

TEST_F(ConfigTest, ReadsEveryKeyAndResolvesRelativePathsAgainstTheFileDirectory) {
  dir_.Write("etc/mappings/keycloak.yaml",
        "name: keycloak\nfields: {ts: /time, account: /details/username, ip: /ipAddress, result: /type}\n"
        "success_values: [LOGIN]\nfailure_values: [LOGIN_ERROR]\n");
  const std::string path = dir_.Write("etc/authwatch.yaml", R"(# test config
input:
  format: protobuf
  mapping: mappings/keycloak.yaml
  max_record_bytes: 1024
  late_event_allowance: 90s
geoip:
  databases:
    - geo/city-v4.mmdb
    - ../var/geoip/asn.mmdb
    - /opt/geoip/city-v6.mmdb
  cache_entries: 1000
  prefix_v4_bits: 22
  prefix_v6_bits: 56
  reload_check_interval: 500ms
rules:
  paths: [rules, ../shared/rules]
output:
  dead_letter: ./out/../dl.jsonl
kafka:
  input_topics: [a.events, b.events]
  decisions_topic: d
  dead_letter_topic: dl
  group_id: g
  properties:
    bootstrap.servers: 127.0.0.1:19092
    security.protocol: plaintext
metrics:
  listen: 0.0.0.0:9000
)");
  // Loaded from another working directory: paths must not depend on it.
  const fs::path cwd = fs::current_path();
  fs::current_path("/");
  auto c = LoadAppConfig(path);
  fs::current_path(cwd);
  ASSERT_TRUE(c.ok()) << c.status();

  EXPECT_EQ(c->path, path);
  EXPECT_EQ(c->input.format, InputFormat::kProtobuf);
  EXPECT_EQ(c->input.mapping_path, D("etc/mappings/keycloak.yaml"));
  EXPECT_EQ(c->input.mapping.name, "keycloak");
  EXPECT_EQ(c->input.mapping.account, "/details/username");
  EXPECT_EQ(c->input.max_record_bytes, 1024u);
  EXPECT_EQ(c->input.late_allowance_ms, 90000);
  EXPECT_EQ(c->geoip.databases,
            (std::vector<std::string>{D("etc/geo/city-v4.mmdb"), D("var/geoip/asn.mmdb"), "/opt/geoip/city-v6.mmdb"}));
  EXPECT_EQ(c->geoip.cache_entries, 1000u);
  EXPECT_EQ(c->geoip.prefix_v4_bits, 22);
  EXPECT_EQ(c->geoip.prefix_v6_bits, 56);
  EXPECT_EQ(c->geoip_reload_check_ms, 500);
  EXPECT_EQ(c->rule_paths, (std::vector<std::string>{D("etc/rules"), D("shared/rules")}));
  EXPECT_EQ(c->output.dead_letter_path, D("etc/dl.jsonl"));
  EXPECT_EQ(c->kafka.input_topics, (std::vector<std::string>{"a.events", "b.events"}));
  EXPECT_EQ(c->kafka.decisions_topic, "d");
  EXPECT_EQ(c->kafka.dead_letter_topic, "dl");
  EXPECT_EQ(c->kafka.group_id, "g");
  EXPECT_EQ(c->kafka.properties.at("bootstrap.servers"), "127.0.0.1:19092");
  EXPECT_EQ(c->kafka.properties.at("security.protocol"), "plaintext");
  EXPECT_EQ(c->metrics.listen, "0.0.0.0:9000");
}

TEST_F(ConfigTest, MinimalConfigGetsTheDefaults) {
  auto c = LoadAppConfig(dir_.Write("etc/authwatch.yaml", kMinimal));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->geoip.databases, std::vector<std::string>{D("etc/geo/city.mmdb")});
  EXPECT_EQ(c->input.format, InputFormat::kJson);
  EXPECT_EQ(c->input.mapping_path, "");
  EXPECT_EQ(c->input.mapping.name, "canonical");
  EXPECT_EQ(c->input.max_record_bytes, 65536u);
  EXPECT_EQ(c->input.late_allowance_ms, 300000);
  EXPECT_EQ(c->geoip.cache_entries, 262144u);
  EXPECT_EQ(c->geoip.prefix_v4_bits, 24);
  EXPECT_EQ(c->geoip.prefix_v6_bits, 64);
  EXPECT_EQ(c->geoip_reload_check_ms, 10000);
  EXPECT_TRUE(c->rule_paths.empty());
}

TEST_F(ConfigTest, SingleDatabasePathAndStdinDashAreKept) {
  auto c = LoadAppConfig(dir_.Write("etc/authwatch.yaml", "geoip:\n  databases: one.mmdb\noutput:\n  dead_letter: '-'\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->geoip.databases, std::vector<std::string>{D("etc/one.mmdb")});
  EXPECT_EQ(c->output.dead_letter_path, "-");
}

TEST_F(ConfigTest, UnknownTopLevelKeyNamesFileLineColumnAndKey) {
  const std::string path = D("etc/authwatch.yaml");
  const std::string msg = Error(std::string(kMinimal) + "colour: blue\n");
  EXPECT_THAT(msg, HasSubstr(path + ":3:1:"));
  EXPECT_THAT(msg, HasSubstr("'colour'"));
}

TEST_F(ConfigTest, UnknownNestedKeyNamesFileLineColumnAndKey) {
  const std::string path = D("etc/authwatch.yaml");
  const std::string msg = Error("geoip:\n  databases: [a.mmdb]\n  cache_entires: 10\n");
  EXPECT_THAT(msg, HasSubstr(path + ":3:3:"));
  EXPECT_THAT(msg, HasSubstr("'cache_entires'"));
  EXPECT_THAT(msg, HasSubstr("geoip"));

  const std::string input = Error(std::string(kMinimal) + "input:\n  fromat: json\n");
  EXPECT_THAT(input, HasSubstr(path + ":4:3:"));
  EXPECT_THAT(input, HasSubstr("'fromat'"));
}

TEST_F(ConfigTest, BadDurationNamesItsPlace) {
  const std::string path = D("etc/authwatch.yaml");
  const std::string msg = Error(std::string(kMinimal) + "input:\n  late_event_allowance: 5 minutes\n");
  EXPECT_THAT(msg, HasSubstr(path + ":4:25:"));
  EXPECT_THAT(msg, HasSubstr("5 minutes"));
  EXPECT_THAT(Error(std::string(kMinimal) + "  reload_check_interval: soon\n"), HasSubstr(path + ":3:26:"));
}

TEST_F(ConfigTest, OutOfRangeIntegersAreErrors) {
  const std::string path = D("etc/authwatch.yaml");
  EXPECT_THAT(Error(std::string(kMinimal) + "  prefix_v4_bits: 33\n"), HasSubstr(path + ":3:19:"));
  EXPECT_THAT(Error(std::string(kMinimal) + "  prefix_v6_bits: 8\n"), HasSubstr(path + ":3:19:"));
  EXPECT_THAT(Error(std::string(kMinimal) + "  cache_entries: many\n"), HasSubstr(path + ":3:18:"));
  EXPECT_THAT(Error(std::string(kMinimal) + "input:\n  max_record_bytes: 10\n"), HasSubstr(path + ":4:21:"));
  EXPECT_THAT(Error(std::string(kMinimal) + "input:\n  format: avro\n"), HasSubstr(path + ":4:11:"));
}

TEST_F(ConfigTest, MissingGeoipDatabasesIsAnError) {
  EXPECT_THAT(Error("input:\n  format: json\n"), HasSubstr("geoip.databases"));
  EXPECT_THAT(Error("geoip:\n  databases: []\n"), HasSubstr("geoip.databases"));
  EXPECT_THAT(Error("geoip:\n  cache_entries: 10\n"), HasSubstr("geoip.databases"));
  EXPECT_THAT(Error(""), HasSubstr("geoip.databases"));
}

TEST_F(ConfigTest, BadMappingFileIsReportedWithBothPlaces) {
  dir_.Write("etc/bad-mapping.yaml", "fields:\n  ts: time\n");
  const std::string msg = Error(std::string(kMinimal) + "input:\n  mapping: bad-mapping.yaml\n");
  EXPECT_THAT(msg, HasSubstr(D("etc/authwatch.yaml") + ":4:12:"));
  EXPECT_THAT(msg, HasSubstr(D("etc/bad-mapping.yaml") + ":2:7:"));

  EXPECT_THAT(Error(std::string(kMinimal) + "input:\n  mapping: absent.yaml\n"), HasSubstr(D("etc/absent.yaml")));
}

TEST_F(ConfigTest, YamlSyntaxErrorNamesItsPlace) {
  EXPECT_THAT(Error("geoip:\n  databases: [a.mmdb\n"), HasSubstr(D("etc/authwatch.yaml") + ":"));
  EXPECT_THAT(Error("geoip: [1, 2]\n"), HasSubstr("'geoip' must be a mapping"));
}

TEST_F(ConfigTest, MissingFileIsNotFound) {
  auto c = LoadAppConfig(D("etc/absent.yaml"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(D("etc/absent.yaml")));
}

TEST(ParseDurationTest, AcceptsUnitsAndBareSeconds) {
  struct Case {
    const char* text;
    int64_t ms;
  };
  const Case cases[] = {{"500ms", 500},  {"90s", 90000},        {"10m", 600000}, {"2h", 7200000},
                        {"7d", 604800000}, {"30", 30000},       {"1.5s", 1500},  {"0", 0},
                        {"0.5m", 30000}, {"365d", 31536000000}};
  for (const auto& c : cases) {
    auto d = ParseDurationMs(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(*d, c.ms) << c.text;
  }
}

TEST(ParseDurationTest, RejectsBadDurations) {
  for (const char* text : {"", "s", "-5s", "10x", "5 m", "1.2.3s", "ten seconds", "10S", "1e3s", "5mm", ".s",
                           "99999999999999999999d", "1000000000000000000000"}) {
    auto d = ParseDurationMs(text);
    EXPECT_FALSE(d.ok()) << "'" << text << "' gave " << (d.ok() ? std::to_string(*d) : "");
  }
}

TEST_F(ConfigTest, StateSectionIsOptionalAndChecked) {
  auto none = LoadAppConfig(dir_.Write("etc/authwatch.yaml", kMinimal));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->state.enabled()) << "no state: section, no checkpoints";
  auto on = LoadAppConfig(dir_.Write("etc/authwatch.yaml", std::string(kMinimal) +
                                    "state:\n  topic: aw.state\n  checkpoint_interval: 30s\n"
                                    "  max_chunk_bytes: 500000\n  replication_factor: 3\n"));
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->state.enabled());
  EXPECT_EQ(on->state.topic, "aw.state");
  EXPECT_EQ(on->state.checkpoint_interval_ms, 30000);
  EXPECT_EQ(on->state.max_chunk_bytes, 500000);
  EXPECT_EQ(on->state.replication_factor, 3);
  EXPECT_EQ(on->state.rebuild_window_ms, -1) << "default: the longest rule window";
  auto six = LoadAppConfig(dir_.Write("etc/authwatch.yaml", std::string(kMinimal) + "state:\n  topic: t\n  rebuild_window: 6h\n"));
  ASSERT_TRUE(six.ok()) << six.status();
  EXPECT_EQ(six->state.rebuild_window_ms, 6 * 3600000);
  auto off = LoadAppConfig(dir_.Write("etc/authwatch.yaml", std::string(kMinimal) + "state:\n  topic: t\n  rebuild_window: off\n"));
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->state.rebuild_window_ms, 0);
  EXPECT_THAT(Error(std::string(kMinimal) + "state:\n  topic: t\n  checkpoint_interval: 10ms\n"),
              HasSubstr("at least 1s"));
  EXPECT_THAT(Error(std::string(kMinimal) + "state:\n  topic: t\n  max_chunk_bytes: 10\n"), HasSubstr("1024"));
  EXPECT_THAT(Error(std::string(kMinimal) + "state:\n  topci: t\n"), HasSubstr("topci"));
}

TEST_F(ConfigTest, InstanceIdDefaultsToHostNameAndMayBeTurnedOff) {
  auto unset = LoadAppConfig(dir_.Write("etc/authwatch.yaml", kMinimal));
  ASSERT_TRUE(unset.ok()) << unset.status();
  EXPECT_FALSE(unset->kafka.instance_id.has_value()) << "unset: the service uses the host name";
  auto off = LoadAppConfig(dir_.Write("etc/authwatch.yaml", std::string(kMinimal) + "kafka:\n  instance_id: \"\"\n"));
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->kafka.instance_id, std::string()) << "empty: dynamic membership";
  auto named = LoadAppConfig(dir_.Write("etc/authwatch.yaml", std::string(kMinimal) + "kafka:\n  instance_id: aw-2\n"));
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->kafka.instance_id, std::string("aw-2"));
}

TEST_F(ConfigTest, ScaleOutSectionNamesItsTopicsAfterTheGroup) {
  auto none = LoadAppConfig(dir_.Write("etc/authwatch.yaml", kMinimal));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->scale_out.enabled()) << "no section: one instance runs every rule";
  auto on = LoadAppConfig(dir_.Write("etc/authwatch.yaml", std::string(kMinimal) +
                                    "kafka:\n  group_id: aw\nscale_out:\n  partitions: 6\n  idle_after: 30s\n"
                                    "  watermark_interval: 100ms\n"));
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->scale_out.enabled());
  EXPECT_EQ(on->scale_out.partitions, 6);
  EXPECT_EQ(on->scale_out.address_topic, "aw.by-address");
  EXPECT_EQ(on->scale_out.asn_topic, "aw.by-asn");
  EXPECT_EQ(on->scale_out.idle_after_ms, 30000);
  EXPECT_EQ(on->scale_out.watermark_interval_ms, 100);
  EXPECT_THAT(Error(std::string(kMinimal) + "scale_out:\n  idle_after: 5s\n"), HasSubstr("needs partitions"));
  EXPECT_THAT(Error(std::string(kMinimal) + "scale_out:\n  partitions: 0\n"), HasSubstr(":4:15: expected an integer from 1"));
  EXPECT_THAT(Error(std::string(kMinimal) + "scale_out:\n  partitons: 3\n"), HasSubstr("partitons"));
}

TEST(ParseSizeTest, UnitsAndErrors) {
  EXPECT_EQ(*ParseSizeBytes("4GiB"), 4ull << 30);
  EXPECT_EQ(*ParseSizeBytes("512MiB"), 512ull << 20);
  EXPECT_EQ(*ParseSizeBytes("2GB"), 2000000000ull);
  EXPECT_EQ(*ParseSizeBytes("1000"), 1000ull);
  EXPECT_FALSE(ParseSizeBytes("4 GiB").ok());
  EXPECT_FALSE(ParseSizeBytes("lots").ok());
  EXPECT_FALSE(ParseSizeBytes("4TiB").ok());
}

TEST_F(ConfigTest, LimitsSection) {
  auto c = LoadAppConfig(dir_.Write("etc/authwatch.yaml", std::string(kMinimal) + "limits:\n  window_memory: 1GiB\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->limits.window_memory_bytes, 1ull << 30);
  EXPECT_THAT(Error(std::string(kMinimal) + "limits:\n  window_memory: big\n"), HasSubstr("limits.window_memory"));
}

TEST(ShippedConfigTest, DeployConfigLoads) {
  const std::string path = std::string(AUTHWATCH_SOURCE_DIR) + "/deploy/authwatch.yaml";
  auto c = LoadAppConfig(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->geoip.databases.empty());
  for (const auto& db : c->geoip.databases) {
    EXPECT_TRUE(fs::path(db).is_absolute()) << db;
    EXPECT_EQ(db.find(".."), std::string::npos) << db << " is normalised";
  }
  EXPECT_FALSE(c->rule_paths.empty());
  EXPECT_EQ(c->state.topic, "authwatch.state") << "durable state is on in the shipped config";
  EXPECT_GT(c->limits.window_memory_bytes, 0u) << "the shipped config bounds window memory";
}

}  // namespace
}  // namespace authwatch
