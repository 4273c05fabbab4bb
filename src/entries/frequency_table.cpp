#include "entries/frequency_table.hpp"

#include <algorithm>

#include "entries/rans.hpp"

namespace adacomp::entries {

std::vector<std::uint32_t> normalized_frequencies(std::span<const std::uint64_t> counts) {
  std::uint64_t total = 0;
  for (std::uint64_t c : counts) total += c;
  std::vector<std::uint32_t> frequencies(counts.size());
  std::uint64_t sum = 0;
  for (std::size_t s = 0; s < counts.size(); ++s) {
    if (counts[s] == 0) continue;
    // counts[s] <= 2^32 entries (the decoder's element limit) keeps the product in 64 bits
    frequencies[s] = static_cast<std::uint32_t>(std::max<std::uint64_t>(1, counts[s] * kProbabilityScale / total));
    sum += frequencies[s];
  }
  // Too many rare symbols raised to 1: the largest frequency gives one back, lowest symbol first.
  while (sum > kProbabilityScale) {
    const auto largest = std::max_element(frequencies.begin(), frequencies.end());
    --*largest;
    --sum;
  }
  if (sum < kProbabilityScale) {
    const auto most = std::max_element(counts.begin(), counts.end()) - counts.begin();
    frequencies[static_cast<std::size_t>(most)] += static_cast<std::uint32_t>(kProbabilityScale - sum);
  }
  return frequencies;
}

std::uint32_t flag_frequency(std::uint64_t zeros, std::uint64_t total) noexcept {
  if (total == 0) return kProbabilityScale / 2;
  const std::uint64_t rounded = (zeros * kProbabilityScale + total / 2) / total;
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(rounded, 1, kProbabilityScale - 1));
}

}  // namespace adacomp::entries
