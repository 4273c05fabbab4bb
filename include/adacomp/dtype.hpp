#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace adacomp {

// Source element types. The numeric values are the wire-format dtype codes
// (format_spec/wire_format.md, "Dtype codes"): never renumber. The FP8 formats are OCP's E5M2
// and E4M3 (E4M3FN: no infinities) and the hybrid-FP8 forward format E4M3 with bias 11
// (ml_dtypes' float8_e4m3b11fnuz: no infinities, no negative zero, NaN only 0x80).
enum class DType : std::uint8_t { f32 = 0, f16 = 1, bf16 = 2, f8e5m2 = 3, f8e4m3 = 4, f8e4m3b11 = 5 };

std::size_t dtype_size(DType dtype) noexcept;
std::string_view dtype_name(DType dtype) noexcept;  // "f32", "f16", "bf16", "f8e5m2", "f8e4m3", "f8e4m3b11"
// The names above, and NumPy / ml_dtypes spellings ("float32", "bfloat16", "float8_e4m3fn", ...).
std::optional<DType> dtype_from_name(std::string_view name) noexcept;
std::optional<DType> dtype_from_code(std::uint8_t code) noexcept;
bool is_fp8(DType dtype) noexcept;
// The largest finite value of `dtype` (65504 for f16, 448 for f8e4m3, ...).
double dtype_largest(DType dtype) noexcept;
// "f32, f16, bf16, f8e5m2, f8e4m3, f8e4m3b11": for messages that list what is accepted.
std::string_view dtype_names() noexcept;

// IEEE binary16 and bfloat16 conversions. Narrowing rounds to nearest, ties to even;
// NaN stays NaN (quiet), infinities stay infinities. Widening is exact.
std::uint16_t f32_to_f16(float value) noexcept;
float f16_to_f32(std::uint16_t bits) noexcept;
std::uint16_t f32_to_bf16(float value) noexcept;
float bf16_to_f32(std::uint16_t bits) noexcept;

// FP8 conversions (dtype one of the f8 types). Narrowing rounds to nearest, ties to even; NaN
// becomes the format's NaN (sign kept where the format has one); a magnitude that rounds above the
// largest finite value becomes Inf in E5M2 and saturates to the largest finite value in the two
// finite-only formats (as do infinities there, CUDA's "satfinite" convention); f8e4m3b11 has no
// negative zero, so results that round to zero are +0. Widening is exact.
std::uint8_t f32_to_fp8(float value, DType dtype) noexcept;
float fp8_to_f32(std::uint8_t code, DType dtype) noexcept;

// Round a float32 to the nearest value representable in `dtype` (identity for f32).
float round_to_dtype(float value, DType dtype) noexcept;

// Little-endian element bytes <-> float32, for whole arrays.
void decode_elements(const std::byte* src, std::size_t count, DType dtype, float* dst) noexcept;
void encode_elements(const float* src, std::size_t count, DType dtype, std::byte* dst) noexcept;

}  // namespace adacomp
