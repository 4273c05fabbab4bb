// The comparison codecs (format_spec/codecs.md): specs, hand-computed payloads, ties, empty and
// tiny tensors, refused payloads, error feedback over steps, and random-k's shared uniform draw.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "adacomp/codecs.hpp"
#include "adacomp/error.hpp"
#include "codec_test_support.hpp"

using namespace adacomp;
using namespace adacomp::codecs;
using namespace codec_test;

TEST_CASE("codec specs fill in defaults and refuse unknown names, keys and values") {
  const CodecSpec topk = parse_spec("topk");
  CHECK(topk.text() == "topk:ratio=0.01,ef=1");
  CHECK(parse_spec("topk:ef=0,ratio=0.5").text() == "topk:ratio=0.5,ef=0");
  CHECK(parse_spec("adacomp").text() == "adacomp");
  for (const char* bad : {"nosuch", "topk:ratio=0", "topk:ratio=1.5", "topk:ratio=x", "topk:ef=2", "topk:k=3",
                          "topk:ratio", "adacomp:T=50"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_spec(bad), Error);
    try {
      parse_spec(bad);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::usage);
    }
  }
  CHECK(catalogue().size() >= 3);
}

TEST_CASE("top-k sends the k largest magnitudes, the lower index of a tie, in index order") {
  auto codec = make_tensor_codec(parse_spec("topk:ratio=0.5,ef=0"), "t", {2, 3});  // k = 3 of 6
  const std::vector<float> g = {1.0f, -2.0f, 2.0f, 0.5f, -2.0f, 0.0f};
  const auto payload = codec->encode(g, {});
  // |g| = 1 2 2 0.5 2 0: the three 2s, indices 1, 2, 4
  CHECK(payload == bytes_of({1, bits_of(-2.0f), 2, bits_of(2.0f), 4, bits_of(-2.0f)}));
  CHECK(decode(*codec, payload, 6) == std::vector<float>{0, -2, 2, 0, -2, 0});
  auto tie = make_tensor_codec(parse_spec("topk:ratio=0.25,ef=0"), "t", {4});  // k = 1
  CHECK(tie->encode(std::vector<float>{1.0f, -2.0f, 2.0f, 0.5f}, {}) == bytes_of({1, bits_of(-2.0f)}));
  // k = max(1, floor(n * ratio)): one element of three at ratio 0.01
  auto tiny = make_tensor_codec(parse_spec("topk"), "t", {3});
  CHECK(tiny->encode(std::vector<float>{0.0f, 0.0f, 0.0f}, {}) == bytes_of({0, bits_of(0.0f)}));
  auto empty = make_tensor_codec(parse_spec("topk"), "t", {0});
  CHECK(empty->encode(std::vector<float>{}, {}).empty());
  CHECK(decode(*empty, {}, 0).empty());
}

TEST_CASE("top-k's error feedback keeps what was not sent and sends it later") {
  auto codec = make_tensor_codec(parse_spec("topk:ratio=0.25"), "t", {4});  // k = 1, ef = 1
  CHECK(codec->encode(std::vector<float>{1.0f, -2.0f, 3.0f, 0.5f}, {}) == bytes_of({2, bits_of(3.0f)}));
  // memory 1 -2 0 0.5, plus g: 1.5 -2 1 0.5 -> index 1
  CHECK(codec->encode(std::vector<float>{0.5f, 0.0f, 1.0f, 0.0f}, {}) == bytes_of({1, bits_of(-2.0f)}));
  // memory 1.5 0 1 0.5 -> index 0
  CHECK(codec->encode(std::vector<float>{0.0f, 0.0f, 0.0f, 0.0f}, {}) == bytes_of({0, bits_of(1.5f)}));
}

