#include "adacomp/dtype.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace adacomp {

static_assert(std::endian::native == std::endian::little, "adacomp assumes a little-endian host");

std::size_t dtype_size(DType dtype) noexcept {
  if (dtype == DType::f32) return 4;
  return is_fp8(dtype) ? 1 : 2;
}

bool is_fp8(DType dtype) noexcept {
  return dtype == DType::f8e5m2 || dtype == DType::f8e4m3 || dtype == DType::f8e4m3b11;
}

std::string_view dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::f32:
      return "f32";
    case DType::f16:
      return "f16";
    case DType::bf16:
      return "bf16";
    case DType::f8e5m2:
      return "f8e5m2";
    case DType::f8e4m3:
      return "f8e4m3";
    case DType::f8e4m3b11:
      return "f8e4m3b11";
  }
  return "?";
}

std::string_view dtype_names() noexcept { return "f32, f16, bf16, f8e5m2, f8e4m3, f8e4m3b11"; }

std::optional<DType> dtype_from_name(std::string_view name) noexcept {
  if (name == "f32" || name == "float32") return DType::f32;
  if (name == "f16" || name == "float16") return DType::f16;
  if (name == "bf16" || name == "bfloat16") return DType::bf16;
  if (name == "f8e5m2" || name == "float8_e5m2") return DType::f8e5m2;
  if (name == "f8e4m3" || name == "float8_e4m3fn") return DType::f8e4m3;
  if (name == "f8e4m3b11" || name == "float8_e4m3b11fnuz") return DType::f8e4m3b11;
  return std::nullopt;
}

std::optional<DType> dtype_from_code(std::uint8_t code) noexcept {
  if (code <= 5) return static_cast<DType>(code);
  return std::nullopt;
}

namespace {

// An FP8 format: a sign bit, 7 - mantissa_bits exponent bits, and how it spends its top codes.
struct Fp8Format {
  unsigned mantissa_bits;
  int bias;
  std::uint8_t max_finite_code;  // of the largest finite magnitude, sign bit clear
  bool overflow_to_infinity;     // E5M2: IEEE-like; the others saturate
  std::uint8_t nan_code;         // sign bit clear
  bool signed_zero;
};

constexpr Fp8Format kE5M2{2, 15, 0x7b, true, 0x7e, true};
constexpr Fp8Format kE4M3{3, 7, 0x7e, false, 0x7f, true};
constexpr Fp8Format kE4M3B11{3, 11, 0x7f, false, 0x80, false};

const Fp8Format& fp8_format(DType dtype) noexcept {
  return dtype == DType::f8e5m2 ? kE5M2 : dtype == DType::f8e4m3 ? kE4M3 : kE4M3B11;
}

float decode_fp8(std::uint8_t code, const Fp8Format& f) noexcept {
  const bool negative = code & 0x80u;
  const unsigned magnitude = code & 0x7fu;
  if (!f.signed_zero && code == f.nan_code) return std::numeric_limits<float>::quiet_NaN();
  if (f.signed_zero && magnitude > f.max_finite_code) {
    if (f.overflow_to_infinity && magnitude == 0x7cu)
      return negative ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
    return std::numeric_limits<float>::quiet_NaN();
  }
  const int m = static_cast<int>(f.mantissa_bits);
  const unsigned exponent = magnitude >> m, mantissa = magnitude & ((1u << m) - 1);
  const float value =
      exponent == 0 ? std::ldexp(static_cast<float>(mantissa), 1 - f.bias - m)
                    : std::ldexp(static_cast<float>((1u << m) | mantissa), static_cast<int>(exponent) - f.bias - m);
  return negative ? -value : value;
}

using Fp8Table = std::array<float, 256>;

Fp8Table make_fp8_table(const Fp8Format& f) noexcept {
  Fp8Table table{};
  for (unsigned code = 0; code < 256; ++code) table[code] = decode_fp8(static_cast<std::uint8_t>(code), f);
  return table;
}

const Fp8Table& fp8_table(DType dtype) noexcept {
  static const Fp8Table e5m2 = make_fp8_table(kE5M2), e4m3 = make_fp8_table(kE4M3), e4m3b11 = make_fp8_table(kE4M3B11);
  return dtype == DType::f8e5m2 ? e5m2 : dtype == DType::f8e4m3 ? e4m3 : e4m3b11;
}

// Normal results round the float32 bits directly (the carry of a rounding up runs into the
// exponent, as it should); results below the smallest normal round the scaled value with the
// current (nearest-even) rounding mode, which is exact because the scaling is by a power of two.
std::uint8_t encode_fp8(float value, const Fp8Format& f) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint8_t sign = (bits >> 24) & 0x80u;
  const std::uint32_t a = bits & 0x7fffffffu;
  if (a > 0x7f800000u) return f.signed_zero ? static_cast<std::uint8_t>(sign | f.nan_code) : f.nan_code;
  const int m = static_cast<int>(f.mantissa_bits);
  const int min_normal_exponent = 1 - f.bias;
  std::uint32_t magnitude;
  if (a == 0x7f800000u) {
    magnitude = 0xffu;  // beyond every finite code: the overflow rule below decides
  } else if (static_cast<int>(a >> 23) - 127 >= min_normal_exponent) {
    const unsigned shift = 23u - static_cast<unsigned>(m);
    const std::uint32_t rounded = (a + ((1u << (shift - 1)) - 1u) + ((a >> shift) & 1u)) >> shift;
    magnitude = rounded - (static_cast<std::uint32_t>(127 - f.bias) << m);
  } else {
    magnitude = static_cast<std::uint32_t>(std::nearbyint(std::ldexp(std::fabs(value), m - min_normal_exponent)));
  }
  if (magnitude > f.max_finite_code) magnitude = f.overflow_to_infinity ? 0x7cu : f.max_finite_code;
  if (magnitude == 0 && !f.signed_zero) return 0;
  return static_cast<std::uint8_t>(sign | magnitude);
}

}  // namespace

