#include "app/progress_bar.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace authwatch {

void ProgressBar::Update(uint64_t bytes, uint64_t total_bytes, uint64_t records) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drawn_ = true;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(records) / secs : 0;
  if (total_bytes > 0) {
    const double frac = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_bytes));
    const int width = 30;
    const int filled = static_cast<int>(frac * width);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(width - filled), '.');
    std::fprintf(stderr, "\r[%s] %5.1f%%  %llu events  %.0f events/s ", bar.c_str(), frac * 100,
                 static_cast<unsigned long long>(records), rate);
  } else {
    std::fprintf(stderr, "\r%llu events  %.0f events/s ", static_cast<unsigned long long>(records), rate);
  }
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (enabled_ && drawn_) std::fputs("\r\033[K", stderr);
}

}  // namespace authwatch
