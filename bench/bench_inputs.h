// Input generators shared by the benchmarks: where the checkout is, random routable addresses,
// and a Zipf-like sampler for "a few addresses/accounts are most of the traffic". Everything
// here runs before a timed loop; nothing in it is meant to be fast. Deterministic for a seed.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/auth_event.h"
#include "core/ip_address.h"
#include "core/stable_hash.h"

namespace authwatch::bench {

// A file of the checkout (rules/, deploy/, var/geoip/).
inline std::string SourcePath(const std::string& relative) {
  return std::string(AUTHWATCH_SOURCE_DIR) + "/" + relative;
}

// A uniformly random IPv4 address outside the special-purpose blocks of RFC 6890 (private,
// loopback, link-local, CGNAT, documentation, benchmarking, multicast, reserved).
inline uint32_t RandomRoutableV4(std::mt19937_64& rng) {
  for (;;) {
    const auto a = static_cast<uint32_t>(rng());
    const uint32_t o1 = a >> 24, o2 = (a >> 16) & 0xff, o3 = (a >> 8) & 0xff;
    if (o1 == 0 || o1 == 10 || o1 == 127 || o1 >= 224) continue;
    if (o1 == 100 && (o2 & 0xc0) == 64) continue;   // 100.64/10
    if (o1 == 169 && o2 == 254) continue;            // 169.254/16
    if (o1 == 172 && (o2 & 0xf0) == 16) continue;   // 172.16/12
    if (o1 == 192 && o2 == 168) continue;            // 192.168/16
    if (o1 == 192 && o2 == 0 && (o3 == 0 || o3 == 2)) continue;
    if (o1 == 198 && (o2 & 0xfe) == 18) continue;   // 198.18/15
    if (o1 == 198 && o2 == 51 && o3 == 100) continue;
    if (o1 == 203 && o2 == 0 && o3 == 113) continue;
    return a;
  }
}

// Announced IPv6 ranges (first, last) read from var/geoip/asn-ipv6.csv, so that random IPv6
// addresses fall where real clients are (a random address in 2000::/3 is almost never routed,
// and its lookup would stop early in the tree). Empty when the file is missing.
inline std::vector<std::pair<IpAddress, IpAddress>> LoadV6Ranges() {
  std::vector<std::pair<IpAddress, IpAddress>> out;
  std::ifstream in(SourcePath("var/geoip/asn-ipv6.csv"));
  std::string line;
  while (std::getline(in, line)) {
    const size_t c1 = line.find(',');
    const size_t c2 = c1 == std::string::npos ? c1 : line.find(',', c1 + 1);
    if (c2 == std::string::npos) continue;
    auto lo = IpAddress::Parse(std::string_view(line).substr(0, c1));
    auto hi = IpAddress::Parse(std::string_view(line).substr(c1 + 1, c2 - c1 - 1));
    if (lo && hi && !lo->is_v4()) out.emplace_back(*lo, *hi);
  }
  return out;
}

// A random address inside one of `ranges` (range chosen uniformly, then an address in it).
inline IpAddress RandomV6In(const std::vector<std::pair<IpAddress, IpAddress>>& ranges,
                            std::mt19937_64& rng) {
  for (;;) {
    const auto& [lo, hi] = ranges[rng() % ranges.size()];
    std::array<uint8_t, 16> b = lo.bytes();
    // Randomise every byte after the common prefix of lo and hi; retry if outside [lo, hi].
    size_t common = 0;
    while (common < 16 && lo.bytes()[common] == hi.bytes()[common]) ++common;
    for (size_t i = common; i < 16; ++i) b[i] = static_cast<uint8_t>(rng());
    if (b >= lo.bytes() && b <= hi.bytes()) return IpAddress::FromV6(b);
  }
}

// Draws ranks 0..n-1 with P(k) proportional to 1/(k+1)^s (inverse CDF by binary search).
class ZipfSampler {
 public:
  ZipfSampler(size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (size_t k = 0; k < n; ++k) cdf_[k] = sum += 1.0 / std::pow(double(k + 1), s);
    for (double& c : cdf_) c /= sum;
  }
  size_t operator()(std::mt19937_64& rng) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return std::min(cdf_.size() - 1,
                    size_t(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin()));
  }

 private:
  std::vector<double> cdf_;
};

// A located GeoRecord for hand-built events (accuracy 20 km).
inline std::shared_ptr<const GeoRecord> Geo(const char* country, uint32_t asn, double lat, double lon) {
  auto g = std::make_shared<GeoRecord>();
  g->country_iso = country;
  g->asn = asn;
  g->has_location = true;
  g->latitude = lat;
  g->longitude = lon;
  g->accuracy_radius_km = 20;
  return g;
}

// The population of the state benches: n accounts, each logging in once per pass, spread evenly
// over a day per pass from 2026-11-02, always from its own home: one of 2^20 residential /24s
// (11.0.0.0 upwards) in one of eight countries and ASNs. Protocols: the first pass imap, then
// mostly imap, some web, a little smtp. Only the login's fields are set; result is the caller's.
class HomeLogins {
 public:
  static constexpr EventTimeMs kStart = 1793577600000;  // 2026-11-02T00:00:00Z
  static constexpr int64_t kDayMs = 86400000;

  explicit HomeLogins(size_t n) : n_(n) {}
  // Account i's stable hash (its home network and country derive from it).
  static uint64_t Hash(size_t i) { return Mix64(i + 1); }
  // Fills `e` with account i's login of pass `pass`.
  void Fill(size_t i, int pass, EnrichedEvent* e) {
    const int len = std::snprintf(name_, sizeof name_, "user%08zu@mail.example", i);
    e->event.account.assign(name_, static_cast<size_t>(len));
    const uint64_t h = Hash(i);
    const uint32_t net = 0x0b000000u + ((static_cast<uint32_t>(h) & 0xfffff) << 8);
    e->event.ip = IpAddress::FromV4(net | (1 + (h >> 32) % 254));
    e->prefix = IpPrefix::Of(e->event.ip, 24, 64);
    e->geo = geo_[(h >> 20) % geo_.size()];
    static const char* const kProtocols[] = {"imap", "imap", "imap", "web", "web", "smtp"};
    e->event.protocol = pass == 0 ? "imap" : kProtocols[Mix64(h + static_cast<uint64_t>(pass)) % 6];
    e->event.ts_ms = kStart + static_cast<int64_t>((static_cast<uint64_t>(pass) * n_ + i) *
                                                   static_cast<uint64_t>(kDayMs) / n_);
  }
  const std::vector<std::shared_ptr<const GeoRecord>>& geo() const { return geo_; }

 private:
  size_t n_;
  char name_[64];
  std::vector<std::shared_ptr<const GeoRecord>> geo_ = {
      Geo("DE", 3320, 52.52, 13.40), Geo("US", 7922, 40.71, -74.0), Geo("FR", 3215, 48.85, 2.35),
      Geo("GB", 2856, 51.51, -0.13), Geo("ES", 3352, 40.42, -3.70), Geo("NL", 1136, 52.37, 4.90),
      Geo("JP", 4713, 35.68, 139.7), Geo("IN", 24560, 19.08, 72.88)};
};

}  // namespace authwatch::bench
