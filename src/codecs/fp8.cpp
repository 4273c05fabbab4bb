// FP8 casting, the asymmetric-FP8 training formats (Sun et al. NeurIPS 2019; OCP 8-bit floating
// point): scale = max |p| / (the format's largest finite), each element the FP8 code of p / scale,
// rounded to nearest even (saturating), decoded as value(code) * scale. Payload: f32 scale, then
// one code per element. Error feedback only with ef=1.
#include <algorithm>
#include <cmath>

#include "adacomp/dtype.hpp"
#include "adacomp/error.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class Fp8 final : public DenseCodec {
 public:
  Fp8(const CodecSpec& spec, std::string name, std::size_t n)
      : DenseCodec(spec, std::move(name), n),
        format_(spec.values.at("format") == "e4m3" ? DType::f8e4m3 : DType::f8e5m2),
        max_finite_(static_cast<float>(dtype_largest(format_))) {}

  std::vector<std::byte> payload_of(const std::vector<float>& p, const StepContext&) override {
    float m = 0.0f;
    for (float v : p) m = std::max(m, std::fabs(v));
    const float scale = m / max_finite_;
    std::vector<std::byte> payload(4 + size());
    put_at<float>(payload, 0, scale);
    for (std::size_t i = 0; i < size(); ++i)
      payload[4 + i] =
          std::byte(scale > 0.0f ? f32_to_fp8(std::clamp(p[i] / scale, -max_finite_, max_finite_), format_) : 0);
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    check_size(payload, 4 + size(), name(), "fp8");
    const float scale = get<float>(payload, 0);
    if (!(std::isfinite(scale) && scale >= 0.0f))
      fail_input("tensor '" + name() + "': fp8 payload byte offset 0: the scale is not a finite value >= 0");
    for (std::size_t i = 0; i < size(); ++i) {
      const float value = fp8_to_f32(std::to_integer<std::uint8_t>(payload[4 + i]), format_);
      if (!std::isfinite(value))
        fail_input("tensor '" + name() + "': fp8 payload byte offset " + std::to_string(4 + i) +
                   ": an Inf or NaN code, which the encoder never writes");
      out[i] = value * scale;
    }
  }

 private:
  DType format_;
  float max_finite_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_fp8(const CodecSpec& spec, const std::string& name, const std::vector<std::uint64_t>&,
                                      std::size_t n) {
  return std::make_unique<Fp8>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
