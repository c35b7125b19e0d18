#include "core/ip_address.h"

#include <arpa/inet.h>

#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

IpAddress Ip(std::string_view text) {
  auto ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.has_value()) << "'" << text << "' should parse";
  return ip.value_or(IpAddress());
}

TEST(IpAddressTest, ParsesDottedQuadAndPrintsItBack) {
  const IpAddress ip = Ip("198.51.100.7");
  EXPECT_TRUE(ip.is_v4());
  EXPECT_EQ(ip.family_bits(), 32);
  EXPECT_EQ(ip.v4(), 0xC6336407u);
  EXPECT_EQ(ip.ToString(), "198.51.100.7");
  EXPECT_EQ(Ip("0.0.0.0").ToString(), "0.0.0.0");
  EXPECT_EQ(Ip("255.255.255.255").v4(), 0xFFFFFFFFu);
}

TEST(IpAddressTest, FromV4StoresTheIpv4MappedForm) {
  const IpAddress ip = IpAddress::FromV4(0xC6336407u);
  EXPECT_EQ(ip, Ip("198.51.100.7"));
  const std::array<uint8_t, 16> expected = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7};
  EXPECT_EQ(ip.bytes(), expected);
}

TEST(IpAddressTest, ParsesIpv6AndPrintsRfc5952Form) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},                    // lower case, :: compression
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},  // leading zeros dropped
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},              // tie: the first run is compressed
      {"2001:db8:0:0:0:1:0:0", "2001:db8::1:0:0"},                // the longest run wins
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},           // a single 0 is not compressed
      {"2001:db8::2:1", "2001:db8::2:1"},
      {"::1", "::1"},
      {"::", "::"},
      {"fe80::", "fe80::"},
      {"2a02:d140:0:0:0:0:0:abcd", "2a02:d140::abcd"},
  };
  for (const auto& c : cases) {
    const IpAddress ip = Ip(c.in);
    EXPECT_FALSE(ip.is_v4()) << c.in;
    EXPECT_EQ(ip.family_bits(), 128) << c.in;
    EXPECT_EQ(ip.ToString(), c.out) << c.in;
    EXPECT_EQ(Ip(ip.ToString()), ip) << c.in << ": printed form must parse back to the same address";
  }
}

TEST(IpAddressTest, Ipv4MappedIpv6EqualsThePlainIpv4) {
  const IpAddress plain = Ip("198.51.100.7");
  for (const char* text : {"::ffff:198.51.100.7", "::FFFF:198.51.100.7", "::ffff:c633:6407",
                           "0:0:0:0:0:ffff:198.51.100.7"}) {
    const IpAddress mapped = Ip(text);
    EXPECT_EQ(mapped, plain) << text;
    EXPECT_TRUE(mapped.is_v4()) << text;
    EXPECT_EQ(mapped.ToString(), "198.51.100.7") << text;
    EXPECT_EQ(mapped.StableHash(), plain.StableHash()) << text;
  }
  absl::flat_hash_set<IpAddress> set = {plain, Ip("::ffff:198.51.100.7")};
  EXPECT_EQ(set.size(), 1u) << "one state key per address whatever form the producer wrote";
}

TEST(IpAddressTest, DistinctAddressesAreNotEqualAndHashDifferently) {
  EXPECT_NE(Ip("198.51.100.7"), Ip("198.51.100.8"));
  EXPECT_NE(Ip("198.51.100.7").StableHash(), Ip("198.51.100.8").StableHash());
  // ::c633:6407 (IPv4-compatible, deprecated) is not the IPv4 address.
  EXPECT_NE(Ip("::c633:6407"), Ip("198.51.100.7"));
  EXPECT_FALSE(Ip("::c633:6407").is_v4());
}

TEST(IpAddressTest, RejectsInvalidText) {
  const std::string cases[] = {
      "999.1.1.1",
      "256.0.0.1",
      "1.2.3",
      "1.2.3.4.5",
      "1..2.3",
      "",
      ":::",
      "1:2:3:4:5:6:7:8:9",
      "12345::1",
      "g::1",
      "2001:db8::1::2",
      "1.2.3.4 ",
      " 1.2.3.4",
      "1.2.3.4\n",
      "1.2.3.4/24",
      "[2001:db8::1]",  // brackets are the decoders' business (ParseClientAddress), not Parse's
      "fe80::1%eth0",
      "::ffff:1.2.3",
      "localhost",
      std::string("1.2.3.4\0", 8),
      std::string(100, '1'),
      "1.2.3.4" + std::string(1000, ' '),
      std::string(5000, ':'),
      "2001:0db8:0000:0000:0000:0000:0000:0001:0000:0000:0000:0000",  // too long for INET6_ADDRSTRLEN
  };
  for (const auto& text : cases) {
    EXPECT_FALSE(IpAddress::Parse(text).has_value()) << "'" << text << "' should not parse";
  }
}

