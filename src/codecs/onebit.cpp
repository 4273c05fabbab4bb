// 1-bit SGD (Seide et al., Interspeech 2014) as CNTK's ColumnQuantizer does it with the zero
// threshold: the tensor as a matrix [shape0, -1], and per column j (the elements i * columns + j)
// bit = (v >= 0), decoded to the mean of the column's non-negative values for 1 and of its
// negative values for 0 (a mean over no element is 0). Payload: per column f32 mean of the
// negatives then f32 mean of the non-negatives, all columns in order, then one bit per element in
// C order. A tensor of rank <= 1 is one column, as GRACE's onebit treats every tensor.
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/bits.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

class OneBit final : public DenseCodec {
 public:
  OneBit(const CodecSpec& spec, std::string name, const std::vector<std::uint64_t>& shape, std::size_t n)
      : DenseCodec(spec, std::move(name), n) {
    columns_ = shape.size() >= 2 && shape[0] > 0 ? n / shape[0] : 1;
  }

  std::vector<std::byte> payload_of(const std::vector<float>& p, const StepContext&) override {
    std::vector<double> sum[2] = {std::vector<double>(columns_, 0.0), std::vector<double>(columns_, 0.0)};
    std::vector<std::uint64_t> count[2] = {std::vector<std::uint64_t>(columns_, 0),
                                           std::vector<std::uint64_t>(columns_, 0)};
    for (std::size_t i = 0; i < size(); ++i) {  // index order
      const int bit = p[i] >= 0.0f;
      sum[bit][i % columns_] += p[i];
      ++count[bit][i % columns_];
    }
    const std::size_t header = size() ? 8 * columns_ : 0;
    std::vector<std::byte> payload(header + packed_bytes(size(), 1), std::byte{0});
    for (std::size_t j = 0; size() && j < columns_; ++j)
      for (int bit : {0, 1})
        put_at<float>(payload, 8 * j + 4 * static_cast<std::size_t>(bit),
                      count[bit][j] ? static_cast<float>(sum[bit][j] / static_cast<double>(count[bit][j])) : 0.0f);
    pack_fields(std::span(payload).subspan(header), size(), 1, [&](std::size_t i) { return p[i] >= 0.0f ? 1u : 0u; });
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    const std::size_t header = size() ? 8 * columns_ : 0;
    check_size(payload, header + packed_bytes(size(), 1), name(), "onebit");
    check_padding(payload, header, size(), name(), "onebit");
    for (std::size_t j = 0; size() && j < columns_; ++j)
      for (std::size_t m = 0; m < 2; ++m)
        if (!std::isfinite(get<float>(payload, 8 * j + 4 * m)))
          fail_input("tensor '" + name() + "': onebit payload byte offset " + std::to_string(8 * j + 4 * m) +
                     ": a column mean is not finite");
    const auto bits = payload.subspan(header);
    for (std::size_t i = 0; i < size(); ++i)
      out[i] = get<float>(payload, 8 * (i % columns_) + 4 * packed_field(bits, i, 1));
  }

 private:
  std::size_t columns_ = 1;
};

}  // namespace

std::unique_ptr<TensorCodec> make_onebit(const CodecSpec& spec, const std::string& name,
                                         const std::vector<std::uint64_t>& shape, std::size_t n) {
  return std::make_unique<OneBit>(spec, name, shape, n);
}

}  // namespace adacomp::codecs::detail
