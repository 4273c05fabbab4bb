#include "progress_bar.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace adacomp::cli {

ProgressBar::ProgressBar(std::string what, bool enabled)
    : what_(std::move(what)), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(std::size_t done, std::size_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done != total && now - last_ < std::chrono::milliseconds(160)) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int width = 30;
  const int filled = static_cast<int>(width * done / std::max<std::size_t>(1, total));
  std::fprintf(stderr, "\r%s [%.*s%*s] step %zu/%zu  %.1f steps/s", what_.c_str(), filled,
               "==============================", width - filled, "", done, total, elapsed > 0 ? done / elapsed : 0.0);
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

}  // namespace adacomp::cli