// The IPv4 parser is written out for speed; it must accept exactly what inet_pton(AF_INET)
// accepts, with the same value. Random strings over the alphabet of addresses and their typos.
TEST(IpAddressTest, DottedQuadAgreesWithInetPton) {
  std::mt19937 rng(42);
  const std::string alphabet = "0123456789.....x ";
  const std::vector<std::string> fixed = {"0.0.0.0", "255.255.255.255", "01.2.3.4", "1.2.3.04",
                                          "1.2.3.0", "00.1.1.1", "1.2.3.256", "1.2.3.4.",
                                          ".1.2.3.4", "1.2.3.1000", "999.1.1.1", "10.0.0.1"};
  int accepted = 0;
  for (int n = 0; n < 200000; ++n) {
    std::string text;
    if (n < static_cast<int>(fixed.size())) {
      text = fixed[n];
    } else if (n % 2 == 0) {  // well-formed shape with random octets, some out of range
      for (int o = 0; o < 4; ++o) text += (o ? "." : "") + std::to_string(rng() % 300);
      if (rng() % 8 == 0) text.insert(rng() % text.size(), "0");
    } else {
      const size_t len = rng() % 18;
      for (size_t i = 0; i < len; ++i) text += alphabet[rng() % alphabet.size()];
    }
    in_addr a;
    const bool want = inet_pton(AF_INET, text.c_str(), &a) == 1;
    const auto got = IpAddress::Parse(text);
    ASSERT_EQ(got.has_value(), want) << "'" << text << "'";
    if (want) {
      ++accepted;
      ASSERT_TRUE(got->is_v4());
      ASSERT_EQ(got->v4(), ntohl(a.s_addr)) << "'" << text << "'";
    }
  }
  EXPECT_GT(accepted, 30000);  // the comparison covered valid addresses, not just rejections
}

TEST(IpAddressTest, MaskedKeepsLeadingBitsOfTheNativeFamily) {
  const IpAddress v4 = Ip("198.51.100.7");
  EXPECT_EQ(v4.Masked(24).ToString(), "198.51.100.0");
  EXPECT_EQ(v4.Masked(20).ToString(), "198.51.96.0");
  EXPECT_EQ(v4.Masked(32), v4);
  EXPECT_EQ(v4.Masked(0).ToString(), "0.0.0.0");
  EXPECT_TRUE(v4.Masked(0).is_v4()) << "masking must not eat the IPv4-mapped prefix";
  EXPECT_TRUE(v4.Masked(24).is_v4());
  EXPECT_EQ(v4.Masked(99), v4) << "bits beyond the family are clamped";
  EXPECT_EQ(v4.Masked(-5).ToString(), "0.0.0.0");

  const IpAddress v6 = Ip("2001:db8:1:2:3:4:5:6");
  EXPECT_EQ(v6.Masked(64).ToString(), "2001:db8:1:2::");
  EXPECT_EQ(v6.Masked(48).ToString(), "2001:db8:1::");
  EXPECT_EQ(v6.Masked(60).ToString(), "2001:db8:1::");
  EXPECT_EQ(v6.Masked(61).ToString(), "2001:db8:1::");
  EXPECT_EQ(Ip("2001:db8:1:ff:3:4:5:6").Masked(60).ToString(), "2001:db8:1:f0::");
  EXPECT_EQ(v6.Masked(128), v6);
  EXPECT_EQ(v6.Masked(0).ToString(), "::");
}

TEST(IpPrefixTest, OfUsesTheBitsOfTheAddressFamily) {
  const IpPrefix p4 = IpPrefix::Of(Ip("198.51.100.77"), 24, 64);
  EXPECT_EQ(p4.bits, 24);
  EXPECT_EQ(p4.network, Ip("198.51.100.0"));
  EXPECT_EQ(p4.ToString(), "198.51.100.0/24");

  const IpPrefix p6 = IpPrefix::Of(Ip("2001:db8:1:2:3:4:5:6"), 24, 64);
  EXPECT_EQ(p6.bits, 64);
  EXPECT_EQ(p6.ToString(), "2001:db8:1:2::/64");

  EXPECT_EQ(IpPrefix::Of(Ip("::ffff:198.51.100.77"), 24, 64), p4)
      << "an IPv4-mapped address gets the IPv4 prefix";
  EXPECT_EQ(IpPrefix::Of(Ip("198.51.100.77"), 32, 128).ToString(), "198.51.100.77/32");
  EXPECT_EQ(IpPrefix::Of(Ip("2001:db8::1"), 32, 128).ToString(), "2001:db8::1/128");
}

