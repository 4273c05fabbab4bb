// average_streams (format_spec/dump_layout.md, section 2) against binary64 sums computed here from
// the decoded tensors, and its refusals, which leave the outputs untouched.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "adacomp/encoder.hpp"
#include "adacomp/error.hpp"
#include "adacomp/stream_average.hpp"

using namespace adacomp;

namespace {

Tensor ramp(const std::string& name, std::vector<std::uint64_t> shape, float phase) {
  Tensor t = make_tensor(name, DType::f32, shape);
  // sin^9: peaked, so that each learner selects few elements and the average stays sparse
  for (std::size_t i = 0; i < t.size(); ++i)
    t.flat()[i] = std::pow(std::sin(0.37f * static_cast<float>(i) + phase), 9.0f);
  return t;
}

std::vector<std::vector<std::byte>> learner_streams(std::size_t learners, EncodeSettings settings) {
  std::vector<std::vector<std::byte>> streams(learners);
  for (std::size_t l = 0; l < learners; ++l) {
    ResidueMap residues;
    const std::vector<Tensor> tensors = {ramp("w", {40, 30}, static_cast<float>(l)),
                                         ramp("b", {30}, 2.0f * static_cast<float>(l))};
    encode_stream(tensors, residues, settings, streams[l]);
  }
  return streams;
}

std::vector<std::span<const std::byte>> spans(const std::vector<std::vector<std::byte>>& streams) {
  return {streams.begin(), streams.end()};
}

}  // namespace

TEST_CASE("average_streams is the binary64 mean in learner order of the decoded tensors") {
  for (const std::size_t learners : {1u, 3u, 4u}) {
    for (const auto entries : {wire::EntryLayout::coded, wire::EntryLayout::fixed}) {
      EncodeSettings settings;
      settings.entries = entries;
      settings.exclude = {"b"};
      const auto streams = learner_streams(learners, settings);
      std::vector<float> w(1200, -1.0f), b(30, -1.0f);
      const std::vector<AverageTarget> targets = {{"b", b}, {"w", w}};  // any order
      average_streams(spans(streams), targets);
      std::vector<double> sum_w(1200, 0.0), sum_b(30, 0.0);
      for (const auto& stream : streams) {
        MemoryInput input(stream, "s");
        wire::StreamReader reader(input);
        while (auto frame = reader.next()) {
          const Tensor t = wire::decode_frame(*frame, "s");
          auto& sum = t.name == "w" ? sum_w : sum_b;
          for (std::size_t i = 0; i < t.size(); ++i) sum[i] += t.flat()[i];
        }
      }
      std::size_t nonzero = 0;
      for (std::size_t i = 0; i < w.size(); ++i) {
        CHECK(w[i] == static_cast<float>(sum_w[i] / static_cast<double>(learners)));
        nonzero += w[i] != 0.0f;
      }
      CHECK(nonzero > 0);
      CHECK(nonzero < w.size());
      for (std::size_t i = 0; i < b.size(); ++i)
        CHECK(b[i] == static_cast<float>(sum_b[i] / static_cast<double>(learners)));
    }
  }
}

TEST_CASE("average_streams refuses mismatched streams and outputs before writing any") {
  const auto streams = learner_streams(2, {});
  std::vector<float> w(1200, 7.0f), b(30, 7.0f), extra(5, 7.0f), short_b(29, 7.0f);
  auto untouched = [&] {
    for (const float v : w) REQUIRE(v == 7.0f);
  };
  const std::vector<AverageTarget> missing_b = {{"w", w}};
  CHECK_THROWS_WITH_AS(average_streams(spans(streams), missing_b), doctest::Contains("no such tensor"), Error);
  untouched();
  const std::vector<AverageTarget> with_extra = {{"w", w}, {"b", b}, {"x", extra}};
  CHECK_THROWS_WITH_AS(average_streams(spans(streams), with_extra),
                       doctest::Contains("stream of learner 0: no frame of tensor 'x'"), Error);
  untouched();
  const std::vector<AverageTarget> wrong_size = {{"w", w}, {"b", short_b}};
  CHECK_THROWS_WITH_AS(average_streams(spans(streams), wrong_size), doctest::Contains("29"), Error);
  untouched();
  auto corrupt = streams;
  corrupt[1][corrupt[1].size() / 2] ^= std::byte{0x10};
  const std::vector<AverageTarget> both = {{"w", w}, {"b", b}};
  CHECK_THROWS_WITH_AS(average_streams(spans(corrupt), both), doctest::Contains("learner 1"), Error);
  untouched();
  CHECK_THROWS_AS(average_streams({}, both), Error);
}
