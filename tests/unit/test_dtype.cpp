#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "adacomp/dtype.hpp"
#include "test_support.hpp"

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

namespace {

// fp8-conversions.json: the Python reference's table (exhaustive nearest search, spec section 15).
nlohmann::json fp8_reference() {
  const auto bytes = test_support::read_file(std::string(ADACOMP_GOLDEN_DIR) + "/fp8-conversions.json");
  return nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                               reinterpret_cast<const char*>(bytes.data()) + bytes.size());
}

constexpr DType kFp8Types[] = {DType::f8e5m2, DType::f8e4m3, DType::f8e4m3b11};

}  // namespace

TEST_CASE("every FP8 code widens to the reference's value") {
  const auto table = fp8_reference();
  for (DType dtype : kFp8Types) {
    CAPTURE(dtype_name(dtype));
    const auto& values = table.at(std::string(dtype_name(dtype))).at("values");
    REQUIRE(values.size() == 256);
    std::size_t nans = 0;
    for (unsigned code = 0; code < 256; ++code) {
      CAPTURE(code);
      const float widened = fp8_to_f32(static_cast<std::uint8_t>(code), dtype);
      if (values[code].is_null()) {
        CHECK(std::isnan(widened));
        ++nans;
      } else {
        CHECK(std::bit_cast<std::uint32_t>(widened) == values[code].get<std::uint32_t>());
      }
    }
    CHECK(nans == (dtype == DType::f8e5m2 ? 6u : dtype == DType::f8e4m3 ? 2u : 1u));
  }
}

TEST_CASE("float32 narrows to the reference's FP8 code: ties, subnormals, overflow, specials") {
  const auto table = fp8_reference();
  for (DType dtype : kFp8Types) {
    CAPTURE(dtype_name(dtype));
    const auto& rounding = table.at(std::string(dtype_name(dtype))).at("rounding");
    REQUIRE(rounding.size() > 1000);
    for (const auto& pair : rounding) {
      const float input = std::bit_cast<float>(pair[0].get<std::uint32_t>());
      CAPTURE(input);
      CHECK(static_cast<unsigned>(f32_to_fp8(input, dtype)) == pair[1].get<unsigned>());
    }
  }
}

TEST_CASE("every finite FP8 code narrows back to itself, and whole arrays convert as single values") {
  for (DType dtype : kFp8Types) {
    CAPTURE(dtype_name(dtype));
    CHECK(dtype_size(dtype) == 1);
    std::vector<std::byte> codes(256), back(256);
    for (unsigned code = 0; code < 256; ++code) codes[code] = std::byte(code);
    std::vector<float> widened(256);
    decode_elements(codes.data(), 256, dtype, widened.data());
    encode_elements(widened.data(), 256, dtype, back.data());
    for (unsigned code = 0; code < 256; ++code) {
      CAPTURE(code);
      const float single = fp8_to_f32(static_cast<std::uint8_t>(code), dtype);
      if (std::isnan(single)) {
        CHECK(std::isnan(widened[code]));
        continue;
      }
      CHECK(widened[code] == single);
      CHECK(std::to_integer<unsigned>(back[code]) == code);
      CHECK(round_to_dtype(widened[code], dtype) == widened[code]);
    }
  }
  CHECK(dtype_from_name("float8_e4m3fn") == DType::f8e4m3);
  CHECK(dtype_from_name("float8_e4m3b11fnuz") == DType::f8e4m3b11);
  CHECK(dtype_from_code(5) == DType::f8e4m3b11);
  CHECK(!dtype_from_code(6));
}
