// 3LC, FP8, FP4 and the GenNorm + Huffman study as comparison codecs (format_spec/codecs.md):
// hand-computed payloads, every FP8 code against a table written from the OCP definition, the
// error feedback over steps against plain loops, and refused payloads.
#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include <doctest/doctest.h>

#include "codec_test_support.hpp"

using namespace codec_test;

namespace {

// An FP8 code's value from the OCP definition: sign, exponent field e, mantissa field m.
double ocp_value(unsigned code, int exponent_bits, int mantissa_bits, int bias) {
  const int e = static_cast<int>(code >> mantissa_bits) & ((1 << exponent_bits) - 1);
  const int m = static_cast<int>(code) & ((1 << mantissa_bits) - 1);
  const double magnitude = e == 0 ? m * std::pow(2.0, 1 - bias - mantissa_bits)
                                  : (1.0 + m / std::pow(2.0, mantissa_bits)) * std::pow(2.0, e - bias);
  return (code & 0x80) ? -magnitude : magnitude;
}

}  // namespace

TEST_CASE("3LC sends round(p / M) as five ternaries per byte and runs of zero groups as one byte") {
  auto codec = make_tensor_codec(parse_spec("threelc"), "t", {7});  // s = 1, ef = 1
  // M = 4: q = 1 -1 0 0 0 | 0 0 (+3 padding zeros); digits q+1 = 2 0 1 1 1 -> 2 + 9 + 27 + 81 = 119
  const auto payload = codec->encode(std::vector<float>{4.0f, -2.5f, 1.9f, 0, 0, 0, 0}, {});
  CHECK(payload == with_scale(4.0f, {119, 121}));
  CHECK(decode(*codec, payload, 7) == std::vector<float>{4, -4, 0, 0, 0, 0, 0});
  // memory 0 1.5 1.9 0...: M = 1.9, q = 0 1 1 0 0 | 0 0 -> 1 + 6 + 18 + 27 + 81 = 133
  CHECK(codec->encode(std::vector<float>(7, 0.0f), {}) == with_scale(1.9f, {133, 121}));
  auto zeros = make_tensor_codec(parse_spec("threelc:ef=0"), "t", {100});  // 20 zero groups: 14 + 6
  const auto run = zeros->encode(std::vector<float>(100, 0.0f), {});
  CHECK(run == with_scale(0.0f, {255, 247}));
  CHECK(decode(*zeros, run, 100) == std::vector<float>(100, 0.0f));
  auto sparse = make_tensor_codec(parse_spec("threelc:s=1.5,ef=0"), "t", {5});  // round(p / 6): 4 -> 1, 2.9 -> 0
  CHECK(sparse->encode(std::vector<float>{4.0f, 2.9f, 0, 0, -3.0f}, {}) ==
        with_scale(6.0f, {2 + 3 + 9 + 27 + 0}));                // -3 / 6 = -0.5 rounds away from zero
  check_refused(*codec, with_scale(4.0f, {119, 121, 121}), 7);  // a group too many
  check_refused(*codec, with_scale(4.0f, {119}), 7);            // a group too few
  check_refused(*codec, with_scale(4.0f, {119, 130}), 7);       // a padding ternary not zero
  check_refused(*codec, with_scale(4.0f, {244}), 7);            // a run of 3 groups, the tensor has 2
  check_refused(*codec, with_scale(-4.0f, {119, 121}), 7);
  CHECK_THROWS_AS(parse_spec("threelc:s=2"), Error);
}

TEST_CASE("3LC's error feedback over several steps matches a loop written from its rule") {
  const std::size_t n = 23;
  auto codec = make_tensor_codec(parse_spec("threelc:s=1.25"), "t", {n});
  std::vector<float> memory(n, 0.0f);
  std::uint32_t state = 5;
  for (int step = 0; step < 8; ++step) {
    std::vector<float> g(n), p(n), expected(n);
    for (auto& v : g) {
      state = state * 1103515245u + 12345u;
      v = static_cast<float>(static_cast<int>((state >> 16) % 9) - 4);
    }
    float m = 0;
    for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(p[i] = memory[i] + g[i]));
    const float step_size = m * 1.25f;
    for (std::size_t i = 0; i < n; ++i) {
      const float q = step_size > 0 ? std::clamp(std::round(p[i] / step_size), -1.0f, 1.0f) : 0.0f;
      expected[i] = q * step_size;
      memory[i] = p[i] - expected[i];
    }
    INFO("step " << step);
    CHECK(decode(*codec, codec->encode(g, {}), n) == expected);
  }
}

