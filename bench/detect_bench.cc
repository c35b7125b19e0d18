// Detection benchmarks: window updates and rule evaluation per event, from one window primitive
// up to DetectionEngine::Process with the shipped rules (rules/*.yaml).
//
// Why: detection is the stage whose cost depends on the traffic rather than the record: how many
// accounts are tracked (hash-map probes that miss the CPU caches once the state outgrows them),
// and how many rules an event matches (state created, samples kept, conditions evaluated,
// evidence built when a rule fires). TOOLCHAIN.md puts random memory access at 160-300 ns and a
// naive prototype at 1.5 us/event for 10^6 accounts; these numbers show where authwatch stands.
//
// Scenarios (every input made before the timed loop; events are taken in turn from a pool of
// 2^20 pre-built EnrichedEvents carrying a shared GeoRecord and their prefix; the loop only
// stamps the event time, 1 ms apart, so time moves forward across passes):
//   BM_SlidingCounterAddCount/W      Add + Count on one counter, window W ms, events 0-2 s apart.
//   BM_SlidingDistinctAddCount/V     Add + Count on one distinct set, 1 h window, V distinct values:
//                                    V=48 stays exact (<= 64 entries), V=2^20 turns into the sketch.
//   BM_DetectBenign/N                successful logins (imap 60 %, web 25 %, smtp 15 %) of N
//                                    accounts chosen uniformly at random, each from its home
//                                    address; every account has a profile (one success each,
//                                    untimed) before timing. N=10^3 is hot (state in cache),
//                                    10^5 and 10^6 are spread (a profile probe misses the caches).
//                                    No rule creates window state for these: rules matching 0.
//   BM_DetectAttack                  a failure-heavy stream (~80 % failures) against 10^5 profiled
//                                    accounts: spraying from 200 hosting addresses, stuffing from
//                                    a 20 000-address residential botnet, brute force of 50
//                                    addresses against a few accounts each, SMTP abuse of 1000
//                                    compromised accounts from hosting networks, 10 % benign:
//                                    rules matching many (state for ip, prefix, asn, account and
//                                    account_ip keys; rules firing and building evidence).
// Counters: items = events; signals_per_event; live_keys = window states at the end of the run;
// profiles = accounts with a profile.
//
// BM_DetectAttack runs a fixed 200 000 events (200 s of event time) from a fresh engine, since its
// state grows for as long as it runs.
//
// Last recorded 2026-11-27: AMD EPYC (2 vCPU VM shared with other builds, load 2-4), Release,
// GCC 12.2, engine before d4b5634 (flat_hash_map profile store); CPU time, medians of 5 reps:
//   BM_SlidingCounterAddCount   2m: 11.3 ns   1h: 9.6 ns   24h: 9.7 ns
//   BM_SlidingDistinctAddCount  exact (48 values): 32.9 ns   sketch (2^20 values): 449 ns
//   BM_DetectBenign             10^3: 522 ns   10^5: 727 ns   10^6: 1040 ns   (0 signals, 0 window keys)
//   BM_DetectAttack             5669 ns (cv 17 %), 0.080 signals/event, 668 k window keys at the end
// Where the time goes (perf): benign, hot: ~55 % in RuleSet::Matches comparing result/protocol
// names as strings; attack: RuleWindows::Find 23 %, SlidingDistinct::Count 16 % (std::ldexp per
// HLL register), sample string copies and frees ~13 %, first-touch page faults ~10 %.
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "bench_inputs.h"
#include "benchmark/benchmark.h"
#include "detect/detection_engine.h"
#include "detect/rule_loader.h"
#include "detect/sliding_counter.h"
#include "detect/sliding_distinct.h"

