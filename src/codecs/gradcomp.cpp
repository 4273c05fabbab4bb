// AdaComp as GradComp implements it (maysarahammouda/GradComp, compressor/adacomp.py at
// bb25b75e): G = memory + g, H = G + c g; one maximum gmax = max |G| over the whole tensor (no
// bins); every element with |H| >= gmax is sent with its value H; memory = G - decoded. Payload:
// the reference's two tensors, the f32 values then the i64 indices (increasing). Another
// revision of that file (1aaf3656) compares H >= gmax without the absolute value; this follows
// the paper's |H|.
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class GradCompAdaComp final : public TensorCodec {
 public:
  GradCompAdaComp(const CodecSpec& spec, std::string name, std::size_t n)
      : name_(std::move(name)), n_(n), c_(std::stof(spec.values.at("c"))), memory_(true, n) {}

  std::vector<std::byte> encode(std::span<const float> gradient, const StepContext&) override {
    compensated(memory_, gradient, name_, p_);  // G
    float gmax = 0.0f;
    for (float v : p_) gmax = std::max(gmax, std::fabs(v));
    h_.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) h_[i] = p_[i] + c_ * gradient[i];
    check_finite(h_, name_, "memory + (1 + c) gradient");
    indices_.clear();
    for (std::size_t i = 0; i < n_; ++i)
      if (std::fabs(h_[i]) >= gmax) indices_.push_back(static_cast<std::uint32_t>(i));
    const std::size_t count = indices_.size();
    std::vector<std::byte> payload(12 * count);
    for (std::size_t e = 0; e < count; ++e) {
      put_at<float>(payload, 4 * e, h_[indices_[e]]);
      put_at<std::int64_t>(payload, 4 * count + 8 * e, indices_[e]);
    }
    decoded_.assign(n_, 0.0f);
    for (std::uint32_t i : indices_) decoded_[i] = h_[i];
    memory_.keep_difference(p_, decoded_);
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    decode_values_then_indices<std::int64_t>(payload, out, name_, "gradcomp");
  }

 private:
  std::string name_;
  std::size_t n_;
  float c_;
  ErrorFeedback memory_;
  std::vector<float> p_, h_, decoded_;
  std::vector<std::uint32_t> indices_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_gradcomp(const CodecSpec& spec, const std::string& name,
                                           const std::vector<std::uint64_t>&, std::size_t n) {
  return std::make_unique<GradCompAdaComp>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