TEST_CASE("error feedback loses nothing: the decoded sum over steps plus a final flush is the gradients' sum") {
  for (const char* spec : {"topk:ratio=0.2", "randomk:ratio=0.2"}) {
    INFO(spec);
    const std::size_t n = 50;
    auto codec = make_tensor_codec(parse_spec(spec), "t", {n});
    std::vector<double> sent(n, 0.0), total(n, 0.0);
    std::uint32_t state = 7;
    for (std::uint64_t step = 0; step < 6; ++step) {
      std::vector<float> g(n);
      for (auto& v : g) {
        state = state * 1103515245u + 12345u;
        v = static_cast<float>(static_cast<int>((state >> 16) % 17) - 8);  // small integers: exact sums
      }
      for (std::size_t i = 0; i < n; ++i) total[i] += g[i];
      const StepContext context{step, 1, 0};
      const auto out = decode(*codec, codec->encode(g, context), n, context);
      for (std::size_t i = 0; i < n; ++i) sent[i] += out[i];
    }
    bool held_back = false;
    for (std::size_t i = 0; i < n; ++i) held_back |= sent[i] != total[i];
    CHECK(held_back);
    // Zero gradients from here on: the memory drains, and what it sends completes the sum exactly.
    for (std::uint64_t step = 6; step < 106; ++step) {
      const StepContext context{step, 1, 0};
      const auto out = decode(*codec, codec->encode(std::vector<float>(n, 0.0f), context), n, context);
      for (std::size_t i = 0; i < n; ++i) sent[i] += out[i];
    }
    CHECK(sent == total);
  }
}

TEST_CASE("top-k's decoder refuses payloads its encoder cannot have written") {
  auto codec = make_tensor_codec(parse_spec("topk:ratio=0.5,ef=0"), "w", {4});  // k = 2
  std::vector<float> out(4);
  for (const auto& payload : {bytes_of({0, 0}), bytes_of({0, 0, 1, 0, 2, 0}), bytes_of({1, 0, 1, 0}),
                              bytes_of({2, 0, 1, 0}), bytes_of({0, 0, 4, 0})}) {
    CHECK_THROWS_AS(codec->decode(payload, {}, out), Error);
    try {
      codec->decode(payload, {}, out);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_input);
      CHECK(std::string(e.what()).find("tensor 'w'") != std::string::npos);
    }
  }
  const std::vector<float> nan = {1.0f, std::numeric_limits<float>::quiet_NaN(), 0.0f, 0.0f};
  CHECK_THROWS_WITH_AS(codec->encode(nan, {}), "tensor 'w' element 1: gradient value is NaN", Error);
}

TEST_CASE("random-k draws the same indices for every learner of a step, uniformly over the subsets") {
  const std::size_t n = 10;
  const CodecSpec spec = parse_spec("randomk:ratio=0.3,ef=0");  // k = 3
  auto a = make_tensor_codec(spec, "t", {n});
  auto b = make_tensor_codec(spec, "t", {n});
  std::vector<float> g(n);
  for (std::size_t i = 0; i < n; ++i) g[i] = static_cast<float>(i + 1);
  const StepContext context{4, 99, 2};
  const auto payload = a->encode(g, context);
  CHECK(payload.size() == 12);
  const auto out = decode(*b, payload, n, context);  // another learner's codec decodes it
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    CHECK((out[i] == 0.0f || out[i] == g[i]));
    kept += out[i] != 0.0f;
  }
  CHECK(kept == 3);
  CHECK(b->encode(g, context) == payload);
  // Each index is drawn with probability k/n = 0.3: over 4000 seeds the count is 1200, sd 29.
  std::vector<int> hits(n, 0);
  for (std::uint64_t seed = 0; seed < 4000; ++seed) {
    const StepContext draw{0, seed, 0};
    const auto decoded = decode(*a, a->encode(g, draw), n, draw);
    for (std::size_t i = 0; i < n; ++i) hits[i] += decoded[i] != 0.0f;
  }
  for (std::size_t i = 0; i < n; ++i) {
    INFO("index " << i);
    CHECK(hits[i] > 1200 - 150);
    CHECK(hits[i] < 1200 + 150);
  }
  std::vector<float> wrong(n);
  CHECK_THROWS_AS(a->decode(bytes_of({0, 0}), context, wrong), Error);
}

