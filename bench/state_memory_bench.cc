// authwatch_state_memory: memory per tracked account, at 10^5, 10^6 and 10^7 accounts.
//
// What and why: a shard keeps one AccountProfile per account that ever logged in successfully
// (within the 90-day horizon), so the profile store, not the windows, sets the memory of a large
// provider; the target is <= 160 bytes per tracked account. This feeds K successful logins per
// account (default 2: an imap login from home, then one of imap/web/smtp from the same home)
// through a DetectionEngine with the shipped rules and reports, per account:
//   engine_B   AccountProfiles::MemoryBytes() + RuleWindows::MemoryBytes() (the engine's own
//              accounting, exported as authwatch_state_memory_bytes), over N;
//   rss_B      the growth of the process's resident set (/proc/self/statm) over the feed, over N:
//              what the machine pays, including allocator overhead;
//   peak_B     the growth of the peak resident set (VmHWM), over N: hash-map growth keeps the old
//              and the new table at once, so this is what must fit;
// and the feed rate (ns per event, an untuned upper bound: it includes making each event).
// Each size runs in a fresh child process, so one size's freed memory does not hide in the next.
// Events are made in place in one reused EnrichedEvent (no event pool: at 10^7 accounts a pool
// would dwarf the state being measured). Event time: the K passes span K days.
//
// Google Benchmark is not used: an RSS delta is only meaningful once per fresh process, not
// across its repetitions.
//
//   build-bench/bin/authwatch_state_memory [--logins K] [N ...]      (default N: 1e5 1e6 1e7)
//
// Last recorded 2026-11-27: AMD EPYC (2 vCPU VM shared with other builds), Release, GCC 12.2;
// K = 2; bytes per tracked account (ns/event is noisy: the machine was loaded):
//   before d4b5634 (flat_hash_map<uint64_t, AccountProfile>, sizeof(AccountProfile) = 100, a map
//   slot 112 + 1 control byte):
//     accounts   engine_B   rss_B   peak_B   ns/event   wall
//     10^5         148.1    151.7    222.9      1627    0.3 s
//     10^6         237.0    237.3    355.4      1818    3.6 s
//     10^7         189.6    189.6    284.4      1626   32.5 s   (peak RSS 2.8 GB)
//   113 bytes / load, and the load swings between 7/16 and 7/8 with each doubling of the map:
//   the 160-byte target holds at 10^5 only.
//   d4b5634, the dense-vector profile store (index map<uint64_t, uint32_t> + vector<AccountProfile>,
//   sizeof(AccountProfile) = 96; measured on its working-tree form just before it was committed):
//     10^5         148.1    143.8    172.1      1414    0.3 s
//     10^6         136.3    167.6    167.5      1499    3.0 s
//     10^7         189.6    128.1    193.2      1845   36.9 s
//   engine_B counts the vector's capacity (untouched, so not resident); rss_B at 10^6 carries
//   ~36 B of freed pre-growth buffers that glibc keeps on its heap (dynamic mmap threshold):
//   with GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576 it is 132.1 (peak 141.8).
// Window state is 0 in both: no shipped rule keeps state for successes from a known network.
//   2026-11-27 evening: profiles remember two device families (sizeof(AccountProfile) = 100), the
//   rule smtp-new-account-volume keeps 1 h of state for new accounts' SMTP logins (the feed's
//   accounts are new after the warm-up: window_B), and the binary and this bench fix malloc's mmap
//   threshold (core/allocator.h), so freed pre-growth tables leave the resident set:
//     accounts   profile_B  window_B  engine_B   rss_B   peak_B
//     10^5         122.3       7.2     129.5    130.4    156.8
//     10^6         135.7       7.2     142.8    141.6    145.6
//     10^7         128.5       7.3     135.8    134.4    196.3   (peak: the index's last doubling)
//   Without the fixed threshold rss_B was 147.7 / 171.6 / 134.6 in the same session.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench_inputs.h"
#include "core/allocator.h"
#include "core/stable_hash.h"
#include "detect/detection_engine.h"
#include "detect/rule_loader.h"

