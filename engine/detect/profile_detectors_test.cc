#include "detect/profile_detectors.h"

#include "detect/detection_engine.h"
#include "detect/test_events.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

using testing::Ev;
using testing::kDay;
using testing::kHour;
using testing::kMinute;
using testing::Rules;

constexpr char kDetectors[] = R"(
- detector: travel
  type: impossible_travel
  max_speed_kmh: 900
  min_distance_km: 500
  default_accuracy_km: 100
  ignore_same_asn: true
  then: [{action: challenge, ttl: 1h}]
- detector: new-country
  type: new_country
  then: [{action: monitor, ttl: 1h}]
- detector: new-asn-after-one
  type: new_asn
  filter: {asn: [14061]}
  min_successes: 1
  then: [{action: challenge, ttl: 1h}]
- detector: new-country-new-device
  type: new_country
  filter: {established: false, asn_known: false, device_known: false}
  min_successes: 1
  then: [{action: challenge, ttl: 1h}]
- profile: {established_after: 5, warmup: 1d, new_account: 7d}
- rule: fail-then-succeed
  key: account_ip
  window: 1h
  on: {result: success, network_known: false}
  when:
    - count: {result: failure}
      at_least: 5
  then: [{action: challenge, subject: account, ttl: 24h}]
)";

class DetectorsTest : public ::testing::Test {
 protected:
  std::vector<std::string> Feed(const Ev& ev) {
    EnrichedEvent e = ev.Build();
    std::vector<Signal> out;
    engine_.Process(e, &ctx_, &out);
    std::vector<std::string> rules;
    for (const auto& s : out) rules.push_back(s.rule);
    return rules;
  }
  // Berlin home on Deutsche Telekom: five successful logins over five days.
  Ev Home(int n = 5) {
    Ev ev;
    ev.success = true;
    for (int i = 0; i < n; ++i) {
      Feed(ev);
      ev.ts += kDay;
    }
    return ev;
  }
  DetectionEngine engine_{Rules(kDetectors)};
  EventContext ctx_;
};

TEST(DistanceTest, BerlinToNewYork) {
  EXPECT_NEAR(DistanceKm(52.52, 13.405, 40.7128, -74.006), 6385, 10);
  EXPECT_NEAR(DistanceKm(0, 0, 0, 0), 0, 1e-9);
}

TEST_F(DetectorsTest, ImpossibleTravelFiresForBerlinThenNewYorkInAnHour) {
  Ev ev = Home();
  Feed(ev);  // last login in Berlin
  ev.ts += kHour;
  ev.ip = "203.0.113.9";
  ev.asn = 7922;
  ev.country = "US";
  ev.lat = 40.7128;
  ev.lon = -74.006;
  auto fired = Feed(ev);
  EXPECT_NE(std::find(fired.begin(), fired.end(), "travel"), fired.end());
}

TEST_F(DetectorsTest, PlausibleFlightDoesNotFire) {
  Ev ev = Home();
  Feed(ev);  // last login in Berlin
  ev.ts += 9 * kHour;  // a direct flight is 9 h: ~700 km/h
  ev.ip = "203.0.113.9";
  ev.asn = 7922;
  ev.country = "US";
  ev.lat = 40.7128;
  ev.lon = -74.006;
  auto fired = Feed(ev);
  EXPECT_EQ(std::find(fired.begin(), fired.end(), "travel"), fired.end());
}

TEST_F(DetectorsTest, ShortHopsWithinAccuracyAreNotTravel) {
  Ev ev = Home();
  ev.ts += 10 * kMinute;
  ev.ip = "203.0.113.9";
  ev.asn = 3209;  // another network, 250 km away (Hamburg -> Berlin-ish)
  ev.lat = 53.55;
  ev.lon = 9.99;
  EXPECT_TRUE(Feed(ev).empty());
}

TEST_F(DetectorsTest, SameNetworkFarApartIsGeolocationNoise) {
  Ev ev = Home();
  ev.ts += 10 * kMinute;
  ev.lat = 40.7128;  // same ASN geolocated to another continent
  ev.lon = -74.006;
  auto fired = Feed(ev);
  EXPECT_EQ(std::find(fired.begin(), fired.end(), "travel"), fired.end());
}

TEST_F(DetectorsTest, NewCountryOnlyOnceEstablished) {
  Ev ev;
  ev.success = true;
  ev.country = "DE";
  Feed(ev);
  ev.ts += 3 * kDay;
  ev.country = "FR";  // second login ever, from France: no history to judge by
  ev.asn = 3215;
  ev.lat = 48.85;
  ev.lon = 2.35;
  EXPECT_TRUE(Feed(ev).empty()) << "cold start must not flag";
  Ev est = Home(6);
  est.account = "alice@mail.example";
  est.ts += 30 * kDay;
  est.country = "BR";
  est.asn = 28573;
  est.ip = "203.0.113.50";
  est.lat = -23.55;
  est.lon = -46.63;
  auto fired = Feed(est);
  EXPECT_NE(std::find(fired.begin(), fired.end(), "new-country"), fired.end());
  est.ts += kDay;
  fired = Feed(est);
  EXPECT_EQ(std::find(fired.begin(), fired.end(), "new-country"), fired.end()) << "now known";
}