namespace {

// The mean over `runs` seeds of the decoded tensor, each learner's draw from its own seed.
std::vector<double> mean_decoded(const CodecSpec& spec, const std::vector<float>& g, int runs) {
  std::vector<double> mean(g.size(), 0.0);
  for (int seed = 0; seed < runs; ++seed) {
    auto codec = make_tensor_codec(spec, "t", {g.size()});
    const StepContext step{0, static_cast<std::uint64_t>(seed), 0, 0};
    const auto out = decode(*codec, codec->encode(g, step), g.size(), step);
    for (std::size_t i = 0; i < g.size(); ++i) mean[i] += out[i];
  }
  for (double& m : mean) m /= runs;  // after the sum: an element sent the same every run is exact
  return mean;
}

}  // namespace

TEST_CASE("EF-SignSGD sends the mean magnitude and one sign bit per element, and keeps the rest") {
  auto codec = make_tensor_codec(parse_spec("efsignsgd"), "t", {4});
  const std::vector<float> g = {1.0f, -3.0f, 0.0f, 2.0f};
  const auto payload = codec->encode(g, {});
  CHECK(payload == with_scale(1.5f, {0x02}));  // ||g||_1 / n = 6 / 4; element 1 negative
  CHECK(decode(*codec, payload, 4) == std::vector<float>{1.5f, -1.5f, 1.5f, 1.5f});
  // memory = g - decoded = -0.5 -1.5 -1.5 0.5; with g = 0: scale 1, elements 0-2 negative
  CHECK(codec->encode(std::vector<float>(4, 0.0f), {}) == with_scale(1.0f, {0x07}));
  check_refused(*codec, with_scale(1.0f, {}), 4);
  check_refused(*codec, with_scale(1.0f, {0x12}), 4);  // a padding bit
  check_refused(*codec, with_scale(-1.0f, {0x02}), 4);
}

TEST_CASE("1-bit SGD sends per column the means of the negatives and of the non-negatives") {
  auto matrix = make_tensor_codec(parse_spec("onebit:ef=0"), "t", {2, 2});
  // columns of [[1, -2], [3, -4]]: {1, 3} (no negatives: mean 0) and {-2, -4}
  const auto payload = matrix->encode(std::vector<float>{1.0f, -2.0f, 3.0f, -4.0f}, {});
  CHECK(payload == floats_then({0.0f, 2.0f, -3.0f, 0.0f}, {0x05}));
  CHECK(decode(*matrix, payload, 4) == std::vector<float>{2.0f, -3.0f, 2.0f, -3.0f});
  auto vector = make_tensor_codec(parse_spec("onebit:ef=0"), "t", {3});  // rank 1: one column
  CHECK(vector->encode(std::vector<float>{1.0f, -1.0f, 3.0f}, {}) == floats_then({-1.0f, 2.0f}, {0x05}));
  check_refused(*vector, floats_then({-1.0f, 2.0f}, {0x0d}), 3);
  check_refused(*vector, floats_then({-1.0f, std::numeric_limits<float>::infinity()}, {0x05}), 3);
  auto empty = make_tensor_codec(parse_spec("onebit"), "t", {0, 4});
  CHECK(empty->encode(std::vector<float>{}, {}).empty());
}

TEST_CASE("TernGrad is unbiased, sends the maximum always and zeros never") {
  const std::vector<float> g = {0.5f, -0.25f, 1.0f, 0.0f, -0.75f};
  const auto mean = mean_decoded(parse_spec("terngrad"), g, 4000);
  for (std::size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i);
    CHECK(std::abs(mean[i] - g[i]) < 0.04);  // sd of the mean <= 0.008
  }
  CHECK(mean[2] == 1.0);
  CHECK(mean[3] == 0.0);
  auto codec = make_tensor_codec(parse_spec("terngrad"), "t", {5});
  bool learners_differ = false;
  for (std::uint64_t seed = 0; seed < 20 && !learners_differ; ++seed)
    learners_differ = codec->encode(g, {0, seed, 0, 0}) != codec->encode(g, {0, seed, 0, 1});
  CHECK(learners_differ);
  check_refused(*codec, with_scale(1.0f, {0xff, 0x00}), 5);  // code 3
  check_refused(*codec, with_scale(1.0f, {0x55, 0x05}), 5);  // padding bits
}

