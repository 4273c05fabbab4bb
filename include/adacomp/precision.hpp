#pragma once
// Number formats and roundings of the precision what-if (format_spec/dump_layout.md, "Precision
// what-if"): where a learner's residue, the reduction of the learners' tensors and the weights
// could live on low-precision hardware, and how values are rounded into them.
#include <cstdint>
#include <string>
#include <string_view>

namespace adacomp {

enum class NumberKind : std::uint8_t { f32, f16, bf16, f8e5m2, fixed };

// A format values are stored in: an IEEE-like float, or Gupta et al.'s <IL, FL> fixed point (IL
// integer bits including the sign, FL fraction bits: step 2^-FL, range [-2^(IL-1), 2^(IL-1) - 2^-FL]).
struct NumberFormat {
  NumberKind kind = NumberKind::f32;
  int integer_bits = 0, fraction_bits = 0;  // fixed only
  std::string name() const;                 // "f32", "bf16", "fixed:4.12", ...
  bool is_f32() const noexcept { return kind == NumberKind::f32; }
  double largest() const noexcept;  // the largest finite value
};

// "f32", "f16", "bf16", "f8e5m2" or "fixed:IL.FL" (1 <= IL, 0 <= FL, IL + FL <= 32), where
// `allowed` (a comma-separated list of those names, "fixed" for any fixed point) lists it;
// Error(usage) naming `option` otherwise.
NumberFormat parse_number_format(std::string_view text, std::string_view allowed, std::string_view option);

enum class Rounding : std::uint8_t { nearest, stochastic, truncate };
std::string_view rounding_name(Rounding rounding) noexcept;
// One of the names in `allowed` ("nearest,stochastic"); Error(usage) naming `option` otherwise.
Rounding parse_rounding(std::string_view text, std::string_view allowed, std::string_view option);

// Counter-based random bits: the same (seed, stream, index) gives the same 64 bits on every
// machine and thread count (SplitMix64's finaliser over the three, chained).
std::uint64_t random_bits(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) noexcept;

// x rounded into `format`, returned as the float32 that holds the value exactly.
// nearest: ties to even; a float overflows to Inf as IEEE says, fixed point saturates.
// truncate: toward zero; beyond the largest finite value it saturates.
// stochastic: to one of the two neighbours lo <= x <= hi, hi with probability exactly
// (x - lo) / (hi - lo), decided by the 128 random bits draw_high:draw_low (bf16 uses the top 16
// bits of draw_high alone: they are added to the float32 bits, which are then truncated). The
// probability is exact whenever it needs at most 128 bits, which holds for f16, bf16 and fixed
// point with FL >= 21 at every x, and elsewhere for every probability above 2^-104. Beyond the
// largest finite value it saturates. NaN passes through every rounding, infinities through the
// float formats (fixed point saturates them).
float round_to(float x, const NumberFormat& format, Rounding rounding, std::uint64_t draw_high = 0,
               std::uint64_t draw_low = 0) noexcept;

// The spacing of `format` at |x|: the distance from |x| rounded toward zero to the next value.
double ulp_at(float x, const NumberFormat& format) noexcept;

}  // namespace adacomp
