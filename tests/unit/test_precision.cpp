// The precision what-if's formats and roundings (include/adacomp/precision.hpp).
#include <bit>
#include <cmath>
#include <limits>

#include <doctest/doctest.h>

#include "adacomp/dtype.hpp"
#include "adacomp/error.hpp"
#include "adacomp/precision.hpp"

using namespace adacomp;

namespace {

const NumberFormat kF16 = parse_number_format("f16", "f16", "test");
const NumberFormat kBf16 = parse_number_format("bf16", "bf16", "test");
const NumberFormat kFixed = parse_number_format("fixed:4.12", "fixed", "test");

// Mean of `draws` stochastic roundings of x over as many seeds, and the share that went up (away from zero).
struct Draws {
  double mean = 0, up = 0;
};

Draws stochastic(float x, const NumberFormat& f, int draws, std::uint64_t seed = 1) {
  Draws d;
  const float lo = round_to(x, f, Rounding::truncate);
  for (int i = 0; i < draws; ++i) {
    // one draw per seed, as a replay's element under --seed 0, 1, 2, ...
    const auto run = seed + static_cast<std::uint64_t>(i);
    const float r = round_to(x, f, Rounding::stochastic, random_bits(run, 7, 0), random_bits(run, 7, 1));
    d.mean += r;
    if (r != lo) d.up += 1;
  }
  d.mean /= draws;
  d.up /= draws;
  return d;
}

float f32(std::uint32_t bits) { return std::bit_cast<float>(bits); }
std::uint32_t bits(float x) { return std::bit_cast<std::uint32_t>(x); }

}  // namespace

TEST_CASE("nearest rounding is the dtype's, fixed point rounds ties to even and saturates") {
  for (float x : {1.0f + 0x1p-11f, 3.14159f, -65519.0f, 1e-7f, 0x1p-25f}) {
    CHECK(bits(round_to(x, kF16, Rounding::nearest)) == bits(round_to_dtype(x, DType::f16)));
    CHECK(bits(round_to(x, kBf16, Rounding::nearest)) == bits(round_to_dtype(x, DType::bf16)));
  }
  CHECK(round_to(0x1p-13f, kFixed, Rounding::nearest) == 0.0f);          // half a step: to even (0)
  CHECK(round_to(3 * 0x1p-13f, kFixed, Rounding::nearest) == 0x1p-11f);  // 1.5 steps: to 2 steps
  CHECK(round_to(100.0f, kFixed, Rounding::nearest) == 8.0f - 0x1p-12f);
  CHECK(round_to(-100.0f, kFixed, Rounding::nearest) == -8.0f);
  CHECK(round_to(std::numeric_limits<float>::infinity(), kFixed, Rounding::stochastic) == 8.0f - 0x1p-12f);
  CHECK(kFixed.largest() == 8.0 - 0x1p-12);
  CHECK(round_to(-1.99999f, kF16, Rounding::truncate) == -1.9990234375f);  // toward zero
}