TEST_CASE("natural compression rounds to a neighbouring power of two, unbiased, subnormals included") {
  const float tiny = std::numeric_limits<float>::denorm_min() * 4194304.0f;  // 2^-127, subnormal
  const std::vector<float> g = {0.75f, -3.0f, 0.5f, 0.0f, tiny};
  const auto mean = mean_decoded(parse_spec("natural"), g, 4000);
  CHECK(mean[0] == doctest::Approx(0.75).epsilon(0.04));
  CHECK(mean[1] == doctest::Approx(-3.0).epsilon(0.04));
  CHECK(mean[2] == 0.5);  // a power of two is sent exactly
  CHECK(mean[3] == 0.0);
  CHECK(mean[4] / tiny == doctest::Approx(1.0).epsilon(0.1));
  auto codec = make_tensor_codec(parse_spec("natural"), "t", {1});
  // 9 bits: 0.5 is the biased exponent 126, sign 0
  CHECK(codec->encode(std::vector<float>{0.5f}, {}) == std::vector<std::byte>{std::byte(126), std::byte(0)});
  CHECK(codec->encode(std::vector<float>{-0.5f}, {}) == std::vector<std::byte>{std::byte(126), std::byte(1)});
  check_refused(*codec, {std::byte(255), std::byte(0)}, 1);  // no finite power of two
  check_refused(*codec, {std::byte(0), std::byte(1)}, 1);    // -0 is never written
  check_refused(*codec, {std::byte(126), std::byte(2)}, 1);  // padding
}

TEST_CASE("signSGD sends one sign bit per element, 0 as +1, and the learners' majority decides") {
  auto codec = make_tensor_codec(parse_spec("signsgd"), "t", {5});
  const auto payload = codec->encode(std::vector<float>{-1.0f, 0.0f, 2.0f, -0.5f, -0.0f}, {});
  CHECK(payload == std::vector<std::byte>{std::byte(0x09)});  // elements 0 and 3; -0 is not below 0
  CHECK(decode(*codec, payload, 5) == std::vector<float>{-1.0f, 1.0f, 1.0f, -1.0f, 1.0f});
  check_refused(*codec, {std::byte(0x29)}, 5);  // padding
  CHECK(codec_info("signsgd").aggregation == Aggregation::majority_vote);
  CHECK(aggregate(Aggregation::majority_vote, 1.0, 3) == 1.0f);  // +1 +1 -1
  CHECK(aggregate(Aggregation::majority_vote, -3.0, 3) == -1.0f);
  CHECK(aggregate(Aggregation::majority_vote, 0.0, 4) == 0.0f);  // a tie
  CHECK(codec_info("topk").aggregation == Aggregation::mean);
  CHECK(aggregate(Aggregation::mean, 1.0, 3) == static_cast<float>(1.0 / 3.0));
}

TEST_CASE("QSGD sends bucket norms and Elias-coded levels, unbiased, and refuses broken codes") {
  auto exact = make_tensor_codec(parse_spec("qsgd:levels=5,bucket=2"), "t", {2});
  // norm 5; levels 5 * 3/5 = 3 and 5 * 4/5 = 4 exactly: gamma(4) = 00100, sign 0; gamma(5) = 00101, sign 1
  const auto payload = exact->encode(std::vector<float>{3.0f, -4.0f}, {});
  CHECK(payload == with_scale(5.0f, {0x04, 0x0d}));
  CHECK(decode(*exact, payload, 2) == std::vector<float>{3.0f, -4.0f});
  check_refused(*exact, with_scale(5.0f, {0x00, 0x00}), 2);        // a code longer than any level's
  check_refused(*exact, with_scale(5.0f, {0x1c, 0x00}), 2);        // gamma(7): level 6 > 5
  check_refused(*exact, with_scale(5.0f, {0x04, 0x0d, 0x00}), 2);  // a byte after the last element
  check_refused(*exact, with_scale(5.0f, {0x04, 0x1d}), 2);        // a padding bit
  check_refused(*exact, with_scale(5.0f, {0x04}), 2);              // the stream ends early
  check_refused(*exact, with_scale(-5.0f, {0x04, 0x0d}), 2);
  const std::vector<float> g = {0.3f, -0.5f, 0.1f, 0.7f, 0.0f};
  const auto mean = mean_decoded(parse_spec("qsgd"), g, 4000);
  for (std::size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i);
    CHECK(std::abs(mean[i] - g[i]) < 0.02);  // sd of the mean < 0.002
  }
  CHECK(mean[4] == 0.0);
  CHECK_THROWS_AS(parse_spec("qsgd:levels=0"), Error);
  CHECK_THROWS_AS(parse_spec("qsgd:bucket=-3"), Error);
}

