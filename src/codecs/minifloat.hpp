#pragma once
// Narrow binary floating-point formats without infinities in use (codecs-internal): FP8 E5M2 and
// E4M3 (OCP 8-bit floating point, 2023) as the fp8 codec sends them. Encoding rounds to nearest,
// ties to even, and saturates to the largest finite value: the codec scales its tensor so that
// nothing overflows, and saturation keeps a rounding up at the top finite.
#include <cstdint>

namespace adacomp::codecs::detail {

struct Minifloat {
  unsigned exponent_bits, mantissa_bits;
  int bias;
  std::uint8_t max_finite_code;  // the code of the largest finite magnitude (sign bit clear)
  double max_finite;
};

inline constexpr Minifloat kE5M2{5, 2, 15, 0x7b, 57344.0};  // exponent 31 is Inf and NaN
inline constexpr Minifloat kE4M3{4, 3, 7, 0x7e, 448.0};     // S.1111.111 is NaN, no Inf

std::uint8_t minifloat_code(float value, const Minifloat& format);  // value finite
// The value of a code; false for the codes no encoder writes (NaN, Inf).
bool minifloat_value(std::uint8_t code, const Minifloat& format, float& value);

}  // namespace adacomp::codecs::detail
