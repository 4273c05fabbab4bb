#pragma once
// Seeded draws of the stochastic comparison codecs (codecs-internal): the same numbers on every
// machine and standard library. std::mt19937_64's output is fixed by the C++ standard; the
// standard's distributions are not, so the bounded draw is written here (format_spec/codecs.md).
#include <cstdint>
#include <random>
#include <vector>

namespace adacomp::codecs::detail {

// The generator of one (seed, step, tensor): SplitMix64 of the three mixed into its seed.
std::mt19937_64 generator_for(std::uint64_t seed, std::uint64_t step, std::uint64_t tensor);

// The generator of one learner's own draws for (seed, step, tensor): a fourth SplitMix64 round
// mixes in learner + 1.
std::mt19937_64 learner_generator(std::uint64_t seed, std::uint64_t step, std::uint64_t tensor, std::uint64_t learner);

// Whether a draw u / 2^53 (u the top 53 bits of one output) falls below `probability`.
bool bernoulli(std::mt19937_64& generator, double probability);

// Uniform in [0, bound) for bound >= 1: Lemire's multiply-shift with rejection (exactly uniform).
std::uint64_t uniform_below(std::mt19937_64& generator, std::uint64_t bound);

// k distinct indices of [0, n), uniform over the k-subsets (Floyd's algorithm), in increasing order.
std::vector<std::uint32_t> sample_without_replacement(std::mt19937_64& generator, std::size_t n, std::size_t k);

}  // namespace adacomp::codecs::detail
