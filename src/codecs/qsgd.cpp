// QSGD (Alistarh et al., NeurIPS 2017) with the paper's Elias coding: per bucket of `bucket`
// elements the norm ||v||_2, and per element a level in 0..s drawn so that the decoded value
// sign(v) ||v|| level / s is unbiased. Payload: f32 norm per bucket, then one bit stream of the
// elements' Elias gamma codes of level + 1, each followed by a sign bit (1: negative) when the
// level is above 0; bits fill bytes from the least significant, the last byte padded with zeros.
#include <bit>
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/bits.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/random_draws.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class Qsgd final : public DenseCodec {
 public:
  Qsgd(const CodecSpec& spec, std::string name, std::size_t n)
      : DenseCodec(spec, std::move(name), n), levels_(static_cast<std::uint32_t>(std::stoul(spec.values.at("levels")))),
        bucket_(std::stoul(spec.values.at("bucket"))) {}

  std::vector<std::byte> payload_of(const std::vector<float>& p, const StepContext& step) override {
    const std::size_t n = size(), buckets = (n + bucket_ - 1) / bucket_;
    auto generator = learner_generator(step.seed, step.step, step.tensor, step.learner);
    std::vector<std::byte> payload(4 * buckets);
    std::vector<float> norms(buckets);
    for (std::size_t b = 0; b < buckets; ++b) {
      double squares = 0.0;  // in index order
      for (std::size_t i = b * bucket_; i < std::min(n, (b + 1) * bucket_); ++i)
        squares += static_cast<double>(p[i]) * p[i];
      norms[b] = static_cast<float>(std::sqrt(squares));
      put_at<float>(payload, 4 * b, norms[b]);
    }
    BitWriter bits(payload);
    for (std::size_t i = 0; i < n; ++i) {
      const double norm = norms[i / bucket_];
      std::uint32_t level = 0;
      if (norm > 0) {
        const double r = std::min<double>(levels_, levels_ * std::fabs(static_cast<double>(p[i])) / norm);
        level = static_cast<std::uint32_t>(std::floor(r));
        if (level < levels_ && bernoulli(generator, r - level)) ++level;
      }
      // Elias gamma of level + 1: its width - 1 zero bits, then its bits from the most significant
      const auto width = static_cast<unsigned>(std::bit_width(level + 1));
      for (unsigned z = 1; z < width; ++z) bits.bit(0);
      bits.high_first(level + 1, width);
      if (level) bits.bit(p[i] < 0.0f);
    }
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    const std::size_t n = size(), buckets = (n + bucket_ - 1) / bucket_;
    auto refuse = [&](std::size_t bit, const std::string& what) {
      fail_input("tensor '" + name() + "': qsgd payload byte offset " + std::to_string(4 * buckets + bit / 8) + ": " +
                 what);
    };
    if (payload.size() < 4 * buckets)
      fail_input("tensor '" + name() + "': qsgd payload of " + std::to_string(payload.size()) + " bytes, below the " +
                 std::to_string(4 * buckets) + " of its bucket norms");
    for (std::size_t b = 0; b < buckets; ++b) {
      const float norm = get<float>(payload, 4 * b);
      if (!(std::isfinite(norm) && norm >= 0.0f))
        fail_input("tensor '" + name() + "': qsgd payload byte offset " + std::to_string(4 * b) +
                   ": a bucket norm is not a finite value >= 0");
    }
    const auto stream = payload.subspan(4 * buckets);
    const std::size_t available = 8 * stream.size();
    std::size_t at = 0;
    auto next = [&](std::size_t element) -> unsigned {
      if (at >= available) refuse(at, "the payload ends inside element " + std::to_string(element));
      return packed_field(stream, at++, 1);
    };
    const int max_width = std::bit_width(levels_ + 1);
    for (std::size_t i = 0; i < n; ++i) {
      int zeros = 0;
      while (next(i) == 0)
        if (++zeros >= max_width)
          refuse(at, "element " + std::to_string(i) + " has a level above " + std::to_string(levels_));
      std::uint32_t x = 1;
      for (int k = 0; k < zeros; ++k) x = (x << 1) | next(i);
      const std::uint32_t level = x - 1;
      if (level > levels_)
        refuse(at, "element " + std::to_string(i) + " has the level " + std::to_string(level) + ", above " +
                       std::to_string(levels_));
      const bool negative = level && next(i);
      const double value = static_cast<double>(get<float>(payload, 4 * (i / bucket_))) * level / levels_;
      out[i] = static_cast<float>(negative ? -value : value);
    }
    if ((at + 7) / 8 != stream.size()) refuse(at, "bytes after the last element");
    check_padding(payload, 4 * buckets, at, name(), "qsgd");
  }

 private:
  std::uint32_t levels_;
  std::size_t bucket_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_qsgd(const CodecSpec& spec, const std::string& name, const Shape&, std::size_t n) {
  return std::make_unique<Qsgd>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
