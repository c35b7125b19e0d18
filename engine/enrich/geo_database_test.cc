#include "enrich/geo_database.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

using ::testing::HasSubstr;

// Databases written by tests/geoip/write-test-mmdb.pl; its header lists the networks used here.
std::string TestDb(const std::string& name) { return std::string(AUTHWATCH_TEST_GEOIP_DIR) + "/" + name; }

constexpr double kTolerance = 1e-4;

IpAddress Ip(std::string_view text) { return IpAddress::Parse(text).value(); }

std::unique_ptr<GeoDatabase> OpenOrDie(const std::string& name) {
  auto db = GeoDatabase::Open(TestDb(name));
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : nullptr;
}

void ExpectEmpty(const GeoRecord& r) {
  EXPECT_EQ(r.country_iso, "");
  EXPECT_EQ(r.city, "");
  EXPECT_FALSE(r.has_location);
  EXPECT_EQ(r.latitude, 0);
  EXPECT_EQ(r.longitude, 0);
  EXPECT_EQ(r.accuracy_radius_km, 0u);
  EXPECT_EQ(r.asn, 0u);
  EXPECT_EQ(r.as_org, "");
}

TEST(GeoDatabaseTest, DetectsTheSchemaOfEachFile) {
  struct Case {
    const char* file;
    GeoSchema schema;
    int ip_version;
    const char* type;
  };
  const Case cases[] = {
      {"geoip2-city.mmdb", GeoSchema::kGeoIp2City, 6, "GeoIP2-City"},
      {"dbip-flat-v4.mmdb", GeoSchema::kFlatCity, 4, "city ipv4"},
      {"dbip-flat-v6.mmdb", GeoSchema::kFlatCity, 6, "city ipv6"},
      {"asn.mmdb", GeoSchema::kAsn, 6, "GeoLite2-ASN"},
  };
  for (const auto& c : cases) {
    auto db = OpenOrDie(c.file);
    ASSERT_NE(db, nullptr) << c.file;
    EXPECT_EQ(db->schema(), c.schema) << c.file;
    EXPECT_EQ(db->ip_version(), c.ip_version) << c.file;
    EXPECT_EQ(db->database_type(), c.type) << c.file;
    EXPECT_EQ(db->path(), TestDb(c.file));
    EXPECT_NE(db->inode(), 0u);
    EXPECT_GT(db->mtime_ns(), 0);
  }
  EXPECT_EQ(GeoSchemaName(GeoSchema::kGeoIp2City), "geoip2-city");
  EXPECT_EQ(GeoSchemaName(GeoSchema::kFlatCity), "flat-city");
  EXPECT_EQ(GeoSchemaName(GeoSchema::kAsn), "asn");
}

TEST(GeoDatabaseTest, GeoIp2CityLooksUpIpv4) {
  auto db = OpenOrDie("geoip2-city.mmdb");
  ASSERT_NE(db, nullptr);
  GeoRecord r;
  ASSERT_TRUE(db->Lookup(Ip("81.2.69.142"), &r));
  EXPECT_EQ(r.country_iso, "GB");
  EXPECT_EQ(r.city, "London");
  EXPECT_TRUE(r.has_location);
  EXPECT_NEAR(r.latitude, 51.5142, kTolerance);
  EXPECT_NEAR(r.longitude, -0.0931, kTolerance);
  EXPECT_EQ(r.accuracy_radius_km, 10u);
  EXPECT_EQ(r.asn, 0u) << "a city database says nothing of the AS";

  GeoRecord cn;
  ASSERT_TRUE(db->Lookup(Ip("175.16.199.255"), &cn));
  EXPECT_EQ(cn.country_iso, "CN");
  EXPECT_EQ(cn.city, "Changchun");
  EXPECT_NEAR(cn.latitude, 43.88, kTolerance);
  EXPECT_NEAR(cn.longitude, 125.3228, kTolerance);
  EXPECT_EQ(cn.accuracy_radius_km, 100u);
}

