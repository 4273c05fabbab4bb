// Sparse binary compression (Sattler et al., IEEE TNNLS 2019, "Robust and Communication-Efficient
// Federated Learning from Non-IID Data"): of p = memory + g, the k most positive and the k most
// negative elements (k = max(1, floor(n ratio))); the side whose mean magnitude is larger is sent,
// every element of it as that side's mean; error feedback keeps the rest. Payload: u32 count, f32
// value (the signed mean), then the position gaps in Golomb (Rice) codes of the paper's parameter
// b* = 1 + floor(log2(ln(phi - 1) / ln(1 - ratio))), phi the golden ratio.
#include <algorithm>
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/bits.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

unsigned rice_parameter(double ratio) {
  const double phi = (1.0 + std::sqrt(5.0)) / 2.0;
  if (ratio >= 1.0) return 0;
  const double b = 1.0 + std::floor(std::log2(std::log(phi - 1.0) / std::log(1.0 - ratio)));
  return static_cast<unsigned>(std::clamp(b, 0.0, 31.0));
}

class Sbc final : public TensorCodec {
 public:
  Sbc(const CodecSpec& spec, std::string name, std::size_t n)
      : name_(std::move(name)), n_(n), ratio_(ratio_parameter(spec)), k_(selected_count(n, ratio_)),
        rice_(rice_parameter(ratio_)), memory_(ef_parameter(spec), n) {}

  std::vector<std::byte> encode(std::span<const float> gradient, const StepContext&) override {
    compensated(memory_, gradient, name_, p_);
    // The k largest values and the k smallest, each side keeping only elements of its sign; among
    // equal values the lower index first.
    std::vector<std::uint32_t> positive = extreme(true), negative = extreme(false);
    auto mean_magnitude = [&](const std::vector<std::uint32_t>& side) {
      double sum = 0.0;  // in index order
      for (std::uint32_t i : side) sum += std::fabs(static_cast<double>(p_[i]));
      return side.empty() ? 0.0 : sum / static_cast<double>(side.size());
    };
    const double up = mean_magnitude(positive), down = mean_magnitude(negative);
    const bool send_positive = up >= down;
    const std::vector<std::uint32_t>& sent = send_positive ? positive : negative;
    const float value = static_cast<float>(send_positive ? up : -down);
    std::vector<std::byte> payload(8);
    put_at<std::uint32_t>(payload, 0, static_cast<std::uint32_t>(sent.size()));
    put_at<float>(payload, 4, value);
    BitWriter bits(payload);
    std::uint64_t next = 0;
    for (std::uint32_t i : sent) {
      const std::uint64_t gap = i - next;  // elements skipped since the previous one
      for (std::uint64_t q = gap >> rice_; q > 0; --q) bits.bit(1);
      bits.bit(0);
      bits.high_first(gap, rice_);
      next = std::uint64_t{i} + 1;
    }
    if (memory_.enabled()) {
      std::vector<float> decoded(n_, 0.0f);
      for (std::uint32_t i : sent) decoded[i] = value;
      memory_.keep_difference(p_, decoded);
    }
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    if (payload.size() < 8)
      fail_input("tensor '" + name_ + "': sbc payload of " + std::to_string(payload.size()) +
                 " bytes, below its 8-byte header");
    const auto count = get<std::uint32_t>(payload, 0);
    const float value = get<float>(payload, 4);
    if (count > k_)
      fail_input("tensor '" + name_ + "': sbc payload byte offset 0: " + std::to_string(count) +
                 " elements, above k = " + std::to_string(k_));
    if (!std::isfinite(value)) fail_input("tensor '" + name_ + "': sbc payload byte offset 4: the value is not finite");
    const auto stream = payload.subspan(8);
    std::size_t at = 0;
    auto refuse = [&](const std::string& what) {
      fail_input("tensor '" + name_ + "': sbc payload byte offset " + std::to_string(8 + at / 8) + ": " + what);
    };
    auto next_bit = [&]() -> unsigned {
      if (at >= 8 * stream.size()) refuse("the payload ends inside a position");
      return packed_field(stream, at++, 1);
    };
    std::fill(out.begin(), out.end(), 0.0f);
    std::uint64_t position = 0;
    for (std::uint32_t e = 0; e < count; ++e) {
      std::uint64_t quotient = 0;
      while (next_bit())
        if (++quotient > (n_ >> rice_)) refuse("a position gap runs past the tensor");
      std::uint64_t gap = quotient << rice_;
      for (unsigned b = 0; b < rice_; ++b) gap |= std::uint64_t{next_bit()} << (rice_ - 1 - b);
      position += gap;
      if (position >= n_) refuse("position " + std::to_string(position) + " is past the tensor");
      out[position] = value;
      ++position;
    }
    if ((at + 7) / 8 != stream.size()) refuse("bytes after the last position");
    check_padding(payload, 8, at, name_, "sbc");
  }

 private:
  std::vector<std::uint32_t> extreme(bool positive) {
    std::vector<std::uint32_t> side =
        largest_k(n_, k_, order_, [&](std::uint32_t i) { return positive ? p_[i] : -p_[i]; });
    std::erase_if(side, [&](std::uint32_t i) { return positive ? !(p_[i] > 0.0f) : !(p_[i] < 0.0f); });
    return side;
  }

  std::string name_;
  std::size_t n_;
  double ratio_;
  std::size_t k_;
  unsigned rice_;
  ErrorFeedback memory_;
  std::vector<float> p_;
  std::vector<std::uint32_t> order_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_sbc(const CodecSpec& spec, const std::string& name, const Shape&, std::size_t n) {
  return std::make_unique<Sbc>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