TEST_CASE("stochastic rounding goes up with exactly the fraction's probability, decided by the draw's top bits") {
  // f16: 1 + 2^-12 is a quarter of the way from 1 to 1 + 2^-10; the fraction has 13 bits.
  const float x = 1.0f + 0x1p-12f;
  CHECK(round_to(x, kF16, Rounding::stochastic, 2047ull << 51) == 1.0f + 0x1p-10f);
  CHECK(round_to(x, kF16, Rounding::stochastic, 2048ull << 51) == 1.0f);
  CHECK(round_to(x, kF16, Rounding::stochastic, (2048ull << 51) - 1) == 1.0f + 0x1p-10f);
  // an f16 subnormal: 2^-26 is a quarter of the smallest subnormal 2^-24 (fraction 2 bits: 01)
  CHECK(round_to(0x1p-26f, kF16, Rounding::stochastic, (1ull << 62) - 1) == 0x1p-24f);
  CHECK(round_to(0x1p-26f, kF16, Rounding::stochastic, 1ull << 62) == 0.0f);
  // a fraction of 125 bits (the smallest float32 subnormal against 2^-24): 128-bit draws decide it
  CHECK(round_to(f32(1), kF16, Rounding::stochastic, 0, 7) == 0x1p-24f);
  CHECK(round_to(f32(1), kF16, Rounding::stochastic, 0, 8) == 0.0f);
  // bf16: the top 16 bits of the draw are added to the float32 bits
  CHECK(bits(round_to(f32(0x3f80'0001), kBf16, Rounding::stochastic, 0xffffull << 48)) == 0x3f81'0000u);
  CHECK(bits(round_to(f32(0x3f80'0001), kBf16, Rounding::stochastic, 0xfffeull << 48)) == 0x3f80'0000u);
  CHECK(bits(round_to(f32(0xbf80'8000), kBf16, Rounding::stochastic, 0x8000ull << 48)) == 0xbf81'0000u);
}

TEST_CASE("stochastic rounding is unbiased over seeds: f16, bf16 (subnormals too) and fixed point") {
  const int n = 100'000;
  struct Case {
    float x;
    const NumberFormat* format;
    double p;  // the exact probability of rounding away from zero
  };
  const Case cases[] = {
      {1.0f + 0x1p-12f, &kF16, 0.25},
      {-3.0f - 0x1p-10f - 0x1p-11f, &kF16, 0.75},
      {0x1p-26f * 3, &kF16, 0.75},  // subnormal
      {1.0f + 0x1p-9f, &kBf16, 0.25},
      {f32(0x0000'4000), &kBf16, 0.25},  // a float32 subnormal against bf16's
      {0.1f, &kFixed, double(0.1f) * 4096 - std::floor(double(0.1f) * 4096)},
      {-2.7f, &kFixed, double(2.7f) * 4096 - std::floor(double(2.7f) * 4096)},
  };
  for (const Case& c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.format->name());
    const Draws d = stochastic(c.x, *c.format, n);
    const double sigma = std::sqrt(c.p * (1 - c.p) / n);
    CHECK(std::fabs(d.up - c.p) < 5 * sigma);
    const double spacing = ulp_at(c.x, *c.format);
    CHECK(std::fabs(d.mean - static_cast<double>(c.x)) < 5 * sigma * spacing + 1e-12);
  }
}

TEST_CASE("stochastic rounding: values on the grid stay, specials pass, the top saturates, exponents carry") {
  for (float x : {1.0f, -0.5f, 0.0f, 65504.0f})
    for (std::uint64_t draw : {0ull, ~0ull}) CHECK(round_to(x, kF16, Rounding::stochastic, draw, draw) == x);
  CHECK(std::isnan(round_to(std::numeric_limits<float>::quiet_NaN(), kBf16, Rounding::stochastic, ~0ull)));
  CHECK(round_to(-std::numeric_limits<float>::infinity(), kF16, Rounding::stochastic, ~0ull) ==
        -std::numeric_limits<float>::infinity());
  CHECK(round_to(65519.0f, kF16, Rounding::stochastic, 0, 0) == 65504.0f);  // a zero draw rounds up
  CHECK(round_to(1e6f, kF16, Rounding::stochastic, 0, 0) == 65504.0f);
  CHECK(bits(round_to(f32(0x7f7f'ffff), kBf16, Rounding::stochastic, ~0ull)) == 0x7f7f'0000u);  // not Inf
  CHECK(bits(round_to(f32(0x3fff'ffff), kBf16, Rounding::stochastic, ~0ull)) == 0x4000'0000u);  // into 2.0
  CHECK(round_to(2.0f - 0x1p-20f, kF16, Rounding::stochastic, 0, 0) == 2.0f);
  CHECK(round_to(9.0f, kFixed, Rounding::stochastic, ~0ull, ~0ull) == 8.0f - 0x1p-12f);
}

TEST_CASE("random bits depend on seed, stream and index alone") {
  CHECK(random_bits(1, 2, 3) == random_bits(1, 2, 3));
  CHECK(random_bits(1, 2, 3) != random_bits(2, 2, 3));
  CHECK(random_bits(1, 2, 3) != random_bits(1, 3, 3));
  CHECK(random_bits(1, 2, 3) != random_bits(1, 2, 4));
}

TEST_CASE("formats and roundings parse from their names and refuse the rest") {
  CHECK(parse_number_format("fixed:4.12", "f32,fixed", "--weights-dtype").name() == "fixed:4.12");
  CHECK(parse_number_format("f8e5m2", "f32,f8e5m2", "--reduce-dtype").kind == NumberKind::f8e5m2);
  CHECK(parse_rounding("truncate", "nearest,truncate", "--reduce-rounding") == Rounding::truncate);
  auto usage_error = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::usage);
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(usage_error([] { parse_number_format("f8e5m2", "f32,f16,bf16", "--residue-dtype"); }) ==
        "--residue-dtype 'f8e5m2': expected f32|f16|bf16");
  CHECK(usage_error([] { parse_number_format("fixed:20.20", "f32,fixed", "--weights-dtype"); }).find("IL + FL <= 32") !=
        std::string::npos);
  CHECK(usage_error([] { parse_number_format("fixed:4", "f32,fixed", "--weights-dtype"); }) ==
        "--weights-dtype 'fixed:4': expected f32|fixed:IL.FL");
  CHECK(usage_error([] { parse_rounding("stochastic", "nearest,truncate", "--reduce-rounding"); }) ==
        "--reduce-rounding 'stochastic': expected nearest|truncate");
}
