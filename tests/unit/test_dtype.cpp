#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include <doctest/doctest.h>

#include "adacomp/dtype.hpp"

using namespace adacomp;

TEST_CASE("every float16 widens and narrows back to itself") {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const float wide = f16_to_f32(static_cast<std::uint16_t>(bits));
    if (std::isnan(wide)) {
      CHECK(std::isnan(f16_to_f32(f32_to_f16(wide))));
      continue;
    }
    REQUIRE(f32_to_f16(wide) == bits);
  }
}

#if defined(__FLT16_MAX__)
TEST_CASE("float32 to float16 rounds like the compiler's _Float16 (round to nearest even)") {
  std::mt19937 rng(1);
  std::uniform_int_distribution<std::uint32_t> any;
  for (int i = 0; i < 2'000'000; ++i) {
    std::uint32_t bits = any(rng);
    if (i % 2) bits = (bits & 0x8fffffffu) | 0x30000000u;  // bias towards the float16 range
    const float value = std::bit_cast<float>(bits);
    if (std::isnan(value)) continue;
    const _Float16 expected = static_cast<_Float16>(value);
    REQUIRE(f32_to_f16(value) == std::bit_cast<std::uint16_t>(expected));
  }
  // halfway cases at the subnormal and overflow edges
  CHECK(f32_to_f16(65520.0f) == 0x7c00);
  CHECK(f32_to_f16(65519.99f) == 0x7bff);
  CHECK(f32_to_f16(0x1p-25f) == 0x0000);  // exactly half the smallest subnormal: to even (0)
  CHECK(f32_to_f16(0x1.8p-25f) == 0x0001);
  CHECK(f32_to_f16(-std::numeric_limits<float>::infinity()) == 0xfc00);
}
#endif

TEST_CASE("bfloat16 rounds to nearest even and keeps NaN") {
  CHECK(f32_to_bf16(1.0f) == 0x3f80);
  CHECK(f32_to_bf16(std::bit_cast<float>(0x3f808000u)) == 0x3f80);  // tie, even stays
  CHECK(f32_to_bf16(std::bit_cast<float>(0x3f818000u)) == 0x3f82);  // tie, odd rounds up
  CHECK(f32_to_bf16(std::bit_cast<float>(0x3f808001u)) == 0x3f81);
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(f32_to_bf16(std::bit_cast<float>(0x7f7fffffu)) == 0x7f80);  // FLT_MAX rounds to infinity
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const float wide = bf16_to_f32(static_cast<std::uint16_t>(bits));
    if (!std::isnan(wide)) REQUIRE(f32_to_bf16(wide) == bits);
  }
}
