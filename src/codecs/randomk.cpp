// random-k: k indices drawn uniformly without replacement from a seed every learner shares for the
// step and tensor, so the payload is the f32 values alone, in increasing index order; values exact.
#include "adacomp/error.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/random_draws.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class RandomK final : public TensorCodec {
 public:
  RandomK(const CodecSpec& spec, std::string name, std::size_t n)
      : name_(std::move(name)), n_(n), k_(selected_count(n, ratio_parameter(spec))), memory_(ef_parameter(spec), n) {}

  std::vector<std::byte> encode(std::span<const float> gradient, const StepContext& step) override {
    compensated(memory_, gradient, name_, p_);
    const std::vector<std::uint32_t> indices = draw(step);
    std::vector<std::byte> payload;
    payload.reserve(4 * k_);
    for (std::uint32_t i : indices) put<float>(payload, p_[i]);
    memory_.keep_unsent(p_, indices);
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext& step, std::span<float> out) const override {
    if (payload.size() != 4 * k_)
      fail_input("tensor '" + name_ + "': random-k payload of " + std::to_string(payload.size()) + " bytes, expected " +
                 std::to_string(4 * k_) + " (" + std::to_string(k_) + " values)");
    std::fill(out.begin(), out.end(), 0.0f);
    const std::vector<std::uint32_t> indices = draw(step);
    for (std::size_t e = 0; e < k_; ++e) out[indices[e]] = get<float>(payload, 4 * e);
  }

 private:
  std::vector<std::uint32_t> draw(const StepContext& step) const {
    auto generator = generator_for(step.seed, step.step, step.tensor);
    return sample_without_replacement(generator, n_, k_);
  }

  std::string name_;
  std::size_t n_, k_;
  ErrorFeedback memory_;
  std::vector<float> p_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_randomk(const CodecSpec& spec, const std::string& name,
                                          const std::vector<std::uint64_t>&, std::size_t n) {
  return std::make_unique<RandomK>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