namespace authwatch {
namespace {

size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t PeakResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

int Measure(size_t n, int logins) {
  const RuleLoadResult loaded = LoadRules({std::string(AUTHWATCH_SOURCE_DIR) + "/rules"});
  if (!loaded.rules) {
    std::fprintf(stderr, "rules/ did not compile (run authwatch check)\n");
    return 1;
  }
  bench::HomeLogins population(n);
  EnrichedEvent e;
  e.event.account.reserve(64);
  e.event.user_agent = "Thunderbird/128.3.1";
  e.event.result = AuthResult::kSuccess;

  const size_t rss_before = ResidentBytes();
  const size_t peak_before = PeakResidentBytes();
  auto engine = std::make_unique<DetectionEngine>(loaded.rules);
  std::vector<Signal> signals;
  EventContext ctx;
  uint64_t total_signals = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int pass = 0; pass < logins; ++pass) {
    for (size_t i = 0; i < n; ++i) {
      population.Fill(i, pass, &e);
      signals.clear();
      engine->Process(e, &ctx, &signals);
      total_signals += signals.size();
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const size_t rss_after = ResidentBytes();
  const size_t peak_after = PeakResidentBytes();
  const size_t profile_bytes = engine->profiles().MemoryBytes();
  const size_t window_bytes = engine->windows().MemoryBytes();
  size_t window_keys = 0;
  for (size_t k : engine->windows().KeysByKind()) window_keys += k;
  const double nd = static_cast<double>(n);
  std::printf("| %9zu | %8d | %9.1f | %9.1f | %9.1f | %9.1f | %9.1f | %8zu | %7.0f | %6.1f |\n",
              engine->profiles().size(), logins, static_cast<double>(profile_bytes) / nd,
              static_cast<double>(window_bytes) / nd,
              static_cast<double>(profile_bytes + window_bytes) / nd,
              static_cast<double>(rss_after - rss_before) / nd,
              static_cast<double>(peak_after > peak_before ? peak_after - peak_before : 0) / nd,
              window_keys, seconds * 1e9 / (nd * logins), seconds);
  std::fflush(stdout);
  if (total_signals > 0) std::fprintf(stderr, "note: %llu signals raised\n", static_cast<unsigned long long>(total_signals));
  return 0;
}

}  // namespace
}  // namespace authwatch

int main(int argc, char** argv) {
  using authwatch::AccountProfile;
  authwatch::UseFixedMmapThreshold();  // as the authwatch binary does (core/allocator.h)
  int logins = 2;
  std::vector<size_t> sizes;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--logins") == 0 && i + 1 < argc) {
      logins = std::atoi(argv[++i]);
    } else {
      sizes.push_back(static_cast<size_t>(std::strtod(argv[i], nullptr)));
    }
  }
  if (sizes.empty()) sizes = {100000, 1000000, 10000000};
  if (logins < 1 || std::find(sizes.begin(), sizes.end(), size_t{0}) != sizes.end()) {
    std::fprintf(stderr, "usage: authwatch_state_memory [--logins K>=1] [ACCOUNTS ...]\n");
    return 2;
  }
  std::printf("sizeof(AccountProfile) = %zu bytes\n", sizeof(AccountProfile));
  std::printf("engine_B = profiles_B + windows_B (engine's accounting); rss_B, peak_B = resident-set growth; per account\n\n");
  std::printf("| accounts  | logins/a | profile_B | window_B  | engine_B  |   rss_B   |  peak_B   | win_keys | ns/evt  | secs   |\n");
  std::printf("|-----------|----------|-----------|-----------|-----------|-----------|-----------|----------|---------|--------|\n");
  std::fflush(stdout);
  int status_all = 0;
  for (size_t n : sizes) {
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) _exit(authwatch::Measure(n, logins));
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::printf("| %9zu | failed (%s %d) — out of memory or killed?\n", n,
                  WIFSIGNALED(status) ? "signal" : "exit",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      status_all = 1;
    }
  }
  return status_all;
}