TEST(GeoDatabaseTest, GeoIp2CityLooksUpIpv6AndIpv4Mapped) {
  auto db = OpenOrDie("geoip2-city.mmdb");
  ASSERT_NE(db, nullptr);
  GeoRecord de;
  ASSERT_TRUE(db->Lookup(Ip("2a02:d140::1"), &de));
  EXPECT_EQ(de.country_iso, "DE");
  EXPECT_EQ(de.city, "Berlin");
  EXPECT_NEAR(de.latitude, 52.52, kTolerance);
  EXPECT_NEAR(de.longitude, 13.405, kTolerance);
  EXPECT_EQ(de.accuracy_radius_km, 50u);

  GeoRecord us;
  ASSERT_TRUE(db->Lookup(Ip("2001:db8:1:ffff::5"), &us));
  EXPECT_EQ(us.country_iso, "US");
  EXPECT_EQ(us.city, "Boston");
  EXPECT_NEAR(us.latitude, 42.36, kTolerance);
  EXPECT_NEAR(us.longitude, -71.06, kTolerance);
  EXPECT_EQ(us.accuracy_radius_km, 20u);

  GeoRecord mapped;
  ASSERT_TRUE(db->Lookup(Ip("::ffff:81.2.69.142"), &mapped));
  EXPECT_EQ(mapped.country_iso, "GB");
  EXPECT_EQ(mapped.city, "London");
}

TEST(GeoDatabaseTest, CountryOnlyNetworkHasNoCityNorLocation) {
  auto db = OpenOrDie("geoip2-city.mmdb");
  ASSERT_NE(db, nullptr);
  GeoRecord r;
  ASSERT_TRUE(db->Lookup(Ip("203.0.113.9"), &r));
  EXPECT_EQ(r.country_iso, "AU");
  EXPECT_EQ(r.city, "");
  EXPECT_FALSE(r.has_location);
  EXPECT_EQ(r.latitude, 0);
  EXPECT_EQ(r.longitude, 0);
  EXPECT_EQ(r.accuracy_radius_km, 0u);
}

TEST(GeoDatabaseTest, FlatCityLooksUpIpv4WithoutAccuracy) {
  auto db = OpenOrDie("dbip-flat-v4.mmdb");
  ASSERT_NE(db, nullptr);
  GeoRecord r;
  ASSERT_TRUE(db->Lookup(Ip("81.2.69.142"), &r));
  EXPECT_EQ(r.country_iso, "GB");
  EXPECT_EQ(r.city, "London");
  EXPECT_TRUE(r.has_location);
  EXPECT_NEAR(r.latitude, 51.5142, kTolerance);
  EXPECT_NEAR(r.longitude, -0.0931, kTolerance);
  EXPECT_EQ(r.accuracy_radius_km, 0u) << "the flat schema has no accuracy radius";

  GeoRecord fr;
  ASSERT_TRUE(db->Lookup(Ip("198.51.100.200"), &fr));
  EXPECT_EQ(fr.country_iso, "FR");
  EXPECT_EQ(fr.city, "Paris");
  EXPECT_NEAR(fr.latitude, 48.8566, kTolerance);
  EXPECT_NEAR(fr.longitude, 2.3522, kTolerance);
}

TEST(GeoDatabaseTest, FlatCityFloatsAreRoundedToSixDecimals) {
  auto db = OpenOrDie("dbip-flat-v4.mmdb");
  ASSERT_NE(db, nullptr);
  GeoRecord r;
  ASSERT_TRUE(db->Lookup(Ip("81.2.69.142"), &r));
  // The float 51.5142f is 51.51419830322265625; six decimals keep the output short.
  EXPECT_EQ(r.latitude, 51.514198);
}

TEST(GeoDatabaseTest, FlatCityCountryLevelRowHasLocationButNoCity) {
  auto db = OpenOrDie("dbip-flat-v4.mmdb");
  ASSERT_NE(db, nullptr);
  GeoRecord r;
  ASSERT_TRUE(db->Lookup(Ip("100.64.0.1"), &r));
  EXPECT_EQ(r.country_iso, "US");
  EXPECT_EQ(r.city, "");
  EXPECT_TRUE(r.has_location);
  EXPECT_NEAR(r.latitude, 37.751, kTolerance);
  EXPECT_NEAR(r.longitude, -97.822, kTolerance);
}

TEST(GeoDatabaseTest, FlatIpv4FileNeverFindsIpv6) {
  auto db = OpenOrDie("dbip-flat-v4.mmdb");
  ASSERT_NE(db, nullptr);
  GeoRecord r;
  EXPECT_FALSE(db->Lookup(Ip("2a02:d140::1"), &r));
  ExpectEmpty(r);
}

