// signSGD with majority vote (Bernstein et al., ICLR 2019; PermiJW/signSGD-with-Majority-Vote):
// each learner sends the sign of its gradient, 0 counted as +1; the update is the sign of the sum
// of the learners' signs (codec_runs.cpp aggregates). Payload: n 1-bit fields, 1 iff g < 0.
#include "codecs/bits.hpp"
#include "codecs/factories.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class SignSgd final : public TensorCodec {
 public:
  SignSgd(std::string name, std::size_t n) : name_(std::move(name)), n_(n) {}

  std::vector<std::byte> encode(std::span<const float> gradient, const StepContext&) override {
    check_finite(gradient, name_);
    std::vector<std::byte> payload(packed_bytes(n_, 1), std::byte{0});
    pack_fields(payload, n_, 1, [&](std::size_t i) { return gradient[i] < 0.0f ? 1u : 0u; });
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    check_size(payload, packed_bytes(n_, 1), name_, "signsgd");
    check_padding(payload, 0, n_, name_, "signsgd");
    for (std::size_t i = 0; i < n_; ++i) out[i] = packed_field(payload, i, 1) ? -1.0f : 1.0f;
  }

 private:
  std::string name_;
  std::size_t n_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_signsgd(const CodecSpec&, const std::string& name, const Shape&, std::size_t n) {
  return std::make_unique<SignSgd>(name, n);
}

}  // namespace adacomp::codecs::detail