namespace authwatch {
namespace {

using bench::Geo;

constexpr size_t kPoolEvents = size_t{1} << 20;  // a power of two
constexpr EventTimeMs kStart = 1793577600000;    // 2026-11-02T00:00:00Z
constexpr EventTimeMs kStepMs = 1;               // 1000 logins/s: a mid-size provider

// ---- Window primitives ----------------------------------------------------------------------

void BM_SlidingCounterAddCount(benchmark::State& state) {
  const int64_t window_ms = state.range(0);
  const int64_t width = SlidingCounter::BucketWidth(window_ms);
  std::mt19937_64 rng(1);
  std::vector<EventTimeMs> times(kPoolEvents);
  EventTimeMs t = kStart;
  for (auto& x : times) x = t += static_cast<EventTimeMs>(rng() % 2000);
  const EventTimeMs span = t - kStart + 2000;
  SlidingCounter counter;
  size_t i = 0;
  EventTimeMs offset = 0;
  for (auto _ : state) {
    const EventTimeMs now = times[i & (kPoolEvents - 1)] + offset;
    if ((++i & (kPoolEvents - 1)) == 0) offset += span;
    counter.Add(now, width);
    uint32_t n = counter.Count(now, width);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SlidingCounterAddCount)->Arg(120000)->Arg(3600000)->Arg(86400000);

void BM_SlidingDistinctAddCount(benchmark::State& state) {
  const size_t distinct = static_cast<size_t>(state.range(0));
  constexpr int64_t kWindowMs = 3600000;
  std::mt19937_64 rng(2);
  std::vector<uint64_t> values(distinct);
  for (auto& v : values) v = rng() | 1;
  std::vector<std::pair<uint64_t, EventTimeMs>> events(kPoolEvents);
  EventTimeMs t = kStart;
  for (auto& [v, ts] : events) {
    v = values[rng() % distinct];
    ts = t += static_cast<EventTimeMs>(rng() % 2000);
  }
  const EventTimeMs span = t - kStart + 2000;
  SlidingDistinct set;
  size_t i = 0;
  EventTimeMs offset = 0;
  for (auto _ : state) {
    const auto& [v, ts] = events[i & (kPoolEvents - 1)];
    const EventTimeMs now = ts + offset;
    if ((++i & (kPoolEvents - 1)) == 0) offset += span;
    set.Add(v, now, kWindowMs);
    uint32_t n = set.Count(now, kWindowMs);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(set.is_sketch() ? "sketch" : "exact");
}
BENCHMARK(BM_SlidingDistinctAddCount)->Arg(48)->Arg(1 << 20);

// ---- DetectionEngine with the shipped rules ----------------------------------------------------

std::shared_ptr<const RuleSet> ShippedRules(std::string* error) {
  static const RuleLoadResult loaded = LoadRules({bench::SourcePath("rules")});
  if (!loaded.rules) *error = "rules/ did not compile (run authwatch check)";
  return loaded.rules;
}

// Home networks: residential ISPs of several countries (the ASNs of tests/scenarios/generate.py).
const std::vector<std::shared_ptr<const GeoRecord>>& ResidentialGeo() {
  static const std::vector<std::shared_ptr<const GeoRecord>> geo = {
      Geo("DE", 3320, 52.52, 13.40),  Geo("DE", 3209, 50.11, 8.68),   Geo("US", 7922, 40.71, -74.0),
      Geo("US", 20115, 34.05, -118.2), Geo("FR", 3215, 48.85, 2.35),  Geo("GB", 2856, 51.51, -0.13),
      Geo("ES", 3352, 40.42, -3.70),  Geo("NL", 1136, 52.37, 4.90),   Geo("JP", 4713, 35.68, 139.7),
      Geo("IN", 24560, 19.08, 72.88), Geo("BR", 28573, -23.55, -46.6), Geo("IT", 3269, 41.90, 12.50)};
  return geo;
}

// Hosting networks in rules/smtp-abuse.yaml's hosting_asns list.
const std::vector<std::shared_ptr<const GeoRecord>>& HostingGeo() {
  static const std::vector<std::shared_ptr<const GeoRecord>> geo = {
      Geo("FR", 16276, 50.69, 3.17), Geo("US", 14061, 40.79, -74.06), Geo("DE", 24940, 49.45, 11.07),
      Geo("NL", 9009, 52.35, 4.92),  Geo("SG", 16509, 1.29, 103.85)};
  return geo;
}

// A population of accounts, each with a home address and its GeoRecord.
struct Population {
  struct Account {
    std::string name;
    IpAddress home;
    std::shared_ptr<const GeoRecord> geo;
  };
  std::vector<Account> accounts;

  explicit Population(size_t n) {
    std::mt19937_64 rng(3);
    // Homes share /24s the way subscribers of one ISP do: 65536 residential /24s.
    std::vector<uint32_t> prefixes(65536);
    for (auto& p : prefixes) p = bench::RandomRoutableV4(rng) & 0xffffff00u;
    const auto& geo = ResidentialGeo();
    accounts.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const size_t p = rng() % prefixes.size();
      accounts.push_back({absl::StrFormat("user%07d@mail.example", i),
                          IpAddress::FromV4(prefixes[p] | (1 + rng() % 254)), geo[p % geo.size()]});
    }
  }
};

EnrichedEvent MakeEvent(const std::string& account, const IpAddress& ip, bool success,
                        const char* protocol, std::shared_ptr<const GeoRecord> geo) {
  EnrichedEvent e;
  e.event.account = account;
  e.event.ip = ip;
  e.event.result = success ? AuthResult::kSuccess : AuthResult::kFailure;
  e.event.protocol = protocol;
  e.event.user_agent = "Thunderbird/128.3.1";
  if (!success) e.event.failure_reason = "bad_password";
  e.geo = std::move(geo);
  e.prefix = IpPrefix::Of(ip, 24, 64);
  return e;
}

const char* BenignProtocol(std::mt19937_64& rng) {
  const uint64_t r = rng() % 100;
  return r < 60 ? "imap" : r < 85 ? "web" : "smtp";
}

// One success per account from its home, untimed: every account is tracked before timing.
// Returns the next event time.
EventTimeMs Warm(DetectionEngine& engine, const Population& pop, EventTimeMs t) {
  std::vector<Signal> signals;
  EventContext ctx;
  EnrichedEvent e;
  for (const auto& a : pop.accounts) {
    e = MakeEvent(a.name, a.home, true, "imap", a.geo);
    e.event.ts_ms = t++;
    signals.clear();
    engine.Process(e, &ctx, &signals);
  }
  return t;
}

// Runs pool events through `engine` in the timed loop, stamping times from t.
void RunEngine(benchmark::State& state, DetectionEngine& engine, std::vector<EnrichedEvent>& pool,
               EventTimeMs t) {
  std::vector<Signal> signals;
  EventContext ctx;
  size_t i = 0;
  uint64_t total_signals = 0;
  for (auto _ : state) {
    EnrichedEvent& e = pool[i++ & (kPoolEvents - 1)];
    e.event.ts_ms = t;
    t += kStepMs;
    signals.clear();
    engine.Process(e, &ctx, &signals);
    total_signals += signals.size();
    benchmark::DoNotOptimize(signals.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["signals_per_event"] =
      static_cast<double>(total_signals) / static_cast<double>(state.iterations());
  size_t keys = 0;
  for (size_t k : engine.windows().KeysByKind()) keys += k;
  state.counters["live_keys"] = static_cast<double>(keys);
  state.counters["profiles"] = static_cast<double>(engine.profiles().size());
}

void BM_DetectBenign(benchmark::State& state) {
  std::string error;
  const auto rules = ShippedRules(&error);
  if (!rules) return state.SkipWithError(error.c_str());
  const size_t n = static_cast<size_t>(state.range(0));
  // One population and pool at a time (10^6 accounts' pool is ~400 MB).
  static size_t built_for = 0;
  static std::unique_ptr<Population> pop;
  static std::vector<EnrichedEvent> pool;
  if (built_for != n) {
    pool.clear();
    pop = std::make_unique<Population>(n);
    std::mt19937_64 rng(4);
    pool.reserve(kPoolEvents);
    for (size_t i = 0; i < kPoolEvents; ++i) {
      const auto& a = pop->accounts[rng() % n];
      pool.push_back(MakeEvent(a.name, a.home, true, BenignProtocol(rng), a.geo));
    }
    built_for = n;
  }
  DetectionEngine engine(rules);
  const EventTimeMs t = Warm(engine, *pop, kStart);
  RunEngine(state, engine, pool, t);
}
BENCHMARK(BM_DetectBenign)->Arg(1000)->Arg(100000)->Arg(1000000)->MinTime(1.0);

std::vector<EnrichedEvent> AttackPool(const Population& pop) {
  std::mt19937_64 rng(5);
  const auto& hosting = HostingGeo();
  const auto& residential = ResidentialGeo();
  // Spraying: 200 hosting addresses in 20 /24s.
  std::vector<std::pair<IpAddress, size_t>> sprayers;
  for (int p = 0; p < 20; ++p) {
    const uint32_t net = bench::RandomRoutableV4(rng) & 0xffffff00u;
    for (int h = 0; h < 10; ++h) sprayers.emplace_back(IpAddress::FromV4(net | (10 + h)), p % hosting.size());
  }
  // Stuffing: a residential botnet of 20 000 addresses, each in its own /24.
  std::vector<std::pair<IpAddress, size_t>> bots;
  for (int b = 0; b < 20000; ++b) {
    bots.emplace_back(IpAddress::FromV4(bench::RandomRoutableV4(rng)), rng() % residential.size());
  }
  // Brute force: 50 addresses, each against 3 accounts.
  std::vector<std::pair<IpAddress, size_t>> brute;
  for (int b = 0; b < 50; ++b) brute.emplace_back(IpAddress::FromV4(bench::RandomRoutableV4(rng)), rng() % hosting.size());
  // SMTP abuse: 1000 compromised accounts sending through 300 hosting addresses.
  std::vector<std::pair<IpAddress, size_t>> relays;
  for (int r = 0; r < 300; ++r) relays.emplace_back(IpAddress::FromV4(bench::RandomRoutableV4(rng)), r % hosting.size());

  const size_t n = pop.accounts.size();
  std::vector<EnrichedEvent> pool;
  pool.reserve(kPoolEvents);
  for (size_t i = 0; i < kPoolEvents; ++i) {
    const uint64_t r = rng() % 100;
    // Sprayed and stuffed names: half real accounts, half guesses.
    auto target = [&]() -> std::string {
      return rng() % 2 ? pop.accounts[rng() % n].name
                       : absl::StrFormat("guess%07d@mail.example", static_cast<int>(rng() % 1000000));
    };
    if (r < 10) {
      const auto& a = pop.accounts[rng() % n];
      pool.push_back(MakeEvent(a.name, a.home, true, BenignProtocol(rng), a.geo));
    } else if (r < 40) {
      const auto& [ip, g] = sprayers[rng() % sprayers.size()];
      pool.push_back(MakeEvent(target(), ip, false, rng() % 2 ? "imap" : "smtp", hosting[g]));
    } else if (r < 70) {
      const auto& [ip, g] = bots[rng() % bots.size()];
      pool.push_back(MakeEvent(target(), ip, rng() % 100 < 3, "imap", residential[g]));
    } else if (r < 90) {
      const size_t b = rng() % brute.size();
      const auto& [ip, g] = brute[b];
      pool.push_back(MakeEvent(pop.accounts[(b * 3 + rng() % 3) % n].name, ip, false, "pop3", hosting[g]));
    } else {
      const auto& [ip, g] = relays[rng() % relays.size()];
      pool.push_back(MakeEvent(pop.accounts[rng() % 1000].name, ip, true, "smtp", hosting[g]));
    }
  }
  return pool;
}

void BM_DetectAttack(benchmark::State& state) {
  std::string error;
  const auto rules = ShippedRules(&error);
  if (!rules) return state.SkipWithError(error.c_str());
  static const Population pop(100000);
  static std::vector<EnrichedEvent> pool = AttackPool(pop);
  DetectionEngine engine(rules);
  const EventTimeMs t = Warm(engine, pop, kStart);
  RunEngine(state, engine, pool, t);
}
BENCHMARK(BM_DetectAttack)->Iterations(200000);

}  // namespace
}  // namespace authwatch

BENCHMARK_MAIN();
