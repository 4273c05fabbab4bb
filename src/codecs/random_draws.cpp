#include "codecs/random_draws.hpp"

#include <algorithm>
#include <unordered_set>

namespace adacomp::codecs::detail {

namespace {

__extension__ using Wide = unsigned __int128;  // GCC and Clang: the 64 x 64 -> 128-bit product

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::mt19937_64 generator_for(std::uint64_t seed, std::uint64_t step, std::uint64_t tensor) {
  return std::mt19937_64(splitmix64(splitmix64(splitmix64(seed) ^ step) ^ tensor));
}

std::mt19937_64 learner_generator(std::uint64_t seed, std::uint64_t step, std::uint64_t tensor, std::uint64_t learner) {
  return std::mt19937_64(splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ step) ^ tensor) ^ (learner + 1)));
}

bool bernoulli(std::mt19937_64& generator, double probability) {
  return static_cast<double>(generator() >> 11) * 0x1p-53 < probability;
}

std::uint64_t uniform_below(std::mt19937_64& generator, std::uint64_t bound) {
  Wide product = static_cast<Wide>(generator()) * bound;
  auto low = static_cast<std::uint64_t>(product);
  if (low < bound) {
    const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    while (low < threshold) {
      product = static_cast<Wide>(generator()) * bound;
      low = static_cast<std::uint64_t>(product);
    }
  }
  return static_cast<std::uint64_t>(product >> 64);
}

std::vector<std::uint32_t> sample_without_replacement(std::mt19937_64& generator, std::size_t n, std::size_t k) {
  std::unordered_set<std::uint32_t> chosen;
  chosen.reserve(2 * k);
  std::vector<std::uint32_t> out;
  out.reserve(k);
  for (std::size_t j = n - k; j < n; ++j) {
    const auto t = static_cast<std::uint32_t>(uniform_below(generator, j + 1));
    const auto pick = chosen.insert(t).second ? t : static_cast<std::uint32_t>(j);
    if (pick != t) chosen.insert(pick);
    out.push_back(pick);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace adacomp::codecs::detail
