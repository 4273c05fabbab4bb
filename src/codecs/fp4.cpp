// Radix-4 FP4 without mantissa (Sun et al., "Ultra-low precision 4-bit training of deep neural
// networks", NeurIPS 2020, the gradients' [1,3,0] format): a 4-bit code, bit 3 the sign and bits
// 0-2 an exponent field e, stands for 0 (e = 0) or +-scale 4^(e - 7), e = 1..7. scale is the
// power of two 2^ceil(log2 max |p|), so the largest magnitude is at most scale. Each element
// rounds to the nearest representable magnitude, a tie to the smaller one. Payload: f32 scale,
// then the codes, element i in bits 4i..4i+3 (pack order of format_spec/codecs.md). The paper's
// two-phase rounding (alternating even and odd exponents between the two backward GEMMs) belongs
// to its training loop, not to a gradient exchange, and is left out.
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/bits.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

constexpr unsigned kTopField = 7;

unsigned fp4_field(double a) {  // a = |p| / scale in [0, 1]
  double lower = 1.0;
  for (unsigned e = kTopField; e >= 1; --e, lower /= 4) {
    if (a >= lower) {
      if (e == kTopField) return e;
      return a - lower > 4 * lower - a ? e + 1 : e;
    }
  }
  // below the smallest magnitude 4^-6 (lower is now 4^-7): 0 or 4^-6
  return a > 2 * lower ? 1 : 0;
}

class Fp4 final : public DenseCodec {
 public:
  Fp4(const CodecSpec& spec, std::string name, std::size_t n) : DenseCodec(spec, std::move(name), n) {}

  std::vector<std::byte> payload_of(const std::vector<float>& p, const StepContext&) override {
    float m = 0.0f;
    for (float v : p) m = std::max(m, std::fabs(v));
    const float scale =
        m > 0.0f ? std::ldexp(1.0f, std::ilogb(m) + (m == std::ldexp(1.0f, std::ilogb(m)) ? 0 : 1)) : 0.0f;
    if (!std::isfinite(scale))
      fail_input("tensor '" + name() + "': fp4: the largest magnitude has no float32 power-of-two scale");
    std::vector<std::byte> payload(4 + packed_bytes(size(), 4), std::byte{0});
    put_at<float>(payload, 0, scale);
    pack_fields(std::span(payload).subspan(4), size(), 4, [&](std::size_t i) {
      if (scale == 0.0f) return 0u;
      const unsigned field = fp4_field(std::fabs(static_cast<double>(p[i])) / scale);
      return field == 0 ? 0u : field | (p[i] < 0.0f ? 8u : 0u);
    });
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    check_size(payload, 4 + packed_bytes(size(), 4), name(), "fp4");
    check_padding(payload, 4, 4 * size(), name(), "fp4");
    const float scale = get<float>(payload, 0);
    int exponent = 0;
    if (!(std::isfinite(scale) && scale >= 0.0f && (scale == 0.0f || std::frexp(scale, &exponent) == 0.5f)))
      fail_input("tensor '" + name() + "': fp4 payload byte offset 0: the scale is not 0 or a power of two");
    const auto codes = payload.subspan(4);
    for (std::size_t i = 0; i < size(); ++i) {
      const std::uint32_t code = packed_field(codes, i, 4), field = code & 7u;
      if (code == 8u)
        fail_input("tensor '" + name() + "': fp4 payload byte offset " + std::to_string(4 + i / 2) +
                   ": a negative zero, which the encoder never writes");
      const float magnitude =
          field ? std::ldexp(scale, 2 * (static_cast<int>(field) - static_cast<int>(kTopField))) : 0.0f;
      out[i] = (code & 8u) ? -magnitude : magnitude;
    }
  }
};

}  // namespace

std::unique_ptr<TensorCodec> make_fp4(const CodecSpec& spec, const std::string& name, const std::vector<std::uint64_t>&,
                                      std::size_t n) {
  return std::make_unique<Fp4>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
