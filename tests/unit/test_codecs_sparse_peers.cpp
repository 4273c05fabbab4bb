// The AdaComp implementations of others (HiPress, GradComp), DGC and PowerSGD as comparison
// codecs (format_spec/codecs.md): hand-computed payloads, the error feedback over several steps
// against straightforward loops written from the rules, and refused payloads.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <doctest/doctest.h>

#include "codec_test_support.hpp"

using namespace codec_test;

namespace {

std::vector<std::byte> i32s(std::initializer_list<std::int32_t> values) {
  std::vector<std::byte> out(4 * values.size());
  std::size_t at = 0;
  for (std::int32_t v : values) std::memcpy(out.data() + 4 * at++, &v, 4);
  return out;
}

std::vector<std::byte> joined(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<std::byte> f32s(std::initializer_list<float> values) { return floats_then(values, {}); }

std::vector<std::byte> i64s(std::initializer_list<std::int64_t> values) {
  std::vector<std::byte> out(8 * values.size());
  std::size_t at = 0;
  for (std::int64_t v : values) std::memcpy(out.data() + 8 * at++, &v, 8);
  return out;
}

// Small integers and halves from a fixed generator: sums stay exact in float32.
std::vector<float> gradient(std::size_t n, std::uint32_t& state) {
  std::vector<float> g(n);
  for (auto& v : g) {
    state = state * 1103515245u + 12345u;
    v = static_cast<float>(static_cast<int>((state >> 16) % 13) - 6) / 2;
  }
  return g;
}

}  // namespace

TEST_CASE("HiPress's AdaComp selects |H| >= the bin's max |G| and sends sign(G) times the mean bin max") {
  auto codec = make_tensor_codec(parse_spec("adacomp-hipress:T=32"), "t", {40});  // bins of 32 and 8
  std::vector<float> w(40, 0.0f);
  w[3] = 4.0f;
  w[5] = -2.0f;
  w[7] = 1.0f;
  // G = W, H = 2W; bin 0: gmax 4, |H| >= 4 at 3 and 5; bin 1 is all zero: gmax 0 selects all 8
  // (the reference's rule) with G = 0 sent as -v; v = (4 + 0) / 2
  const auto payload = codec->encode(w, {});
  CHECK(payload == joined({i32s({50}), f32s({2.0f}), i32s({3, 5, 32, 33, 34, 35, 36, 37, 38, 39}),
                           std::vector<std::byte>{std::byte(0x01), std::byte(0x00)}}));
  std::vector<float> expected(40, 0.0f);
  expected[3] = 2.0f;
  expected[5] = -2.0f;
  std::fill(expected.begin() + 32, expected.end(), -2.0f);
  CHECK(decode(*codec, payload, 40) == expected);
  // residue 2 at 3, 1 at 7, +2 in bin 1; with W = 0: bin 0 gmax 2 sends 3; bin 1 sends all, v = 2
  const auto next = decode(*codec, codec->encode(std::vector<float>(40, 0.0f), {}), 40);
  std::vector<float> then(40, 0.0f);
  then[3] = 2.0f;
  std::fill(then.begin() + 32, then.end(), 2.0f);
  CHECK(next == then);
  check_refused(*codec,
                joined({i32s({49}), f32s({2.0f}), i32s({3, 5, 32, 33, 34, 35, 36, 37, 38, 39}),
                        std::vector<std::byte>{std::byte(0x01), std::byte(0x00)}}),
                40);                                                                             // size field
  check_refused(*codec, joined({i32s({13}), f32s({2.0f}), i32s({40}), {std::byte(0)}}), 40);     // past the end
  check_refused(*codec, joined({i32s({17}), f32s({2.0f}), i32s({5, 3}), {std::byte(0)}}), 40);   // order
  check_refused(*codec, joined({i32s({13}), f32s({2.0f}), i32s({5}), {std::byte(0x02)}}), 40);   // padding
  check_refused(*codec, joined({i32s({13}), f32s({-2.0f}), i32s({5}), {std::byte(0x01)}}), 40);  // v < 0
  check_refused(*codec, joined({i32s({14}), f32s({2.0f}), i32s({5}), {std::byte(0), std::byte(0)}}),
                40);  // no count fits
  auto empty = make_tensor_codec(parse_spec("adacomp-hipress"), "t", {0});
  CHECK(empty->encode(std::vector<float>{}, {}) == joined({i32s({8}), f32s({0.0f})}));
  CHECK_THROWS_AS(parse_spec("adacomp-hipress:T=16"), Error);
}

TEST_CASE("HiPress's AdaComp over several steps matches a loop written from the reference's rule") {
  const std::size_t n = 100, bin = 32;
  auto codec = make_tensor_codec(parse_spec("adacomp-hipress:T=32"), "t", {n});
  std::vector<float> residue(n, 0.0f);
  std::uint32_t state = 3;
  for (int step = 0; step < 6; ++step) {
    const auto w = gradient(n, state);
    std::vector<float> g(n), h(n), expected(n, 0.0f);
    for (std::size_t i = 0; i < n; ++i) {
      g[i] = residue[i] + w[i];
      h[i] = g[i] + w[i];
    }
    std::vector<float> gmax;
    for (std::size_t b = 0; b < n; b += bin) {
      float m = 0;
      for (std::size_t i = b; i < std::min(n, b + bin); ++i) m = std::max(m, std::fabs(g[i]));
      gmax.push_back(m);
    }
    float sum = 0;
    for (float m : gmax) sum += m;
    const float v = sum / static_cast<float>(gmax.size());
    residue = g;
    for (std::size_t i = 0; i < n; ++i)
      if (std::fabs(h[i]) >= gmax[i / bin]) {
        expected[i] = g[i] > 0 ? v : -v;
        residue[i] -= expected[i];
      }
    INFO("step " << step);
    CHECK(decode(*codec, codec->encode(w, {}), n) == expected);
  }
}

TEST_CASE("GradComp's AdaComp sends H = G + c g wherever |H| reaches the tensor's max |G|") {
  auto codec = make_tensor_codec(parse_spec("adacomp-gradcomp"), "t", {4});  // c = 3
  // G = g, gmax 3, H = 4 g = 4 -12 2 8
  const auto payload = codec->encode(std::vector<float>{1.0f, -3.0f, 0.5f, 2.0f}, {});
  CHECK(payload == joined({f32s({4.0f, -12.0f, 8.0f}), i64s({0, 1, 3})}));
  CHECK(decode(*codec, payload, 4) == std::vector<float>{4.0f, -12.0f, 0.0f, 8.0f});
  // memory = G - decoded = -3 9 0.5 -6; with g = 0: G = H = memory, gmax 9: only element 1
  CHECK(codec->encode(std::vector<float>(4, 0.0f), {}) == joined({f32s({9.0f}), i64s({1})}));
  auto zeros = make_tensor_codec(parse_spec("adacomp-gradcomp"), "t", {3});  // max 0: all sent
  CHECK(zeros->encode(std::vector<float>(3, 0.0f), {}).size() == 36);
  check_refused(*codec, joined({f32s({1.0f}), i64s({4})}), 4);
  check_refused(*codec, joined({f32s({1.0f, 2.0f}), i64s({2, 1})}), 4);
  check_refused(*codec, joined({f32s({1.0f}), i64s({-1})}), 4);
  check_refused(*codec, std::vector<std::byte>(11), 4);
  const float nan = std::nanf("");
  check_refused(*codec, joined({f32s({nan}), i64s({0})}), 4);
}

TEST_CASE("DGC corrects momentum, masks it where sent, and sends the first k candidates") {
  auto codec = make_tensor_codec(parse_spec("dgc:ratio=0.25,momentum=0.5"), "w", {2, 4});  // k = 2, unsampled
  CHECK(codec->corrects_momentum());
  // u = v = g; threshold = the 2nd largest |v| = 3: elements 1 and 4
  const auto first = codec->encode(std::vector<float>{1, -4, 2, 0, 3, 0, 0, -1}, {});
  CHECK(first == joined({f32s({-4.0f, 3.0f}), i32s({1, 4})}));
  CHECK(decode(*codec, first, 8) == std::vector<float>{0, -4, 0, 0, 3, 0, 0, 0});
  // u = 0.5 u (masked at 1, 4); v = 1.5 0 3 0 0 0 0 -1.5: threshold 1.5, candidates 0 2 7, first two sent
  CHECK(codec->encode(std::vector<float>(8, 0.0f), {}) == joined({f32s({1.5f, 3.0f}), i32s({0, 2})}));
  auto bias = make_tensor_codec(parse_spec("dgc:momentum=0.5"), "b", {3});  // rank 1: sent dense
  CHECK_FALSE(bias->corrects_momentum());
  CHECK(bias->encode(std::vector<float>{1, 2, 3}, {}) == f32s({1, 2, 3}));
  // warm-up: ratio_0 = max(0.25^(1/2), 0.25) = 0.5, so 4 of 8 in the first step
  auto warm = make_tensor_codec(parse_spec("dgc:ratio=0.25,momentum=0,warmup=1"), "w", {2, 4});
  CHECK(warm->encode(std::vector<float>{8, 7, 6, 5, 4, 3, 2, 1}, {}).size() == 4 * 8);
  CHECK(warm->encode(std::vector<float>{8, 7, 6, 5, 4, 3, 2, 1}, {}).size() == 2 * 8);
  check_refused(*codec, joined({f32s({1.0f}), i32s({8})}), 8);
  check_refused(*codec, joined({f32s({1.0f, 1.0f}), i32s({3, 3})}), 8);
  check_refused(*codec, std::vector<std::byte>(12), 8);
  CHECK_THROWS_AS(make_tensor_codec(parse_spec("dgc"), "w", {2, 4}), Error);  // momentum=replay outside a replay
  CHECK_THROWS_AS(parse_spec("dgc:momentum=1"), Error);
}

TEST_CASE("DGC on a sampled tensor sends at most k elements, each at or above the sampled threshold's adaptation") {
  const std::size_t n = 20000;  // above 2 / ratio: a strided sample
  auto codec = make_tensor_codec(parse_spec("dgc:ratio=0.001,momentum=0.9"), "w", {100, 200});
  std::uint32_t state = 11;
  for (std::uint64_t step = 0; step < 4; ++step) {
    const auto g = gradient(n, state);
    const StepContext context{step, 5, 0, 0};
    const auto payload = codec->encode(g, context);
    INFO("step " << step);
    CHECK(payload.size() % 8 == 0);
    CHECK(payload.size() / 8 >= 1);
    CHECK(payload.size() / 8 <= 20);  // ceil(n ratio)
    const auto out = decode(*codec, payload, n, context);
    CHECK(std::count_if(out.begin(), out.end(), [](float v) { return v != 0.0f; }) <= 20);
  }
}

TEST_CASE("PowerSGD reconstructs rank-1 matrices exactly, keeps the rest in memory, and sends rank-1 tensors dense") {
  CHECK(codec_info("powersgd").aggregation == Aggregation::rounds);
  CHECK_THROWS_AS(make_tensor_codec(parse_spec("powersgd"), "w", {3, 4}), Error);
  CHECK_THROWS_AS(make_round_codec(parse_spec("topk"), "w", {3, 4}), Error);
  // two learners, M_l = a b_l^T: the mean M is rank 1, reconstructed by one step at rank 1
  const std::vector<float> a = {1, -2, 0.5f}, b0 = {1, 0, -1, 2}, b1 = {3, 1, 1, 0};
  std::vector<std::vector<float>> m(2, std::vector<float>(12));
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) {
      m[0][i * 4 + j] = a[i] * b0[j];
      m[1][i * 4 + j] = a[i] * b1[j];
    }
  const auto spec = parse_spec("powersgd:rank=1");
  std::vector<std::unique_ptr<RoundCodec>> learners;
  for (int l = 0; l < 2; ++l) learners.push_back(make_round_codec(spec, "w", {3, 4}));
  REQUIRE(learners[0]->rounds() == 2);
  CHECK(learners[0]->round_size(0) == 3);
  CHECK(learners[0]->round_size(1) == 4);
  auto exchange = [&](const std::vector<std::vector<float>>& grads, std::uint64_t step) {
    std::vector<double> previous;
    for (std::size_t r = 0; r < 2; ++r) {
      std::vector<double> sum(learners[0]->round_size(r), 0.0);
      for (std::size_t l = 0; l < 2; ++l) {
        const StepContext context{step, 9, 0, l};
        const auto payload = learners[l]->send(r, grads[l], previous, context);
        CHECK(payload.size() == 4 * sum.size());
        std::vector<float> values(sum.size());
        learners[l]->receive(r, payload, values);
        for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += values[i];
      }
      previous = sum;
    }
    std::vector<float> update(12), other(12);
    learners[0]->finish(previous, 2, update);
    learners[1]->finish(previous, 2, other);
    CHECK(update == other);
    return update;
  };
  const auto update = exchange(m, 0);
  for (std::size_t i = 0; i < 12; ++i) CHECK(update[i] == doctest::Approx((m[0][i] + m[1][i]) / 2).epsilon(1e-5));
  // nothing was left behind: a zero step sends (almost) nothing
  const auto after = exchange({std::vector<float>(12, 0.0f), std::vector<float>(12, 0.0f)}, 1);
  for (float v : after) CHECK(std::fabs(v) < 1e-5f);
  // a rank-2 matrix at rank 1: the rest stays in memory and the next zero step sends it
  learners.clear();
  for (int l = 0; l < 2; ++l) learners.push_back(make_round_codec(spec, "w", {3, 4}));
  std::vector<float> full(12);
  for (std::size_t i = 0; i < 12; ++i) full[i] = m[0][i] + (i % 5 == 0 ? 1.0f : 0.0f);
  const auto first = exchange({full, full}, 0);
  const auto second = exchange({std::vector<float>(12, 0.0f), std::vector<float>(12, 0.0f)}, 1);
  double left = 0, rest = 0;
  for (std::size_t i = 0; i < 12; ++i) {
    left += std::pow(full[i] - first[i], 2);
    rest += std::pow(full[i] - first[i] - second[i], 2);
  }
  CHECK(left > 1e-3);
  CHECK(rest < left);
  auto bias = make_round_codec(spec, "b", {5});
  CHECK(bias->rounds() == 1);
  std::vector<float> values(5);
  CHECK_THROWS_AS(bias->receive(0, std::vector<std::byte>(16), values), Error);
  const float nan = std::nanf("");
  CHECK_THROWS_AS(bias->receive(0, f32s({1, 2, nan, 4, 5}), values), Error);
}
