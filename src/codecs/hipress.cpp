// AdaComp as HiPress implements it (mark14wu/hipress-mxnet, src/operator/contrib/ada_comp-inl.h):
// the residue R takes the gradient W (G = R + W), H = G + W looks one step ahead; per bin of T
// elements gmax = max |G|; an element is sent iff |H| >= its bin's gmax, as the sign of G times
// one value v, the mean over all bins of gmax; R -= sign * v at the sent elements. Payload: i32
// payload size in bytes, f32 v, i32 index per sent element (increasing), then one bit per sent
// element (1 iff G > 0), least significant bit first. Unlike the paper (and adacomp), a bin whose
// gmax is 0 sends every element, G = 0 is sent as -v, and v is one value for the whole tensor.
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/bits.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class HiPressAdaComp final : public TensorCodec {
 public:
  HiPressAdaComp(const CodecSpec& spec, std::string name, std::size_t n)
      : name_(std::move(name)), n_(n), bin_(std::stoul(spec.values.at("T"))), residue_(n, 0.0f) {}

  std::vector<std::byte> encode(std::span<const float> gradient, const StepContext&) override {
    check_finite(gradient, name_);
    h_.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) {
      residue_[i] += gradient[i];  // G
      h_[i] = residue_[i] + gradient[i];
    }
    check_finite(residue_, name_, "residue + gradient");
    check_finite(h_, name_, "residue + 2 gradient");
    const std::size_t bins = (n_ + bin_ - 1) / bin_;
    gmax_.assign(bins, 0.0f);
    for (std::size_t i = 0; i < n_; ++i) gmax_[i / bin_] = std::max(gmax_[i / bin_], std::fabs(residue_[i]));
    float sum = 0.0f;  // in bin order, in float32 as the reference's reduce
    for (float g : gmax_) sum += g;
    const float v = bins ? sum / static_cast<float>(bins) : 0.0f;
    indices_.clear();
    for (std::size_t i = 0; i < n_; ++i)
      if (std::fabs(h_[i]) >= gmax_[i / bin_]) indices_.push_back(static_cast<std::uint32_t>(i));
    const std::size_t count = indices_.size(), size = 8 + 4 * count + packed_bytes(count, 1);
    if (size > INT32_MAX) fail_input("tensor '" + name_ + "': the hipress payload exceeds its i32 size field");
    std::vector<std::byte> payload(size, std::byte{0});
    put_at<std::int32_t>(payload, 0, static_cast<std::int32_t>(size));
    put_at<float>(payload, 4, v);
    for (std::size_t e = 0; e < count; ++e)
      put_at<std::int32_t>(payload, 8 + 4 * e, static_cast<std::int32_t>(indices_[e]));
    pack_fields(std::span(payload).subspan(8 + 4 * count), count, 1,
                [&](std::size_t e) { return residue_[indices_[e]] > 0.0f ? 1u : 0u; });
    for (std::uint32_t i : indices_) residue_[i] -= residue_[i] > 0.0f ? v : -v;
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    const std::string what = "tensor '" + name_ + "': hipress payload ";
    if (payload.size() < 8)
      fail_input(what + "of " + std::to_string(payload.size()) + " bytes: shorter than its 8-byte header");
    const auto size = get<std::int32_t>(payload, 0);
    if (size < 0 || static_cast<std::size_t>(size) != payload.size())
      fail_input(what + "byte offset 0: size field " + std::to_string(size) + ", the payload has " +
                 std::to_string(payload.size()) + " bytes");
    // 8 + 4c + ceil(c / 8) bytes for c entries: c = floor(32 (size - 8) / 33) / 4 as the reference
    const std::size_t count = (32 * (payload.size() - 8) / 33) / 4;
    if (8 + 4 * count + packed_bytes(count, 1) != payload.size() || count > n_)
      fail_input(what + "of " + std::to_string(payload.size()) + " bytes: no entry count fits it");
    const float v = get<float>(payload, 4);
    if (!(std::isfinite(v) && v >= 0.0f)) fail_input(what + "byte offset 4: the value is not a finite value >= 0");
    check_padding(payload, 8 + 4 * count, count, name_, "hipress");
    std::fill(out.begin(), out.end(), 0.0f);
    const auto signs = payload.subspan(8 + 4 * count);
    std::int64_t previous = -1;
    for (std::size_t e = 0; e < count; ++e) {
      const auto index = get<std::int32_t>(payload, 8 + 4 * e);
      check_next_index(index, previous, n_, name_, "hipress", 8 + 4 * e);
      out[static_cast<std::size_t>(index)] = packed_field(signs, e, 1) ? v : -v;
      previous = index;
    }
  }

 private:
  std::string name_;
  std::size_t n_, bin_;
  std::vector<float> residue_, h_, gmax_;
  std::vector<std::uint32_t> indices_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_hipress(const CodecSpec& spec, const std::string& name,
                                          const std::vector<std::uint64_t>&, std::size_t n) {
  return std::make_unique<HiPressAdaComp>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
