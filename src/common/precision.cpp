#include "adacomp/precision.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "adacomp/dtype.hpp"
#include "adacomp/error.hpp"

namespace adacomp {

namespace {

bool listed(std::string_view allowed, std::string_view name) {
  while (!allowed.empty()) {
    const std::size_t comma = allowed.find(',');
    if (allowed.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    allowed.remove_prefix(comma + 1);
  }
  return false;
}

std::string listing(std::string_view allowed) {
  std::string out(allowed);
  std::replace(out.begin(), out.end(), ',', '|');
  const std::size_t fixed = out.find("fixed");
  if (fixed != std::string::npos) out.replace(fixed, 5, "fixed:IL.FL");
  return out;
}

std::uint64_t mix(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The exponent k of the format's quantum 2^k at magnitude a (a finite float32 >= 0).
int quantum_exponent(float a, const NumberFormat& f) noexcept {
  if (f.kind == NumberKind::fixed) return -f.fraction_bits;
  int mantissa_bits = 23, min_normal = -126;
  switch (f.kind) {
    case NumberKind::f16:
      mantissa_bits = 10, min_normal = -14;
      break;
    case NumberKind::bf16:
      mantissa_bits = 7;
      break;
    case NumberKind::f8e5m2:
      mantissa_bits = 2, min_normal = -14;
      break;
    default:
      break;
  }
  const int e = a > 0.0f ? std::ilogb(a) : min_normal;
  return std::max(e, min_normal) - mantissa_bits;
}

// |x| = lo + m * 2^(k - d) with lo a multiple of 2^k and 0 <= m < 2^d: the float32 significand
// of x split at the format's quantum, in integers (exact).
struct GridSplit {
  double lo = 0;
  std::uint32_t m = 0;
  int d = 0, k = 0;
};

GridSplit split(float a, const NumberFormat& f) noexcept {
  GridSplit s;
  s.k = quantum_exponent(a, f);
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(a);
  const std::uint32_t biased = bits >> 23;
  const std::uint32_t significand = biased ? (bits & 0x7fffffu) | 0x800000u : bits & 0x7fffffu;
  const int q = biased ? static_cast<int>(biased) - 150 : -149;  // exponent of the significand's last bit
  if (s.k <= q) {
    s.lo = a;
    return s;
  }
  s.d = s.k - q;
  if (s.d >= 32) {
    s.m = significand;  // below one quantum: lo = 0
    return s;
  }
  s.m = significand & ((1u << s.d) - 1u);
  s.lo = std::ldexp(static_cast<double>(significand >> s.d), s.k);
  return s;
}

// True with probability m / 2^d: the top d bits of high:low, as an integer, are below m.
bool draw_below(std::uint32_t m, int d, std::uint64_t high, std::uint64_t low) noexcept {
  if (m == 0) return false;
  if (d <= 64) return (d == 64 ? high : high >> (64 - d)) < m;
  // Probabilities below 2^-104 only: truncated to a multiple of 2^-128.
  if (d > 128) return d - 128 < 32 && high == 0 && low < (m >> (d - 128));
  const int extra = d - 64;  // the top d bits are high's 64 and the top `extra` of low
  if (extra == 64 ? high != 0 : (high >> (64 - extra)) != 0) return false;  // at least 2^64 > m
  const std::uint64_t top = (extra == 64 ? 0 : high << extra) | (d == 128 ? low : low >> (128 - d));
  return top < m;
}

float saturate(double magnitude, bool negative, const NumberFormat& f) noexcept {
  const double v = std::min(magnitude, f.largest());
  return static_cast<float>(negative ? -v : v);
}

float round_fixed(float x, const NumberFormat& f, Rounding rounding, std::uint64_t high, std::uint64_t low) noexcept {
  const double scaled = std::ldexp(static_cast<double>(x), f.fraction_bits);  // exact
  double units;
  if (rounding == Rounding::nearest) {
    units = std::nearbyint(scaled);
  } else if (rounding == Rounding::truncate) {
    units = std::trunc(scaled);
  } else {
    const GridSplit s = split(std::fabs(x), f);
    const double magnitude = s.lo + (draw_below(s.m, s.d, high, low) ? std::ldexp(1.0, s.k) : 0.0);
    units = std::ldexp(std::signbit(x) ? -magnitude : magnitude, f.fraction_bits);
  }
  const double top = std::ldexp(1.0, f.integer_bits - 1 + f.fraction_bits);
  units = std::clamp(units, -top, top - 1.0);
  return static_cast<float>(std::ldexp(units, -f.fraction_bits));
}

// The dtype of a float kind (not fixed).
DType dtype_of(NumberKind kind) noexcept {
  switch (kind) {
    case NumberKind::f16:
      return DType::f16;
    case NumberKind::bf16:
      return DType::bf16;
    case NumberKind::f8e5m2:
      return DType::f8e5m2;
    default:
      return DType::f32;
  }
}

}  // namespace

std::string NumberFormat::name() const {
  if (kind == NumberKind::fixed) return "fixed:" + std::to_string(integer_bits) + "." + std::to_string(fraction_bits);
  return std::string(dtype_name(dtype_of(kind)));
}

double NumberFormat::largest() const noexcept {
  if (kind == NumberKind::fixed) return std::ldexp(1.0, integer_bits - 1) - std::ldexp(1.0, -fraction_bits);
  return dtype_largest(dtype_of(kind));
}

NumberFormat parse_number_format(std::string_view text, std::string_view allowed, std::string_view option) {
  auto refuse = [&]() -> NumberFormat {
    fail_usage(std::string(option) + " '" + std::string(text) + "': expected " + listing(allowed));
  };
  NumberFormat format;
  if (text.starts_with("fixed:")) {
    if (!listed(allowed, "fixed")) refuse();
    const std::string spec(text.substr(6));
    const std::size_t dot = spec.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == spec.size() ||
        spec.find_first_not_of("0123456789.") != std::string::npos || spec.find('.', dot + 1) != std::string::npos ||
        dot > 3 || spec.size() - dot - 1 > 3)
      refuse();
    format.kind = NumberKind::fixed;
    format.integer_bits = std::stoi(spec.substr(0, dot));
    format.fraction_bits = std::stoi(spec.substr(dot + 1));
    if (format.integer_bits < 1 || format.integer_bits + format.fraction_bits > 32)
      fail_usage(std::string(option) + " '" + std::string(text) +
                 "': fixed point needs 1 <= IL and IL + FL <= 32 (IL counts the sign bit)");
    return format;
  }
  if (!listed(allowed, text)) refuse();
  for (NumberKind kind : {NumberKind::f32, NumberKind::f16, NumberKind::bf16, NumberKind::f8e5m2})
    if (dtype_name(dtype_of(kind)) == text) format.kind = kind;
  return format;
}

std::string_view rounding_name(Rounding rounding) noexcept {
  switch (rounding) {
    case Rounding::nearest:
      return "nearest";
    case Rounding::stochastic:
      return "stochastic";
    case Rounding::truncate:
      return "truncate";
  }
  return "?";
}

Rounding parse_rounding(std::string_view text, std::string_view allowed, std::string_view option) {
  if (listed(allowed, text)) {
    if (text == "nearest") return Rounding::nearest;
    if (text == "stochastic") return Rounding::stochastic;
    if (text == "truncate") return Rounding::truncate;
  }
  fail_usage(std::string(option) + " '" + std::string(text) + "': expected " + listing(allowed));
}

std::uint64_t random_bits(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) noexcept {
  return mix(mix(mix(seed) ^ stream) ^ index);
}

float round_to(float x, const NumberFormat& f, Rounding rounding, std::uint64_t draw_high,
               std::uint64_t draw_low) noexcept {
  if (f.kind == NumberKind::f32 || std::isnan(x)) return x;
  if (f.kind == NumberKind::fixed) return round_fixed(x, f, rounding, draw_high, draw_low);
  if (std::isinf(x)) return x;
  if (rounding == Rounding::nearest) return round_to_dtype(x, dtype_of(f.kind));
  const bool negative = std::signbit(x);
  if (rounding == Rounding::stochastic && f.kind == NumberKind::bf16) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    std::uint32_t magnitude = ((bits & 0x7fffffffu) + static_cast<std::uint32_t>(draw_high >> 48)) & 0xffff0000u;
    if (magnitude >= 0x7f800000u) magnitude = 0x7f7f0000u;  // the carry reached the exponent's top: saturate
    return std::bit_cast<float>(magnitude | (bits & 0x80000000u));
  }
  const GridSplit s = split(std::fabs(x), f);
  double magnitude = s.lo;
  if (rounding == Rounding::stochastic && draw_below(s.m, s.d, draw_high, draw_low)) magnitude += std::ldexp(1.0, s.k);
  return saturate(magnitude, negative, f);
}

double ulp_at(float x, const NumberFormat& f) noexcept {
  const float a = std::fabs(x);
  if (!std::isfinite(a)) return std::numeric_limits<double>::infinity();
  return std::ldexp(1.0, quantum_exponent(std::min(a, static_cast<float>(f.largest())), f));
}

}  // namespace adacomp