TEST(IpPrefixTest, ContainsOnlyAddressesOfItsNetworkAndFamily) {
  const IpPrefix p4 = IpPrefix::Of(Ip("198.51.100.0"), 24, 64);
  EXPECT_TRUE(p4.Contains(Ip("198.51.100.0")));
  EXPECT_TRUE(p4.Contains(Ip("198.51.100.255")));
  EXPECT_TRUE(p4.Contains(Ip("::ffff:198.51.100.9")));
  EXPECT_FALSE(p4.Contains(Ip("198.51.101.0")));
  EXPECT_FALSE(p4.Contains(Ip("198.51.99.255")));
  EXPECT_FALSE(p4.Contains(Ip("2001:db8::1")));

  const IpPrefix p6 = IpPrefix::Of(Ip("2001:db8:1:2::"), 24, 64);
  EXPECT_TRUE(p6.Contains(Ip("2001:db8:1:2:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(p6.Contains(Ip("2001:db8:1:3::")));
  EXPECT_FALSE(p6.Contains(Ip("198.51.100.1")));

  const IpPrefix any4 = *IpPrefix::Parse("0.0.0.0/0");
  EXPECT_TRUE(any4.Contains(Ip("8.8.8.8")));
  EXPECT_TRUE(any4.Contains(Ip("255.255.255.255")));
  EXPECT_FALSE(any4.Contains(Ip("2001:db8::1"))) << "0.0.0.0/0 is every IPv4 address, no IPv6";

  const IpPrefix any6 = *IpPrefix::Parse("::/0");
  EXPECT_TRUE(any6.Contains(Ip("2001:db8::1")));
  EXPECT_FALSE(any6.Contains(Ip("8.8.8.8"))) << "::/0 is every IPv6 address, no IPv4";

  const IpPrefix host = *IpPrefix::Parse("198.51.100.7/32");
  EXPECT_TRUE(host.Contains(Ip("198.51.100.7")));
  EXPECT_FALSE(host.Contains(Ip("198.51.100.6")));
}

TEST(IpPrefixTest, ParsesCidrAndZeroesHostBits) {
  struct Case {
    const char* in;
    const char* out;
    int bits;
  };
  const Case cases[] = {
      {"198.51.100.0/24", "198.51.100.0/24", 24},
      {"198.51.100.77/24", "198.51.100.0/24", 24},
      {"10.1.2.3/8", "10.0.0.0/8", 8},
      {"0.0.0.0/0", "0.0.0.0/0", 0},
      {"8.8.8.8/0", "0.0.0.0/0", 0},
      {"198.51.100.7/32", "198.51.100.7/32", 32},
      {"198.51.100.7", "198.51.100.7/32", 32},
      {"::ffff:198.51.100.7/24", "198.51.100.0/24", 24},
      {"2001:db8::/32", "2001:db8::/32", 32},
      {"2001:db8:1:2:3:4:5:6/64", "2001:db8:1:2::/64", 64},
      {"::/0", "::/0", 0},
      {"2001:db8::1/128", "2001:db8::1/128", 128},
      {"2001:db8::1", "2001:db8::1/128", 128},
  };
  for (const auto& c : cases) {
    auto p = IpPrefix::Parse(c.in);
    ASSERT_TRUE(p.has_value()) << c.in;
    EXPECT_EQ(p->bits, c.bits) << c.in;
    EXPECT_EQ(p->ToString(), c.out) << c.in;
    EXPECT_EQ(IpPrefix::Parse(p->ToString()), p) << c.in << ": ToString must parse back";
  }
}

TEST(IpPrefixTest, RejectsBadCidr) {
  for (const char* text : {"198.51.100.0/33", "198.51.100.0/-1", "198.51.100.0/", "198.51.100.0/x",
                           "198.51.100.0/24/8", "198.51.100.0/2.4", "/24", "198.51.100/24",
                           "999.1.1.1/8", "2001:db8::/129", "2001:db8::/1000", "::/", "",
                           "198.51.100.0/99999999999999999999"}) {
    EXPECT_FALSE(IpPrefix::Parse(text).has_value()) << "'" << text << "' should not parse";
  }
}

}  // namespace
}  // namespace authwatch
