// authwatch_state_snapshot: size of a shard's state snapshot per tracked account, and the time to
// take and to restore one, at 10^6 accounts by default.
//
// What and why: on partition assignment an instance restores the partition's snapshot before it
// consumes (issue #8: restore of 10^6 accounts within 2 s), and every snapshot is written to a
// compacted topic, so its size is broker disk and network per checkpoint. The state is built
// like authwatch_state_memory's (bench/state_memory_bench.cc: K successful logins per account from
// a fixed home /24, shipped rules), plus window state: a fraction F of the accounts also fail
// three times from a random address (a spread attack: keys for ip, prefix, asn, account and
// account_ip rules, with evidence samples). Then, R times:
//   snapshot_s   StateCodec::Snapshot (walk and sort the state into the proto)
//   serialize_s  ShardState::SerializeToString
//   chunk_s      ChunkSnapshot into 1 MB chunks (CRC-32 of each and of the whole)
//   assemble_s   AssembleSnapshot (checks every CRC) + ParseShardState
//   restore_s    StateCodec::Restore into a fresh engine and policy (check, build the maps)
//   restore_total_s = assemble_s + restore_s: bytes in hand to a shard ready to consume
// and reports the median of each, and the snapshot's bytes per account (the whole, and its
// profile, window and policy parts). Each restore is checked against the source by StateDigest
// (untimed). Inputs are made before any timing; one process (timings, not RSS, are measured).
//
//   build-bench/bin/authwatch_state_snapshot [--logins K] [--failing F] [--runs R] [N]
//   defaults: K = 2, F = 0.1, R = 5, N = 10^6
//
// Last recorded 2026-11-27: AMD EPYC (2 vCPU VM shared with another engineer's builds, load ~2.5),
// Release, GCC 12.2; N = 10^6, K = 2, R = 5, medians (seconds):
//   F     bytes/account (profiles + windows)  snapshot  serialize  chunk  assemble+parse  restore  restore_total
//   0     52.0  (52.0 + 0)                     0.309     0.058      0.044  0.132           0.120    0.245
//   0.1  107.7  (52.0 + 55.7; 270 026 keys)    0.772     0.081      0.146  0.358           0.225    0.583
//   restore_total ranged 0.571-2.265 s over the five F = 0.1 runs (the high one while the other
//   engineer's build ran): within the 2 s target at the median, not on a loaded machine's
//   worst run. A window key costs ~200 bytes, three evidence samples with their account names most
//   of it; a profile ~52 (key delta 7, times 7, place 10, nine slot ids ~17, used slots' day and
//   uses ~9).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_inputs.h"
#include "core/stable_hash.h"
#include "decide/decision_policy.h"
#include "detect/detection_engine.h"
#include "detect/rule_loader.h"
#include "state/snapshot_chunks.h"
#include "state/state_codec.h"

