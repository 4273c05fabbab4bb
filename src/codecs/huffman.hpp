#pragma once
// Canonical Huffman codes (codecs-internal) for the gennorm-huffman study: a code built from
// given frequencies (a model's or a histogram's), which no library in Debian exposes (zlib and
// zstd build theirs internally from their own statistics).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "codecs/bits.hpp"

namespace adacomp::codecs::detail {

inline constexpr unsigned kLongestCode = 24;

// Code lengths (0 for a symbol of frequency 0) of a Huffman code for `frequencies`, at most
// kLongestCode bits: while the longest is longer, the frequencies are halved (rounding up, so none
// becomes 0) and the code rebuilt. Among equal weights the tree merges the earlier-made node first,
// so the lengths depend on the frequencies alone. A single used symbol gets one bit.
std::vector<std::uint8_t> huffman_lengths(std::span<const std::uint64_t> frequencies);

// The canonical code of such lengths: codes ordered by (length, symbol).
class CanonicalCode {
 public:
  // Throws Error(invalid_input) with `what` in front unless the lengths are at most kLongestCode
  // and their Kraft sum is at most 1, with at least one code.
  CanonicalCode(std::span<const std::uint8_t> lengths, const std::string& what);
  std::uint32_t code(std::size_t symbol) const { return codes_[symbol]; }
  unsigned length(std::size_t symbol) const { return lengths_[symbol]; }
  // The next symbol from bit `at` of `stream` (moved past it); -1 for bits that are no code or run
  // past `available` bits.
  long decode(std::span<const std::byte> stream, std::size_t& at, std::size_t available) const;

 private:
  std::vector<std::uint8_t> lengths_;
  std::vector<std::uint32_t> codes_;
  std::vector<std::uint32_t> first_code_, count_, first_index_;  // per length
  std::vector<std::uint32_t> sorted_;                            // symbols by (length, symbol)
};

}  // namespace adacomp::codecs::detail
