#pragma once
// The thread split shared by compress and decompress (library-internal).
#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace adacomp::detail {

// Contiguous runs of bins per thread; a tensor is split only where each part gets at least
// 256 Ki elements: starting and joining a thread costs about 100 us on the CI VM, so a 256 Ki
// element tensor encoded 10-25% slower on two threads than on one, and 1 Mi elements 1.7-2x faster.
inline std::size_t thread_parts(std::size_t elements, unsigned threads) {
  constexpr std::size_t kMinElementsPerThread = std::size_t{1} << 18;
  return std::max<std::size_t>(1, std::min<std::size_t>(threads, elements / kMinElementsPerThread));
}

// work(p) for p in [0, parts): parts 1.. on their own threads, part 0 on the caller's.
template <typename Work>
void run_parts(std::size_t parts, Work&& work) {
  std::vector<std::thread> pool;
  for (std::size_t p = 1; p < parts; ++p) pool.emplace_back(work, p);
  work(0);
  for (auto& thread : pool) thread.join();
}

}  // namespace adacomp::detail