std::uint8_t f32_to_fp8(float value, DType dtype) noexcept { return encode_fp8(value, fp8_format(dtype)); }

double dtype_largest(DType dtype) noexcept {
  switch (dtype) {
    case DType::f32:
      return std::numeric_limits<float>::max();
    case DType::f16:
      return f16_to_f32(0x7bff);
    case DType::bf16:
      return bf16_to_f32(0x7f7f);
    case DType::f8e5m2:
    case DType::f8e4m3:
    case DType::f8e4m3b11:
      return fp8_to_f32(fp8_format(dtype).max_finite_code, dtype);
  }
  return 0.0;
}

float fp8_to_f32(std::uint8_t code, DType dtype) noexcept { return fp8_table(dtype)[code]; }

// Branch structure after F. Giesen's float_to_half_fast3_rtne (public domain): the subnormal
// range uses a float addition to round to nearest even, the normal range integer rounding.
std::uint16_t f32_to_f16(float value) noexcept {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = bits & 0x80000000u;
  bits ^= sign;
  std::uint16_t out;
  if (bits >= (127u + 16u) << 23) {  // >= 65536, Inf or NaN
    out = bits > 0x7f800000u ? 0x7e00 : 0x7c00;
  } else if (bits < (113u << 23)) {                        // result subnormal or zero
    const float magic = std::bit_cast<float>(126u << 23);  // 0.5
    const float shifted = std::bit_cast<float>(bits) + magic;
    out = static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(shifted) - (126u << 23));
  } else {
    const std::uint32_t mantissa_odd = (bits >> 13) & 1u;
    bits += ((15u - 127u) << 23) + 0xfffu;
    bits += mantissa_odd;
    out = static_cast<std::uint16_t>(bits >> 13);
  }
  return static_cast<std::uint16_t>(out | (sign >> 16));
}

float f16_to_f32(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  const std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;  // exact
    return std::bit_cast<float>(sign | std::bit_cast<std::uint32_t>(magnitude));
  }
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

std::uint16_t f32_to_bf16(float value) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

float bf16_to_f32(std::uint16_t bits) noexcept { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

float round_to_dtype(float value, DType dtype) noexcept {
  switch (dtype) {
    case DType::f32:
      return value;
    case DType::f16:
      return f16_to_f32(f32_to_f16(value));
    case DType::bf16:
      return bf16_to_f32(f32_to_bf16(value));
    case DType::f8e5m2:
    case DType::f8e4m3:
    case DType::f8e4m3b11:
      return fp8_to_f32(f32_to_fp8(value, dtype), dtype);
  }
  return value;
}

void decode_elements(const std::byte* src, std::size_t count, DType dtype, float* dst) noexcept {
  if (dtype == DType::f32) {
    if (count) std::memcpy(dst, src, count * 4);
    return;
  }
  if (is_fp8(dtype)) {
    const Fp8Table& table = fp8_table(dtype);
    for (std::size_t i = 0; i < count; ++i) dst[i] = table[std::to_integer<std::uint8_t>(src[i])];
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    std::uint16_t bits;
    std::memcpy(&bits, src + 2 * i, 2);
    dst[i] = dtype == DType::f16 ? f16_to_f32(bits) : bf16_to_f32(bits);
  }
}

void encode_elements(const float* src, std::size_t count, DType dtype, std::byte* dst) noexcept {
  if (dtype == DType::f32) {
    if (count) std::memcpy(dst, src, count * 4);
    return;
  }
  if (is_fp8(dtype)) {
    const Fp8Format& format = fp8_format(dtype);
    for (std::size_t i = 0; i < count; ++i) dst[i] = std::byte{encode_fp8(src[i], format)};
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint16_t bits = dtype == DType::f16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
    std::memcpy(dst + 2 * i, &bits, 2);
  }
}

}  // namespace adacomp