namespace authwatch {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

int Run(size_t n, int logins, double failing, int runs) {
  const RuleLoadResult loaded = LoadRules({bench::SourcePath("rules")});
  if (!loaded.rules) {
    std::fprintf(stderr, "rules/ did not compile (run authwatch check)\n");
    return 1;
  }
  bench::HomeLogins population(n);

  // ---- Build the state (untimed) ----
  DetectionEngine engine(loaded.rules);
  DecisionPolicy policy(loaded.rules);
  EnrichedEvent e;
  e.event.user_agent = "Thunderbird/128.3.1";
  EventContext ctx;
  std::vector<Signal> signals;
  std::vector<Decision> decisions;
  EventTimeMs newest = 0;
  auto feed = [&] {
    newest = std::max(newest, e.event.ts_ms);
    decisions.clear();
    policy.AdvanceTo(newest, &decisions);
    signals.clear();
    engine.Process(e, &ctx, &signals);
    for (const Signal& s : signals) policy.OnSignal(s, ctx, &decisions);
  };
  std::mt19937_64 rng(42);
  const auto build_start = std::chrono::steady_clock::now();
  for (int pass = 0; pass < logins; ++pass) {
    for (size_t i = 0; i < n; ++i) {
      population.Fill(i, pass, &e);
      e.event.result = AuthResult::kSuccess;
      feed();
      // The last pass: a fraction of the accounts is attacked from random addresses, within the
      // last day, so that the window state is live at the snapshot.
      if (pass == logins - 1 && static_cast<double>(Mix64(bench::HomeLogins::Hash(i)) % 1000000) < failing * 1e6) {
        e.event.ip = IpAddress::FromV4(bench::RandomRoutableV4(rng));
        e.prefix = IpPrefix::Of(e.event.ip, 24, 64);
        e.geo = population.geo()[rng() % population.geo().size()];
        e.event.result = AuthResult::kFailure;
        for (int k = 0; k < 3; ++k) feed();
      }
    }
  }
  size_t window_keys = 0;
  for (size_t k : engine.windows().KeysByKind()) window_keys += k;
  std::printf("state: %zu profiles, %zu window keys, %zu active decisions (built in %.1f s)\n",
              engine.profiles().size(), window_keys, policy.active(), Seconds(build_start));
  const uint64_t digest = StateDigest(engine, policy);

  std::vector<double> snapshot_s, serialize_s, chunk_s, assemble_s, restore_s, total_s;
  size_t bytes = 0, profile_bytes = 0, window_bytes = 0, policy_bytes = 0, chunks = 0;
  for (int r = 0; r < runs; ++r) {
    auto t = std::chrono::steady_clock::now();
    v1::ShardState state = StateCodec::Snapshot(engine, policy, 123456789);
    snapshot_s.push_back(Seconds(t));
    t = std::chrono::steady_clock::now();
    std::string serialized;
    state.SerializeToString(&serialized);
    serialize_s.push_back(Seconds(t));
    bytes = serialized.size();
    profile_bytes = state.profiles().ByteSizeLong();
    policy_bytes = state.policy().ByteSizeLong();
    window_bytes = 0;
    for (const auto& rule : state.rules()) window_bytes += rule.ByteSizeLong();
    state.Clear();
    t = std::chrono::steady_clock::now();
    absl::StatusOr<ChunkedSnapshot> chunked = ChunkSnapshot(serialized, 0, 123456789, 1 << 20);
    chunk_s.push_back(Seconds(t));
    if (!chunked.ok()) {
      std::fprintf(stderr, "%s\n", std::string(chunked.status().message()).c_str());
      return 1;
    }
    chunks = chunked->chunks.size();
    serialized.clear();
    serialized.shrink_to_fit();

    // Restore: from the chunks in hand to a shard ready to consume.
    DetectionEngine fresh_engine(loaded.rules);
    DecisionPolicy fresh_policy(loaded.rules);
    t = std::chrono::steady_clock::now();
    absl::StatusOr<std::string> assembled = AssembleSnapshot(chunked->manifest, chunked->chunks);
    absl::StatusOr<v1::ShardState> parsed =
        assembled.ok() ? ParseShardState(*assembled) : absl::StatusOr<v1::ShardState>(assembled.status());
    const double assemble = Seconds(t);
    if (!parsed.ok()) {
      std::fprintf(stderr, "%s\n", std::string(parsed.status().message()).c_str());
      return 1;
    }
    t = std::chrono::steady_clock::now();
    const absl::Status restored = StateCodec::Restore(*parsed, &fresh_engine, &fresh_policy);
    const double restore = Seconds(t);
    if (!restored.ok()) {
      std::fprintf(stderr, "%s\n", std::string(restored.message()).c_str());
      return 1;
    }
    assemble_s.push_back(assemble);
    restore_s.push_back(restore);
    total_s.push_back(assemble + restore);
    if (StateDigest(fresh_engine, fresh_policy) != digest) {
      std::fprintf(stderr, "restored state differs from the source (digest)\n");
      return 1;
    }
  }
  const double nd = static_cast<double>(n);
  std::printf("snapshot: %zu bytes in %zu chunks of <= 1 MiB: %.1f bytes/account "
              "(profiles %.1f, windows %.1f, policy %.1f)\n",
              bytes, chunks, static_cast<double>(bytes) / nd, static_cast<double>(profile_bytes) / nd,
              static_cast<double>(window_bytes) / nd, static_cast<double>(policy_bytes) / nd);
  std::printf("medians of %d runs (s): snapshot %.3f  serialize %.3f  chunk %.3f  |  assemble+parse %.3f  "
              "restore %.3f  restore_total %.3f\n",
              runs, Median(snapshot_s), Median(serialize_s), Median(chunk_s), Median(assemble_s),
              Median(restore_s), Median(total_s));
  std::printf("ranges (s): snapshot %.3f-%.3f  restore_total %.3f-%.3f\n",
              *std::min_element(snapshot_s.begin(), snapshot_s.end()),
              *std::max_element(snapshot_s.begin(), snapshot_s.end()),
              *std::min_element(total_s.begin(), total_s.end()), *std::max_element(total_s.begin(), total_s.end()));
  return 0;
}

}  // namespace
}  // namespace authwatch

int main(int argc, char** argv) {
  int logins = 2, runs = 5;
  double failing = 0.1;
  size_t n = 1000000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--logins") == 0 && i + 1 < argc) {
      logins = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--failing") == 0 && i + 1 < argc) {
      failing = std::strtod(argv[++i], nullptr);
    } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else {
      n = static_cast<size_t>(std::strtod(argv[i], nullptr));
    }
  }
  if (logins < 1 || runs < 1 || n == 0 || failing < 0 || failing > 1) {
    std::fprintf(stderr, "usage: authwatch_state_snapshot [--logins K>=1] [--failing F in 0..1] [--runs R>=1] [ACCOUNTS]\n");
    return 2;
  }
  return authwatch::Run(n, logins, failing, runs);
}
