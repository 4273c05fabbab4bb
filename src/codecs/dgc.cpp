// Deep gradient compression (Lin et al., ICLR 2018) as synxlin/deep-gradient-compression does it
// (dgc/compression.py, dgc/memory.py at b929ca7a): tensors of rank >= 2 only; momentum correction
// u = m u + g, v = v + u (v is the memory); a threshold from a strided sample of |v| (1% of the
// elements, at least 2 / ratio), adapted up to 10 times (more than 1.3 k candidates: the exact
// k largest of them; fewer than 0.8 k: threshold x 0.8); the first k = ceil(n ratio) candidates
// in index order are sent with their values; momentum factor masking zeroes u and v where sent.
// Warm-up: for the codec's first `warmup` steps ratio_e = max(c^(e+1), ratio), c =
// ratio^(1 / (warmup + 1)). Payload: the f32 values, then the i32 indices (increasing). Tensors
// of rank < 2 are sent as f32 (the reference all-reduces them) and keep the optimizer's momentum;
// for the compressed ones the momentum lives here, so the replay's SGD runs them without it.
// Left out: local gradient clipping (off in the reference's default memory).
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/random_draws.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

constexpr double kSampleRatio = 0.01, kUpper = 1.3, kLower = 0.8;
constexpr int kAdaptations = 10;

struct Sampling {
  std::size_t selects, samples, top_samples, stride;
};

// The reference's DGCCompressor.initialize for one tensor and compress ratio.
Sampling sampling_for(std::size_t n, double ratio) {
  Sampling s{};
  const auto pct = static_cast<std::size_t>(std::ceil(static_cast<double>(n) * kSampleRatio));
  const auto cpr = static_cast<std::size_t>(std::ceil(2.0 / ratio));
  if (n <= cpr) {
    s.stride = 1;
    s.samples = n;
  } else {
    const std::size_t wanted = std::max(pct, cpr);
    long stride = static_cast<long>(std::ceil(static_cast<double>(n) / static_cast<double>(wanted) / 32.0)) * 32 + 1;
    while (stride > 8 && n / static_cast<std::size_t>(stride) < wanted) stride -= 8;
    s.stride = static_cast<std::size_t>(std::max(1l, stride));
    s.samples = n / s.stride;
  }
  s.top_samples = static_cast<std::size_t>(std::ceil(static_cast<double>(s.samples) * ratio));
  s.selects = static_cast<std::size_t>(std::ceil(static_cast<double>(n) * ratio));
  return s;
}

class Dgc final : public TensorCodec {
 public:
  Dgc(const CodecSpec& spec, std::string name, std::size_t n, bool compressed)
      : name_(std::move(name)), n_(n), compressed_(compressed), ratio_(ratio_parameter(spec)),
        momentum_(std::stof(spec.values.at("momentum"))), warmup_(std::stoul(spec.values.at("warmup"))),
        u_(compressed ? n : 0, 0.0f), v_(compressed ? n : 0, 0.0f) {}

  bool corrects_momentum() const override { return compressed_; }

  std::vector<std::byte> encode(std::span<const float> gradient, const StepContext& step) override {
    check_finite(gradient, name_);
    if (!compressed_) {
      std::vector<std::byte> payload(4 * n_);
      for (std::size_t i = 0; i < n_; ++i) put_at<float>(payload, 4 * i, gradient[i]);
      return payload;
    }
    for (std::size_t i = 0; i < n_; ++i) {
      u_[i] = momentum_ * u_[i] + gradient[i];
      v_[i] += u_[i];
    }
    check_finite(v_, name_, "momentum-corrected accumulation");
    const std::vector<std::uint32_t> indices = select(sampling_for(n_, ratio_at(steps_++)), step);
    const std::size_t count = indices.size();
    std::vector<std::byte> payload(8 * count);
    for (std::size_t e = 0; e < count; ++e) {
      put_at<float>(payload, 4 * e, v_[indices[e]]);
      put_at<std::int32_t>(payload, 4 * count + 4 * e, static_cast<std::int32_t>(indices[e]));
    }
    for (std::uint32_t i : indices) u_[i] = v_[i] = 0.0f;
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    if (!compressed_) {
      check_size(payload, 4 * n_, name_, "dgc (dense)");
      for (std::size_t i = 0; i < n_; ++i) out[i] = get<float>(payload, 4 * i);
      check_finite(out, name_, "dgc dense payload value");
      return;
    }
    decode_values_then_indices<std::int32_t>(payload, out, name_, "dgc");
  }

 private:
  double ratio_at(std::size_t e) const {
    if (e >= warmup_) return ratio_;
    const double coefficient = std::pow(ratio_, 1.0 / static_cast<double>(warmup_ + 1));
    return std::max(std::pow(coefficient, static_cast<double>(e + 1)), ratio_);
  }

  std::vector<std::uint32_t> candidates(float threshold) const {
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < n_; ++i)
      if (std::fabs(v_[i]) >= threshold) out.push_back(static_cast<std::uint32_t>(i));
    return out;
  }

  std::vector<std::uint32_t> select(const Sampling& s, const StepContext& step) {
    if (n_ == 0) return {};
    samples_.clear();
    std::size_t start = 0;
    if (s.samples != n_) {
      auto generator = learner_generator(step.seed, step.step, step.tensor, step.learner);
      start = static_cast<std::size_t>(uniform_below(generator, s.stride));
    }
    for (std::size_t i = start; i < n_; i += s.stride) samples_.push_back(std::fabs(v_[i]));
    const std::size_t top = std::min(std::max<std::size_t>(1, s.top_samples), samples_.size());
    std::nth_element(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(top - 1), samples_.end(),
                     std::greater<float>());
    float threshold = samples_[top - 1];  // the smallest of the top samples
    std::vector<std::uint32_t> indices = candidates(threshold);
    if (n_ > s.samples) {
      for (int round = 0; round < kAdaptations; ++round) {
        const double count = static_cast<double>(indices.size()), k = static_cast<double>(s.selects);
        if (count > k) {
          if (count > k * kUpper) {
            std::vector<std::uint32_t> best = largest_k(indices.size(), s.selects, order_,
                                                        [&](std::uint32_t c) { return std::fabs(v_[indices[c]]); });
            for (auto& b : best) b = indices[b];
            indices = std::move(best);  // increasing, as `best` indexes the increasing candidates
          }
          break;
        }
        if (count >= kLower * k) break;
        threshold *= static_cast<float>(kLower);
        indices = candidates(threshold);
      }
    }
    if (indices.size() > s.selects) indices.resize(s.selects);
    return indices;
  }

  std::string name_;
  std::size_t n_;
  bool compressed_;
  double ratio_;
  float momentum_;
  std::size_t warmup_, steps_ = 0;
  std::vector<float> u_, v_, samples_;
  std::vector<std::uint32_t> order_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_dgc(const CodecSpec& spec, const std::string& name,
                                      const std::vector<std::uint64_t>& shape, std::size_t n) {
  if (spec.values.at("momentum") == "replay")
    fail_usage("--codec dgc: momentum=replay stands for the replay's momentum; outside a replay give a number");
  return std::make_unique<Dgc>(spec, name, n, shape.size() >= 2);
}

}  // namespace adacomp::codecs::detail