TEST_CASE("FP8 codes: every finite code of E4M3 and E5M2 comes back, rounding to nearest even") {
  struct Format {
    const char* spec;
    int exponent_bits, mantissa_bits, bias;
    double max;
  };
  for (const Format f : {Format{"fp8:format=e4m3", 4, 3, 7, 448.0}, Format{"fp8", 5, 2, 15, 57344.0}}) {
    INFO(f.spec);
    std::vector<float> values;
    std::vector<unsigned> codes;
    for (unsigned code = 0; code < 256; ++code) {
      const bool nan_or_inf = f.exponent_bits == 4 ? (code & 0x7f) == 0x7f : (code & 0x7c) == 0x7c;
      if (nan_or_inf) continue;
      values.push_back(static_cast<float>(ocp_value(code, f.exponent_bits, f.mantissa_bits, f.bias)));
      codes.push_back(code);
    }
    CHECK(codes.size() == (f.exponent_bits == 4 ? 254u : 248u));
    auto codec = make_tensor_codec(parse_spec(f.spec), "t", {values.size()});
    const auto payload = codec->encode(values, {});  // max |p| is the format's max: scale 1
    REQUIRE(payload.size() == 4 + values.size());
    CHECK(payload[0] == std::byte(0));
    for (std::size_t i = 0; i < codes.size(); ++i) CHECK(std::to_integer<unsigned>(payload[4 + i]) == codes[i]);
    const auto back = decode(*codec, payload, values.size());
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(back[i] == values[i]);
    CHECK(*std::max_element(values.begin(), values.end()) == static_cast<float>(f.max));
    std::vector<float> out(values.size());
    auto nan_code = payload;
    nan_code[4] = std::byte(f.exponent_bits == 4 ? 0x7f : 0x7e);
    CHECK_THROWS_AS(codec->decode(nan_code, {}, out), Error);
  }
  // E4M3 at scale 1 (448 in the tensor): ties to even (432 between 416 and 448), subnormals
  auto e4m3 = make_tensor_codec(parse_spec("fp8:format=e4m3"), "t", {6});
  const auto payload = e4m3->encode(std::vector<float>{448, 1.0625f, 1.1875f, 432, 0x1p-10f, 3 * 0x1p-10f}, {});
  CHECK(payload == with_scale(1.0f, {0x7e, 0x38, 0x3a, 0x7e, 0x00, 0x02}));
  auto zeros = make_tensor_codec(parse_spec("fp8"), "t", {2});
  CHECK(zeros->encode(std::vector<float>{0.0f, 0.0f}, {}) == with_scale(0.0f, {0, 0}));
  check_refused(*zeros, with_scale(-1.0f, {0, 0}), 2);
  check_refused(*zeros, with_scale(1.0f, {0}), 2);
}

TEST_CASE("FP4 rounds to the nearest signed power of four below a power-of-two scale") {
  auto codec = make_tensor_codec(parse_spec("fp4"), "t", {5});
  // scale 1; 1 -> field 7; -0.3 -> 0.25 (field 6, sign); 0.05 -> 1/16 (field 5); 1e-4 -> 0
  const auto payload = codec->encode(std::vector<float>{1.0f, -0.3f, 0.05f, 0.0f, 1e-4f}, {});
  CHECK(payload == with_scale(1.0f, {0xe7, 0x05, 0x00}));
  CHECK(decode(*codec, payload, 5) == std::vector<float>{1.0f, -0.25f, 0.0625f, 0.0f, 0.0f});
  auto one = make_tensor_codec(parse_spec("fp4"), "t", {1});
  CHECK(one->encode(std::vector<float>{3.0f}, {}) == with_scale(4.0f, {0x07}));     // scale 4, 3/4 -> 1
  CHECK(one->encode(std::vector<float>{-0.625f}, {}) == with_scale(1.0f, {0x0e}));  // a tie: the smaller 0.25
  check_refused(*codec, with_scale(1.0f, {0x87, 0x05, 0x00}), 5);                   // a negative zero
  check_refused(*codec, with_scale(3.0f, {0xe7, 0x05, 0x00}), 5);                   // not a power of two
  check_refused(*codec, with_scale(1.0f, {0xe7, 0x05, 0x10}), 5);                   // padding
  // error feedback: what FP4 rounds away comes later
  auto ef = make_tensor_codec(parse_spec("fp4:ef=1"), "t", {2});
  CHECK(decode(*ef, ef->encode(std::vector<float>{1.0f, 0.5f}, {}), 2) == std::vector<float>{1.0f, 0.25f});
  CHECK(decode(*ef, ef->encode(std::vector<float>{0.0f, 0.0f}, {}), 2) == std::vector<float>{0.0f, 0.25f});
}

