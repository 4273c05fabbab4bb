#include "adacomp/dtype.hpp"

#include <bit>
#include <cstring>

namespace adacomp {

static_assert(std::endian::native == std::endian::little, "adacomp assumes a little-endian host");

std::size_t dtype_size(DType dtype) noexcept { return dtype == DType::f32 ? 4 : 2; }

std::string_view dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::f32:
      return "f32";
    case DType::f16:
      return "f16";
    case DType::bf16:
      return "bf16";
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name) noexcept {
  if (name == "f32" || name == "float32") return DType::f32;
  if (name == "f16" || name == "float16") return DType::f16;
  if (name == "bf16" || name == "bfloat16") return DType::bf16;
  return std::nullopt;
}

std::optional<DType> dtype_from_code(std::uint8_t code) noexcept {
  if (code <= 2) return static_cast<DType>(code);
  return std::nullopt;
}

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
  }
  return value;
}

void decode_elements(const std::byte* src, std::size_t count, DType dtype, float* dst) noexcept {
  if (dtype == DType::f32) {
    if (count) std::memcpy(dst, src, count * 4);
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
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint16_t bits = dtype == DType::f16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
    std::memcpy(dst + 2 * i, &bits, 2);
  }
}

}  // namespace adacomp
