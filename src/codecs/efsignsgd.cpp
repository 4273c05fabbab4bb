// EF-SignSGD (Karimireddy et al., ICML 2019) with GRACE's payload: delta = (||p||_1 / n) sign(p);
// payload f32 scale, then one bit per element, 1 iff p < 0. One bit cannot carry the paper's
// sign(0) = 0, so p = 0 is sent as +scale, as GRACE's bit (p >= 0) does.
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/bits.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class EfSignSgd final : public DenseCodec {
 public:
  EfSignSgd(const CodecSpec& spec, std::string name, std::size_t n) : DenseCodec(spec, std::move(name), n) {}

  std::vector<std::byte> payload_of(const std::vector<float>& p, const StepContext&) override {
    double l1 = 0.0;  // in index order
    for (float v : p) l1 += std::fabs(static_cast<double>(v));
    const float scale = size() ? static_cast<float>(l1 / static_cast<double>(size())) : 0.0f;
    std::vector<std::byte> payload(4 + packed_bytes(size(), 1), std::byte{0});
    put_at<float>(payload, 0, scale);
    pack_fields(std::span(payload).subspan(4), size(), 1, [&](std::size_t i) { return p[i] < 0.0f ? 1u : 0u; });
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    check_size(payload, 4 + packed_bytes(size(), 1), name(), "efsignsgd");
    check_padding(payload, 4, size(), name(), "efsignsgd");
    const float scale = get<float>(payload, 0);
    if (!(std::isfinite(scale) && scale >= 0.0f))
      fail_input("tensor '" + name() + "': efsignsgd payload byte offset 0: the scale is not a finite value >= 0");
    const auto bits = payload.subspan(4);
    for (std::size_t i = 0; i < size(); ++i) out[i] = packed_field(bits, i, 1) ? -scale : scale;
  }

 private:
};

}  // namespace

std::unique_ptr<TensorCodec> make_efsignsgd(const CodecSpec& spec, const std::string& name,
                                            const std::vector<std::uint64_t>&, std::size_t n) {
  return std::make_unique<EfSignSgd>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