TEST_CASE("GenNorm + Huffman: the grid's symbols come back, with a histogram's or a fitted model's code") {
  auto empirical = make_tensor_codec(parse_spec("gennorm-huffman:bits=2,table=empirical"), "t", {4});
  // K = 1, step 1: symbols 2 2 2 0 of -1..1; two used symbols: one bit each, 0 -> code 0, 2 -> code 1
  const auto payload = empirical->encode(std::vector<float>{1, 1, 1, -1}, {});
  CHECK(payload == with_scale(1.0f, {1, 0, 1, 0x07}));
  CHECK(decode(*empirical, payload, 4) == std::vector<float>{1, 1, 1, -1});
  check_refused(*empirical, with_scale(1.0f, {1, 1, 1, 0x07}), 4);        // Kraft sum above 1
  check_refused(*empirical, with_scale(1.0f, {0, 0, 0, 0x07}), 4);        // no code
  check_refused(*empirical, with_scale(1.0f, {1, 0, 1, 0x07, 0x00}), 4);  // a byte after the last element
  check_refused(*empirical, with_scale(1.0f, {1, 0, 1, 0x17}), 4);        // a padding bit
  check_refused(*empirical, with_scale(1.0f, {1, 0, 1}), 4);              // the codes end early
  check_refused(*empirical, with_scale(1.0f, {25, 0, 1, 0x07}), 4);       // a code longer than 24 bits
  // Laplacian and Gaussian samples (quantiles and Box-Muller): the fit finds beta near 1 and 2
  std::vector<float> laplace, gauss;
  for (int i = 1; i < 4000; ++i) {
    const double u = i / 4000.0;
    laplace.push_back(static_cast<float>(u < 0.5 ? std::log(2 * u) : -std::log(2 - 2 * u)));
    const double v = ((i * 7919) % 4000 + 0.5) / 4000.0;
    gauss.push_back(static_cast<float>(std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v)));
  }
  for (const auto& [sample_set, beta_low, beta_high] :
       {std::tuple{&laplace, 0.8f, 1.2f}, std::tuple{&gauss, 1.7f, 2.3f}}) {
    // copies: clang 14 cannot capture structured bindings in INFO's lambda
    const std::vector<float>* samples = sample_set;
    const float low = beta_low, high = beta_high;
    for (const char* table : {"gennorm", "empirical"}) {
      INFO(table << " " << low);
      auto codec = make_tensor_codec(parse_spec(std::string("gennorm-huffman:table=") + table), "t", {samples->size()});
      const auto bytes = codec->encode(*samples, {});
      const auto out = decode(*codec, bytes, samples->size());
      float step = 0, m = 0;
      std::memcpy(&step, bytes.data(), 4);
      for (float v : *samples) m = std::max(m, std::fabs(v));
      CHECK(step == m / 127);
      for (std::size_t i = 0; i < samples->size(); ++i)
        CHECK(out[i] == static_cast<float>(std::lround((*samples)[i] / step)) * step);
      // fewer bits than the 8 of a fixed-width grid code
      CHECK(bytes.size() < samples->size());
      if (std::string(table) == "gennorm") {
        float beta = 0;
        std::memcpy(&beta, bytes.data() + 4, 4);
        CHECK(beta > low);
        CHECK(beta < high);
        auto broken = bytes;
        const float bad = 40.0f;
        std::memcpy(broken.data() + 4, &bad, 4);
        check_refused(*codec, broken, samples->size());
      }
    }
  }
}
