// 3LC (Lim, Andersen & Kaminsky, SysML 2019): M = max |p|, q = round(p / (M s)) in {-1, 0, 1}
// with the sparsity multiplier s in [1, 2) (a larger s, more zeros), decoded as q M s; error
// feedback keeps p - decoded. Quartic encoding: five ternaries per byte, sum over j of
// (q[5g + j] + 1) 3^j (element 5g first, least significant), the tensor padded with zeros to a
// multiple of five, so a group of zeros is byte 121; zero-run encoding: a run of r = 2..14 such
// bytes is one byte 243 + r - 2. Payload: f32 M s, then the bytes. Rounding is half away from
// zero (|p| = M s / 2 sends +-1). The paper's own code is not public; this follows its text.
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

constexpr unsigned kZeroGroup = 121, kFirstRun = 243, kLongestRun = 14;

class ThreeLc final : public DenseCodec {
 public:
  ThreeLc(const CodecSpec& spec, std::string name, std::size_t n)
      : DenseCodec(spec, std::move(name), n), sparsity_(std::stof(spec.values.at("s"))) {}

  std::vector<std::byte> payload_of(const std::vector<float>& p, const StepContext&) override {
    float m = 0.0f;
    for (float v : p) m = std::max(m, std::fabs(v));
    const float step = m * sparsity_;
    std::vector<std::byte> payload(4);
    put_at<float>(payload, 0, step);
    const std::size_t groups = (size() + 4) / 5;
    std::size_t run = 0;
    auto flush = [&] {
      while (run >= 2) {
        const std::size_t r = std::min<std::size_t>(run, kLongestRun);
        payload.push_back(std::byte(kFirstRun + r - 2));
        run -= r;
      }
      if (run == 1) payload.push_back(std::byte(kZeroGroup));
      run = 0;
    };
    for (std::size_t g = 0; g < groups; ++g) {
      unsigned byte = 0, weight = 1;
      for (std::size_t j = 0; j < 5; ++j, weight *= 3) {
        const std::size_t i = 5 * g + j;
        int q = 0;
        if (i < size() && step > 0.0f) q = static_cast<int>(std::round(p[i] / step));
        byte += static_cast<unsigned>(std::clamp(q, -1, 1) + 1) * weight;
      }
      if (byte == kZeroGroup) {
        ++run;
        continue;
      }
      flush();
      payload.push_back(std::byte(byte));
    }
    flush();
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    const std::string what = "tensor '" + name() + "': threelc payload ";
    if (payload.size() < 4) fail_input(what + "of " + std::to_string(payload.size()) + " bytes: no f32 scale");
    const float step = get<float>(payload, 0);
    if (!(std::isfinite(step) && step >= 0.0f))
      fail_input(what + "byte offset 0: the scale is not a finite value >= 0");
    const std::size_t groups = (size() + 4) / 5;
    std::size_t g = 0;
    for (std::size_t at = 4; at < payload.size(); ++at) {
      const unsigned byte = std::to_integer<unsigned>(payload[at]);
      const std::size_t run = byte >= kFirstRun ? byte - kFirstRun + 2 : 1;
      if (g + run > groups)
        fail_input(what + "byte offset " + std::to_string(at) + ": more than the tensor's " + std::to_string(groups) +
                   " groups of five");
      if (byte >= kFirstRun) {
        for (std::size_t i = 5 * g; i < std::min(size(), 5 * (g + run)); ++i) out[i] = 0.0f;
        g += run;
        continue;
      }
      unsigned rest = byte;
      for (std::size_t j = 0; j < 5; ++j, rest /= 3) {
        const std::size_t i = 5 * g + j;
        const int q = static_cast<int>(rest % 3) - 1;
        if (i < size())
          out[i] = static_cast<float>(q) * step;
        else if (q != 0)
          fail_input(what + "byte offset " + std::to_string(at) + ": the padding past the tensor's end is not zero");
      }
      ++g;
    }
    if (g != groups)
      fail_input(what + "of " + std::to_string(payload.size()) + " bytes: " + std::to_string(g) + " groups of five, " +
                 "the tensor has " + std::to_string(groups));
  }

 private:
  float sparsity_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_threelc(const CodecSpec& spec, const std::string& name,
                                          const std::vector<std::uint64_t>&, std::size_t n) {
  return std::make_unique<ThreeLc>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
