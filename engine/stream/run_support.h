// Small helpers shared by `authwatch run`'s service files: clocks, the log line format, and the
// test hook that crashes the process at chosen points (tests/faults).
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/event_time.h"

namespace authwatch::run {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline void Log(const std::string& line) {
  std::fprintf(stderr, "%s authwatch run: %s\n", FormatRfc3339(WallMs()).c_str(), line.c_str());
}

// Fault injection for tests/faults: AUTHWATCH_TEST_CRASH_AT=<point> kills the process with
// SIGKILL, as `kill -9` would, at a chosen point: mid-checkpoint (chunks written, manifest not),
// mid-restore (snapshot loaded, re-reading the events after it), or between producing a
// decision and storing its offset. Unset in production; read once.
inline bool CrashArmed(std::string_view point) {
  static const std::string at = [] {
    const char* v = std::getenv("AUTHWATCH_TEST_CRASH_AT");
    return std::string(v ? v : "");
  }();
  return !at.empty() && at == point;
}

inline void Crash(std::string_view point) {
  std::fprintf(stderr, "AUTHWATCH_TEST_CRASH_AT=%.*s: killing this process\n", static_cast<int>(point.size()),
               point.data());
  std::raise(SIGKILL);
}

}  // namespace authwatch::run
