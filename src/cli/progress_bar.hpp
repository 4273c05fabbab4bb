#pragma once
// The progress bar of a long run on stderr (replay's steps), redrawn about 6 times a second.
#include <chrono>
#include <cstddef>
#include <string>

namespace adacomp::cli {

class ProgressBar {
 public:
  // `what` starts the line ("replay"); a disabled bar prints nothing.
  ProgressBar(std::string what, bool enabled);
  void update(std::size_t done, std::size_t total);

 private:
  std::string what_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_{};
};

}  // namespace adacomp::cli
