// ProgressBar: a one-line progress display on stderr for replay, drawn only on a terminal.
#pragma once

#include <chrono>
#include <cstdint>

namespace authwatch {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled), start_(std::chrono::steady_clock::now()) {}
  // total_bytes 0: size unknown (a pipe); shows counts only. Redraws at most 10 times a second.
  void Update(uint64_t bytes, uint64_t total_bytes, uint64_t records);
  void Finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace authwatch
