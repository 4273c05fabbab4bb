#pragma once
// Normalising symbol counts to the 12-bit tables of the coded entries (format_spec/wire_format.md,
// section 14.4). Normative: the encoder's bytes depend on it.
#include <cstdint>
#include <span>
#include <vector>

namespace adacomp::entries {

// Frequencies summing to 4096, >= 1 exactly where a count is > 0.
std::vector<std::uint32_t> normalized_frequencies(std::span<const std::uint64_t> counts);

// The frequency of flag 0 (sign as the previous entry's) in a context: 1..4095, 2048 when empty.
std::uint32_t flag_frequency(std::uint64_t zeros, std::uint64_t total) noexcept;

}  // namespace adacomp::entries
