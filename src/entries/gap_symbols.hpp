#pragma once
// Gap classes of the coded entries (format_spec/wire_format.md, section 14.2): gaps 1 to 15 are
// symbols of their own; a larger gap is its exponent and the bit below its leading bit, with the
// remaining low bits sent raw.
#include <array>
#include <bit>
#include <cstdint>

namespace adacomp::entries {

inline constexpr unsigned kLiteralGaps = 15;
inline constexpr unsigned kGapAlphabet = kLiteralGaps + 2 * (63 - 4) + 2;  // 135

struct GapSymbol {
  std::uint8_t symbol;
  std::uint8_t extra_bits;
  std::uint64_t extra;
};

inline GapSymbol gap_symbol(std::uint64_t gap) noexcept {
  if (gap <= kLiteralGaps) return {static_cast<std::uint8_t>(gap - 1), 0, 0};
  const unsigned exponent = 63 - static_cast<unsigned>(std::countl_zero(gap));
  const unsigned mantissa = static_cast<unsigned>(gap >> (exponent - 1)) & 1u;
  return {static_cast<std::uint8_t>(kLiteralGaps + 2 * (exponent - 4) + mantissa),
          static_cast<std::uint8_t>(exponent - 1), gap & ((std::uint64_t{1} << (exponent - 1)) - 1)};
}

inline unsigned extra_bits_of(unsigned symbol) noexcept {
  return symbol < kLiteralGaps ? 0 : 4 + (symbol - kLiteralGaps) / 2 - 1;
}

inline std::uint64_t gap_from_symbol(unsigned symbol, std::uint64_t extra) noexcept {
  if (symbol < kLiteralGaps) return symbol + 1;
  const unsigned exponent = 4 + (symbol - kLiteralGaps) / 2;
  const std::uint64_t mantissa = (symbol - kLiteralGaps) % 2;
  return (std::uint64_t{1} << exponent) | (mantissa << (exponent - 1)) | extra;
}

// Per symbol: the smallest gap it stands for and its extra bits, so that the decoder forms a gap
// as base + extra with no branch on the symbol's class.
struct GapClass {
  std::uint64_t base;
  unsigned extra_bits;
};
inline const std::array<GapClass, kGapAlphabet>& gap_classes() noexcept {
  static const auto table = [] {
    std::array<GapClass, kGapAlphabet> classes{};
    for (unsigned s = 0; s < kGapAlphabet; ++s) {
      classes[s] = {gap_from_symbol(s, 0), extra_bits_of(s)};
    }
    return classes;
  }();
  return table;
}

}  // namespace adacomp::entries
