#pragma once
// The clock of the replay's time split (read, encode, decode, average, update; replay-internal).
#include <chrono>

namespace adacomp::replay_detail {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace adacomp::replay_detail