TEST_CASE("SBC sends the side of larger mean magnitude as its mean, positions in Rice codes") {
  auto codec = make_tensor_codec(parse_spec("sbc:ratio=0.25,ef=0"), "t", {8});  // k = 2; b* = 1
  // positives 2 (5) and 1 (2): mean 1.5; negatives -3 (1) and -1 (4): mean 2, the side sent
  const std::vector<float> g = {0.5f, -3.0f, 1.0f, 0.0f, -1.0f, 2.0f, 0.0f, 0.0f};
  const auto payload = codec->encode(g, {});
  // gaps 1 and 2 with b = 1: (q 0, low 1), (q 1, low 0) = bits 0 1 | 1 0 0
  CHECK(payload == bytes_then({2, bits_of(-2.0f)}, {0x06}));
  CHECK(decode(*codec, payload, 8) == std::vector<float>{0, -2, 0, 0, -2, 0, 0, 0});
  check_refused(*codec, bytes_then({3, bits_of(-2.0f)}, {0x06}), 8);        // more than k
  check_refused(*codec, bytes_then({2, bits_of(-2.0f)}, {0x06, 0x00}), 8);  // a byte too many
  check_refused(*codec, bytes_then({2, bits_of(-2.0f)}, {0x26}), 8);        // a padding bit
  check_refused(*codec, bytes_then({1, bits_of(-2.0f)}, {0xff, 0x00}), 8);  // a gap past the tensor
  check_refused(*codec, bytes_then({2, bits_of(-2.0f)}, {}), 8);            // the stream ends early
  // With error feedback the rest stays: the positives win the next step.
  auto kept = make_tensor_codec(parse_spec("sbc:ratio=0.25"), "t", {8});
  kept->encode(g, {});
  const auto next = kept->encode(std::vector<float>(8, 0.0f), {});
  CHECK(decode(*kept, next, 8) == std::vector<float>{0, 0, 1.5f, 0, 0, 1.5f, 0, 0});
}

TEST_CASE("every codec takes empty, single-element, all-zero and all-equal tensors, and zeros stay zeros") {
  for (const CodecSpec& given : default_codec_set()) {
    if (given.name == "adacomp") continue;
    CodecSpec spec = given;
    if (spec.values.count("momentum")) spec.values["momentum"] = "0.9";  // no replay here
    for (const std::vector<std::uint64_t>& shape : {std::vector<std::uint64_t>{0}, {1}, {1, 1}, {3, 4}, {2, 0}, {40}}) {
      std::uint64_t n = 1;
      for (auto d : shape) n *= d;
      for (const float value : {0.0f, 2.5f, -1.0f}) {
        INFO(spec.text() << " shape " << shape.size() << "-D of " << n << ", every element " << value);
        const std::vector<float> g(n, value);
        std::vector<float> out(n, 123.0f);
        const StepContext context{0, 3, 0, 0};
        if (codec_info(spec.name).aggregation == Aggregation::rounds) {
          auto codec = make_round_codec(spec, "t", shape);
          std::vector<double> previous;
          for (std::size_t r = 0; r < codec->rounds(); ++r) {
            const auto payload = codec->send(r, g, previous, context);
            std::vector<float> values(codec->round_size(r));
            codec->receive(r, payload, values);
            previous.assign(values.begin(), values.end());
          }
          codec->finish(previous, 1, out);
        } else {
          auto codec = make_tensor_codec(spec, "t", shape);
          codec->decode(codec->encode(g, context), context, out);
        }
        bool finite = true, zeros = true;
        for (float v : out) {
          finite = finite && std::isfinite(v);
          zeros = zeros && v == 0.0f;
        }
        CHECK(finite);
        // a zero gradient decodes to zeros (signSGD's one bit sends 0 as +1)
        if (value == 0.0f && spec.name != "signsgd") CHECK(zeros);
      }
    }
  }
}
