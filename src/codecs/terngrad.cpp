// TernGrad (Wen et al., NeurIPS 2017) as wenwei202/terngrad does it without its options (no
// gradient clipping, no scalar sharing): s = max |p| over the tensor; each element is sign(p) s
// with probability |p| / s, else 0, which is unbiased. Payload: f32 s, then 2 bits per element,
// the code sign + 1 (0: -s, 1: 0, 2: +s).
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/bits.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/random_draws.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class TernGrad final : public DenseCodec {
 public:
  TernGrad(const CodecSpec& spec, std::string name, std::size_t n) : DenseCodec(spec, std::move(name), n) {}

  std::vector<std::byte> payload_of(const std::vector<float>& p, const StepContext& step) override {
    float s = 0.0f;
    for (float v : p) s = std::max(s, std::fabs(v));
    auto generator = learner_generator(step.seed, step.step, step.tensor, step.learner);
    std::vector<std::byte> payload(4 + packed_bytes(size(), 2), std::byte{0});
    put_at<float>(payload, 0, s);
    pack_fields(std::span(payload).subspan(4), size(), 2, [&](std::size_t i) {
      if (s == 0.0f || !bernoulli(generator, std::fabs(static_cast<double>(p[i])) / s)) return 1u;
      return p[i] < 0.0f ? 0u : 2u;
    });
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    check_size(payload, 4 + packed_bytes(size(), 2), name(), "terngrad");
    check_padding(payload, 4, 2 * size(), name(), "terngrad");
    const float s = get<float>(payload, 0);
    if (!(std::isfinite(s) && s >= 0.0f))
      fail_input("tensor '" + name() + "': terngrad payload byte offset 0: the scale is not a finite value >= 0");
    const auto codes = payload.subspan(4);
    for (std::size_t i = 0; i < size(); ++i) {
      const std::uint32_t code = packed_field(codes, i, 2);
      if (code == 3)
        fail_input("tensor '" + name() + "': terngrad payload byte offset " + std::to_string(4 + i / 4) + ": element " +
                   std::to_string(i) + " has the code 3, which is no ternary value");
      out[i] = code == 1 ? 0.0f : (code == 0 ? -s : s);
    }
  }

 private:
};

}  // namespace

std::unique_ptr<TensorCodec> make_terngrad(const CodecSpec& spec, const std::string& name, const Shape&,
                                           std::size_t n) {
  return std::make_unique<TernGrad>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
