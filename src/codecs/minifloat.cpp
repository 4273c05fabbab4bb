#include "codecs/minifloat.hpp"

#include <cmath>

namespace adacomp::codecs::detail {

std::uint8_t minifloat_code(float value, const Minifloat& f) {
  const std::uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  const double a = std::fabs(static_cast<double>(value));
  if (a == 0.0) return sign;
  const int min_exponent = 1 - f.bias;  // of the normal numbers
  int exponent = std::ilogb(a);
  if (exponent < min_exponent) exponent = min_exponent;  // subnormal: the quantum of the smallest normals
  const double quantum = std::ldexp(1.0, exponent - static_cast<int>(f.mantissa_bits));
  const double rounded = std::nearbyint(a / quantum) * quantum;  // exact scaling; the default mode is ties-to-even
  if (rounded > f.max_finite) return sign | f.max_finite_code;
  if (rounded < std::ldexp(1.0, min_exponent))
    return sign |
           static_cast<std::uint8_t>(rounded / std::ldexp(1.0, min_exponent - static_cast<int>(f.mantissa_bits)));
  const int e = std::ilogb(rounded);  // rounding may have carried into the next binade
  const auto mantissa =
      static_cast<unsigned>(std::ldexp(rounded, static_cast<int>(f.mantissa_bits) - e)) - (1u << f.mantissa_bits);
  return sign | static_cast<std::uint8_t>((static_cast<unsigned>(e + f.bias) << f.mantissa_bits) | mantissa);
}

bool minifloat_value(std::uint8_t code, const Minifloat& f, float& value) {
  const unsigned magnitude = code & 0x7fu;
  if (magnitude > f.max_finite_code) return false;
  const unsigned exponent = magnitude >> f.mantissa_bits, mantissa = magnitude & ((1u << f.mantissa_bits) - 1);
  const int m = static_cast<int>(f.mantissa_bits);
  const double a = exponent == 0 ? std::ldexp(static_cast<double>(mantissa), 1 - f.bias - m)
                                 : std::ldexp(static_cast<double>((1u << f.mantissa_bits) | mantissa),
                                              static_cast<int>(exponent) - f.bias - m);
  value = static_cast<float>((code & 0x80u) ? -a : a);
  return true;
}

}  // namespace adacomp::codecs::detail
