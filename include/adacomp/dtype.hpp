#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace adacomp {

// Source element types. The numeric values are the wire-format dtype codes
// (format_spec/wire_format.md, "Dtype codes"): never renumber.
enum class DType : std::uint8_t { f32 = 0, f16 = 1, bf16 = 2 };

std::size_t dtype_size(DType dtype) noexcept;
std::string_view dtype_name(DType dtype) noexcept;  // "f32", "f16", "bf16"
std::optional<DType> dtype_from_name(std::string_view name) noexcept;
std::optional<DType> dtype_from_code(std::uint8_t code) noexcept;

// IEEE binary16 and bfloat16 conversions. Narrowing rounds to nearest, ties to even;
// NaN stays NaN (quiet), infinities stay infinities. Widening is exact.
std::uint16_t f32_to_f16(float value) noexcept;
float f16_to_f32(std::uint16_t bits) noexcept;
std::uint16_t f32_to_bf16(float value) noexcept;
float bf16_to_f32(std::uint16_t bits) noexcept;

// Round a float32 to the nearest value representable in `dtype` (identity for f32).
float round_to_dtype(float value, DType dtype) noexcept;

// Little-endian element bytes <-> float32, for whole arrays.
void decode_elements(const std::byte* src, std::size_t count, DType dtype, float* dst) noexcept;
void encode_elements(const float* src, std::size_t count, DType dtype, std::byte* dst) noexcept;

}  // namespace adacomp
