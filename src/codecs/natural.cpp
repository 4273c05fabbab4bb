// Natural compression (Horvath et al., 2019): each element x is rounded to one of the two signed
// powers of two around it, up with probability (|x| - low) / low where low <= |x| < 2 low, which
// is unbiased. A subnormal x rounds to 2^-126 with probability |x| / 2^-126, else to 0. Payload: 9
// bits per element, the binary32 sign (bit 8) and biased exponent (bits 0-7) of the result; 0 is
// the exponent 0 with the sign 0. |x| above 2^127 cannot round up (2^128 is not finite) and is sent
// as 2^127: gradients are never that large.
#include <bit>
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/bits.hpp"
#include "codecs/factories.hpp"
#include "codecs/random_draws.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class Natural final : public DenseCodec {
 public:
  Natural(const CodecSpec& spec, std::string name, std::size_t n) : DenseCodec(spec, std::move(name), n) {}

  std::vector<std::byte> payload_of(const std::vector<float>& p, const StepContext& step) override {
    auto generator = learner_generator(step.seed, step.step, step.tensor, step.learner);
    std::vector<std::byte> payload(packed_bytes(size(), 9), std::byte{0});
    pack_fields(payload, size(), 9, [&](std::size_t i) { return code_of(p[i], generator); });
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    check_size(payload, packed_bytes(size(), 9), name(), "natural");
    check_padding(payload, 0, 9 * size(), name(), "natural");
    for (std::size_t i = 0; i < size(); ++i) {
      const std::uint32_t code = packed_field(payload, i, 9), exponent = code & 0xffu, sign = code >> 8;
      if (exponent == 0xff || (exponent == 0 && sign))
        fail_input("tensor '" + name() + "': natural payload byte offset " + std::to_string(9 * i / 8) + ": element " +
                   std::to_string(i) + " has the code " + std::to_string(code) + ", which is no power of two");
      out[i] = std::bit_cast<float>((sign << 31) | (exponent << 23));
    }
  }

 private:
  static std::uint32_t code_of(float x, std::mt19937_64& generator) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    const std::uint32_t sign = bits >> 31, exponent = (bits >> 23) & 0xffu;
    if ((bits & 0x7fffffffu) == 0) return 0;
    const double magnitude = std::fabs(static_cast<double>(x));
    if (exponent == 0)  // subnormal: between 0 and 2^-126
      return bernoulli(generator, magnitude / 0x1p-126) ? (sign << 8) | 1u : 0u;
    const double low = std::ldexp(1.0, static_cast<int>(exponent) - 127);
    const bool up = magnitude > low && exponent < 254 && bernoulli(generator, (magnitude - low) / low);
    return (sign << 8) | (exponent + (up ? 1u : 0u));
  }
};

}  // namespace

std::unique_ptr<TensorCodec> make_natural(const CodecSpec& spec, const std::string& name, const Shape&, std::size_t n) {
  return std::make_unique<Natural>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