TEST(GeoDatabaseTest, FlatIpv6FileLooksUpIpv6ButNotIpv4) {
  auto db = OpenOrDie("dbip-flat-v6.mmdb");
  ASSERT_NE(db, nullptr);
  GeoRecord r;
  ASSERT_TRUE(db->Lookup(Ip("2a02:d140:1234::1"), &r));
  EXPECT_EQ(r.country_iso, "DE");
  EXPECT_EQ(r.city, "Berlin");
  EXPECT_NEAR(r.latitude, 52.52, kTolerance);
  EXPECT_NEAR(r.longitude, 13.405, kTolerance);
  EXPECT_EQ(r.accuracy_radius_km, 0u);

  GeoRecord v4;
  EXPECT_FALSE(db->Lookup(Ip("81.2.69.142"), &v4)) << "the v6 file is not IPv4-aliased";
  ExpectEmpty(v4);
}

TEST(GeoDatabaseTest, AsnLooksUpIpv4AndIpv6) {
  auto db = OpenOrDie("asn.mmdb");
  ASSERT_NE(db, nullptr);
  GeoRecord r;
  ASSERT_TRUE(db->Lookup(Ip("81.2.69.142"), &r));
  EXPECT_EQ(r.asn, 20712u);
  EXPECT_EQ(r.as_org, "Andrews & Arnold Ltd");
  EXPECT_EQ(r.country_iso, "") << "an ASN database says nothing of the country";
  EXPECT_FALSE(r.has_location);

  GeoRecord hosting;
  ASSERT_TRUE(db->Lookup(Ip("45.155.205.1"), &hosting));
  EXPECT_EQ(hosting.asn, 51396u);
  EXPECT_EQ(hosting.as_org, "Pfcloud UG");

  GeoRecord v6;
  ASSERT_TRUE(db->Lookup(Ip("2a02:d140::1"), &v6));
  EXPECT_EQ(v6.asn, 3320u);
  EXPECT_EQ(v6.as_org, "Deutsche Telekom AG");
}

TEST(GeoDatabaseTest, LookupOnlyAddsTheFieldsOfItsSchema) {
  auto city = OpenOrDie("geoip2-city.mmdb");
  auto asn = OpenOrDie("asn.mmdb");
  ASSERT_NE(city, nullptr);
  ASSERT_NE(asn, nullptr);
  GeoRecord r;
  ASSERT_TRUE(asn->Lookup(Ip("81.2.69.142"), &r));
  ASSERT_TRUE(city->Lookup(Ip("81.2.69.142"), &r));
  EXPECT_EQ(r.asn, 20712u) << "the city lookup must keep what the ASN lookup found";
  EXPECT_EQ(r.as_org, "Andrews & Arnold Ltd");
  EXPECT_EQ(r.country_iso, "GB");
}

TEST(GeoDatabaseTest, AddressInNoNetworkIsNotFound) {
  for (const char* file : {"geoip2-city.mmdb", "dbip-flat-v4.mmdb", "dbip-flat-v6.mmdb", "asn.mmdb"}) {
    auto db = OpenOrDie(file);
    ASSERT_NE(db, nullptr);
    for (const char* ip : {"8.8.8.8", "81.2.70.1", "2606:4700::1111", "2001:db8:2::1"}) {
      GeoRecord r;
      EXPECT_FALSE(db->Lookup(Ip(ip), &r)) << file << " " << ip;
      ExpectEmpty(r);
    }
  }
}

TEST(GeoDatabaseTest, CorruptFileIsAnErrorNamingThePath) {
  const std::string path = TestDb("corrupt.mmdb");
  auto db = GeoDatabase::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_THAT(std::string(db.status().message()), HasSubstr(path));
}

TEST(GeoDatabaseTest, MissingFileIsAnErrorNamingThePath) {
  const std::string path = TestDb("no-such-database.mmdb");
  auto db = GeoDatabase::Open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(db.status().message()), HasSubstr(path));
}

TEST(GeoDatabaseTest, TextFileIsAnErrorNamingThePath) {
  const std::string path = ::testing::TempDir() + "/geo_database_test." + std::to_string(::getpid()) + ".mmdb";
  std::ofstream(path) << "this is not a MaxMind DB\n";
  auto db = GeoDatabase::Open(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(db.ok());
  EXPECT_THAT(std::string(db.status().message()), HasSubstr(path));
}

}  // namespace
}  // namespace authwatch
