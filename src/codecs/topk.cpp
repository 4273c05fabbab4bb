// top-k (Aji & Heafield 2017; Stich et al. 2018) as GRACE and BytePS do it: the k largest |p|, their
// values exact; payload u32 index + f32 value per selected element, in increasing index order.
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class TopK final : public TensorCodec {
 public:
  TopK(const CodecSpec& spec, std::string name, std::size_t n)
      : name_(std::move(name)), n_(n), k_(selected_count(n, ratio_parameter(spec))), memory_(ef_parameter(spec), n) {}

  std::vector<std::byte> encode(std::span<const float> gradient, const StepContext&) override {
    compensated(memory_, gradient, name_, p_);
    indices_ = largest_k(n_, k_, order_, [this](std::uint32_t i) { return std::fabs(p_[i]); });
    std::vector<std::byte> payload;
    payload.reserve(8 * k_);
    for (std::uint32_t i : indices_) {
      put<std::uint32_t>(payload, i);
      put<float>(payload, p_[i]);
    }
    memory_.keep_unsent(p_, indices_);
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    if (payload.size() != 8 * k_)
      fail_input("tensor '" + name_ + "': top-k payload of " + std::to_string(payload.size()) + " bytes, expected " +
                 std::to_string(8 * k_) + " (" + std::to_string(k_) + " entries of 8 bytes)");
    std::fill(out.begin(), out.end(), 0.0f);
    std::uint64_t next = 0;  // the lowest index the next entry may have
    for (std::size_t e = 0; e < k_; ++e) {
      const auto index = get<std::uint32_t>(payload, 8 * e);
      if (index < next || index >= n_)
        fail_input("tensor '" + name_ + "': top-k payload byte offset " + std::to_string(8 * e) + ": index " +
                   std::to_string(index) +
                   (index >= n_ ? " is past the tensor's " + std::to_string(n_) + " elements"
                                : " does not follow the previous index"));
      out[index] = get<float>(payload, 8 * e + 4);
      next = std::uint64_t{index} + 1;
    }
  }

 private:
  std::string name_;
  std::size_t n_, k_;
  ErrorFeedback memory_;
  std::vector<float> p_;
  std::vector<std::uint32_t> indices_, order_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_topk(const CodecSpec& spec, const std::string& name,
                                       const std::vector<std::uint64_t>&, std::size_t n) {
  return std::make_unique<TopK>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