// min_successes overrides established_after for one detector: one success from home is
// history enough to judge a data centre, while the very first login is never judged.
TEST_F(DetectorsTest, MinSuccessesJudgesWithLessHistory) {
  auto has = [](const std::vector<std::string>& v, const char* name) {
    return std::find(v.begin(), v.end(), name) != v.end();
  };
  Ev relay;
  relay.account = "relay@mail.example";
  relay.success = true;
  relay.asn = 14061;  // first login ever from a data centre: nothing to compare with
  relay.ip = "159.89.1.2";
  EXPECT_FALSE(has(Feed(relay), "new-asn-after-one"));
  relay.ts += kHour;
  EXPECT_FALSE(has(Feed(relay), "new-asn-after-one")) << "its own network is known now";

  Ev ev;
  ev.account = "bob@mail.example";
  ev.success = true;
  EXPECT_FALSE(has(Feed(ev), "new-asn-after-one")) << "home, not in the filter";
  ev.ts += 2 * kHour;
  ev.asn = 14061;
  ev.ip = "159.89.7.7";
  auto fired = Feed(ev);
  EXPECT_TRUE(has(fired, "new-asn-after-one")) << "one success is enough for this detector";
  EXPECT_FALSE(has(fired, "new-country")) << "the others still wait for established_after";
}

TEST_F(DetectorsTest, FailThenSucceedFromForeignNetwork) {
  Ev ev = Home();
  ev.ip = "45.155.205.23";
  ev.asn = 51396;
  ev.success = false;
  for (int i = 0; i < 6; ++i) {
    ev.ts += kMinute;
    Feed(ev);
  }
  ev.success = true;
  auto fired = Feed(ev);
  EXPECT_NE(std::find(fired.begin(), fired.end(), "fail-then-succeed"), fired.end());
}

TEST_F(DetectorsTest, StaleClientAtHomeThenFixedIsNotATakeover) {
  Ev ev = Home();
  ev.success = false;
  for (int i = 0; i < 40; ++i) {  // the phone retries the old password for hours
    ev.ts += 5 * kMinute;
    Feed(ev);
  }
  ev.success = true;
  auto fired = Feed(ev);
  EXPECT_EQ(std::find(fired.begin(), fired.end(), "fail-then-succeed"), fired.end());
}

TEST_F(DetectorsTest, FailuresDoNotTrainTheProfile) {
  Ev ev = Home();
  Ev attacker = ev;
  attacker.ip = "45.155.205.23";
  attacker.country = "RU";
  attacker.asn = 51396;
  attacker.success = false;
  for (int i = 0; i < 20; ++i) Feed(attacker);
  attacker.success = true;
  attacker.ts += kMinute;
  auto fired = Feed(attacker);
  EXPECT_NE(std::find(fired.begin(), fired.end(), "new-country"), fired.end());
}

TEST(DeviceFamilyTest, VersionsAsideOneFamily) {
  const char* kFirefox132 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0";
  const char* kFirefox133 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
  const char* kSafariMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15";
  EXPECT_EQ(DeviceFamily(kFirefox132), DeviceFamily(kFirefox133)) << "an update is the same device";
  EXPECT_NE(DeviceFamily(kFirefox132), DeviceFamily(kSafariMac));
  EXPECT_NE(DeviceFamily(""), DeviceFamily(kSafariMac)) << "no user agent is a family of its own";
  EXPECT_NE(DeviceFamily(""), 0);
}

// A light user (one success so far) whose next success comes from another country, a network
// and a client the account never used: a stolen password on the thief's machine. The same trip
// with the user's own phone, or a new phone at home, is not asked about.
TEST_F(DetectorsTest, NewCountryWithNewDeviceJudgedAfterOneSuccess) {
  auto has = [](const std::vector<std::string>& v, const char* name) {
    return std::find(v.begin(), v.end(), name) != v.end();
  };
  auto in_tokyo = [](Ev ev) {  // a residential line in Japan (NTT OCN)
    ev.ip = "218.47.159.210";
    ev.country = "JP";
    ev.asn = 4713;
    ev.lat = 35.68;
    ev.lon = 139.69;
    return ev;
  };
  Ev owner;
  owner.success = true;
  owner.user_agent = "Gmail-Android/2024.11.03";
  EXPECT_FALSE(has(Feed(owner), "new-country-new-device")) << "the first login is never judged";

  Ev trip = in_tokyo(owner);  // the owner's phone in Tokyo
  trip.ts += 10 * kHour;
  EXPECT_FALSE(has(Feed(trip), "new-country-new-device")) << "a known client travels";

  Ev thief;
  thief.account = "bob@mail.example";
  thief.success = true;
  thief.user_agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15";
  Feed(thief);  // bob's one login, from home in Berlin
  Ev new_phone = thief;  // a new phone at home: known country and network
  new_phone.ts += kHour;
  new_phone.user_agent = "iPhone Mail (22B83)";
  EXPECT_FALSE(has(Feed(new_phone), "new-country-new-device"));
  thief = in_tokyo(thief);
  thief.ts += 2 * kHour;
  thief.user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0";
  auto fired = Feed(thief);
  EXPECT_TRUE(has(fired, "new-country-new-device"));
  EXPECT_FALSE(has(fired, "new-country")) << "not established: the country alone is not judged";
}

// The two most recent clients are remembered: a third pushes out the older one.
TEST_F(DetectorsTest, DeviceMemoryKeepsTheLastTwoClients) {
  Ev ev;
  ev.success = true;
  const char* kClients[] = {"Thunderbird/128.5.0", "iPhone Mail (22B83)", "FairEmail/1.2251"};
  for (const char* ua : kClients) {
    ev.user_agent = ua;
    Feed(ev);
    EXPECT_FALSE(ctx_.profile.device_known) << ua << " is new to the account";
    ev.ts += kHour;
  }
  ev.user_agent = kClients[2];
  Feed(ev);
  EXPECT_TRUE(ctx_.profile.device_known);
  ev.user_agent = kClients[1];
  Feed(ev);
  EXPECT_TRUE(ctx_.profile.device_known);
  ev.user_agent = kClients[0];
  Feed(ev);
  EXPECT_FALSE(ctx_.profile.device_known) << "pushed out by the two newer clients";
}

}  // namespace
}  // namespace authwatch
