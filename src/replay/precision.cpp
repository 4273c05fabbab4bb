#include "replay/precision.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "adacomp/metrics.hpp"

namespace adacomp {

double PrecisionStepStats::variance_retention() const noexcept {
  if (elements == 0) return std::numeric_limits<double>::quiet_NaN();
  const double n = static_cast<double>(elements);
  const double low = low_square_sum / n - (low_sum / n) * (low_sum / n);
  const double exact = exact_square_sum / n - (exact_sum / n) * (exact_sum / n);
  return exact > 0 ? low / exact : std::numeric_limits<double>::quiet_NaN();
}

namespace {

double root_ratio(double numerator, double denominator) {
  return denominator > 0 ? std::sqrt(numerator / denominator) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

double PrecisionStepStats::reduce_rel_error() const noexcept {
  return root_ratio(average_error_square, average_square);
}

double PrecisionStepStats::residue_rel_l2() const noexcept { return root_ratio(residue_error_square, residue_square); }

double PrecisionStepStats::swamped_share() const noexcept {
  return gradient_mass > 0 ? swamped_mass / gradient_mass : std::numeric_limits<double>::quiet_NaN();
}

void PrecisionStepStats::merge(const PrecisionStepStats& o) noexcept {
  elements += o.elements;
  low_sum += o.low_sum;
  low_square_sum += o.low_square_sum;
  exact_sum += o.exact_sum;
  exact_square_sum += o.exact_square_sum;
  average_error_square += o.average_error_square;
  average_square += o.average_square;
  residue_error_square += o.residue_error_square;
  residue_square += o.residue_square;
  swamped_mass += o.swamped_mass;
  gradient_mass += o.gradient_mass;
}

}  // namespace adacomp

namespace adacomp::replay_detail {

std::uint64_t draw_stream(DrawPurpose purpose, std::uint64_t learner, std::uint64_t tensor, std::uint64_t step) {
  return random_bits(static_cast<std::uint64_t>(purpose), random_bits(learner, tensor, 0), step);
}

void round_values(std::span<float> x, const NumberFormat& format, Rounding rounding, std::uint64_t seed,
                  std::uint64_t stream) {
  if (format.is_f32()) return;
  if (rounding != Rounding::stochastic) {
    for (float& v : x) v = round_to(v, format, rounding);
    return;
  }
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = round_to(x[i], format, rounding, random_bits(seed, stream, 2 * i), random_bits(seed, stream, 2 * i + 1));
}

void add_swamping(const std::vector<Tensor>& gradients, ResidueMap& residues, const PrecisionOptions& precision,
                  const EncodeSettings& settings, std::vector<PrecisionStepStats>& stats) {
  stats.resize(gradients.size());
  for (std::size_t t = 0; t < gradients.size(); ++t) {
    const Tensor& gradient = gradients[t];
    if (settings.excluded(gradient.name)) continue;
    const auto it = residues.find(gradient.name);
    const auto g = gradient.flat();
    const float* r = it == residues.end() ? nullptr : it->second.values().flat().data();
    double swamped = 0, mass = 0;
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (g[i] == 0.0f) continue;
      const double a = std::fabs(static_cast<double>(g[i]));
      mass += a;
      if (a < 0.5 * ulp_at(r ? r[i] : 0.0f, precision.residue)) swamped += a;
    }
    stats[t].swamped_mass += swamped;
    stats[t].gradient_mass += mass;
  }
}

void round_residues(const std::vector<Tensor>& gradients, const std::vector<wire::FrameInfo>& frames,
                    ResidueMap& residues, ResidueMap& shadow, const ReplayOptions& options, std::uint64_t learner,
                    std::uint64_t step, std::vector<PrecisionStepStats>& stats) {
  stats.resize(gradients.size());
  for (std::size_t t = 0; t < gradients.size(); ++t) {
    if (frames[t].kind != wire::FrameKind::compressed) continue;
    const Tensor& gradient = gradients[t];
    auto shadow_it = shadow.find(gradient.name);
    if (shadow_it == shadow.end())
      shadow_it = shadow.emplace(gradient.name, Residue::zeros(gradient.name, gradient.shape())).first;
    shadow_it->second.step(gradient.flat(), frames[t].bin_size, options.settings.scale_factor, gradient.name);
    const auto reference = shadow_it->second.values().flat();

    Residue& residue = residues.at(gradient.name);
    Tensor values = residue.take();
    round_values(values.flat(), options.precision.residue, options.precision.residue_rounding, options.seed,
                 draw_stream(DrawPurpose::residue, learner, t, step));
    ErrorStats error;
    error.add(values.flat(), reference);
    stats[t].residue_error_square += error.diff2;
    stats[t].residue_square += error.ref2;
    residue = Residue(std::move(values));
  }
}

namespace {

// The float32 nearest to the exact sum a + b on the side of zero, so that truncating it into a
// narrower format truncates the exact sum.
float sum_toward_zero(float a, float b) {
  const double exact = static_cast<double>(a) + b;
  const float near = static_cast<float>(exact);
  if (std::fabs(static_cast<double>(near)) > std::fabs(exact)) return std::nextafter(near, 0.0f);
  return near;
}

class FormatAccumulator {
 public:
  FormatAccumulator(const NumberFormat& format, Rounding rounding) : format_(format), rounding_(rounding) {}
  float add(float sum, float x) const {
    if (x == 0.0f) return sum;  // a representable sum plus zero is itself in every rounding
    const float s = rounding_ == Rounding::truncate ? sum_toward_zero(sum, x) : sum + x;
    return round_to(s, format_, rounding_);
  }

 private:
  NumberFormat format_;
  Rounding rounding_;
};

}  // namespace

void reduce_in_format(const std::vector<LearnerOutput>& outputs, const std::vector<Tensor>& layout,
                      const PrecisionOptions& precision, StepStats& stats,
                      std::vector<std::vector<float>>& compressed_averages) {
  const FormatAccumulator accumulate(*precision.reduce, precision.reduce_rounding);
  const std::size_t learners = outputs.size();
  const std::size_t chunk = precision.reduce_chunk == 0 ? learners : precision.reduce_chunk;
  std::vector<float> total, partial;
  std::vector<double> exact;
  for (std::size_t t = 0; t < layout.size(); ++t) {
    const std::size_t n = layout[t].size();
    total.assign(n, 0.0f);
    partial.assign(n, 0.0f);
    exact.assign(n, 0.0);
    for (std::size_t l = 0; l < learners; ++l) {
      const DecodedTensor& decoded = outputs[l].decoded[t];
      if (decoded.compressed) {
        const SparseTernary& s = decoded.sparse;
        std::size_t entry = 0;
        for (std::size_t b = 0; b < s.bin_counts.size(); ++b)
          for (std::uint16_t k = 0; k < s.bin_counts[b]; ++k, ++entry) {
            const std::size_t p = b * s.bin_size + (s.entries[entry] >> 2);
            const float v = (s.entries[entry] & 2u) ? -s.scale : s.scale;
            partial[p] = accumulate.add(partial[p], v);
            exact[p] += v;
          }
      } else {
        const auto dense = decoded.dense.flat();
        for (std::size_t i = 0; i < n; ++i) {
          partial[i] = accumulate.add(partial[i], dense[i]);
          exact[i] += dense[i];
        }
      }
      if ((l + 1) % chunk == 0 || l + 1 == learners) {
        for (std::size_t i = 0; i < n; ++i) total[i] = accumulate.add(total[i], partial[i]);
        std::fill(partial.begin(), partial.end(), 0.0f);
      }
    }
    PrecisionStepStats& figures = stats.tensors[t].precision;
    std::vector<float>& average = compressed_averages[t];
    const double count = static_cast<double>(learners);
    figures.elements += n;
    for (std::size_t i = 0; i < n; ++i) {
      const double low = total[i];
      average[i] = static_cast<float>(low / count);
      const double exact_average = exact[i] / count;
      const double error = static_cast<double>(average[i]) - exact_average;
      figures.low_sum += low;
      figures.low_square_sum += low * low;
      figures.exact_sum += exact[i];
      figures.exact_square_sum += exact[i] * exact[i];
      figures.average_error_square += error * error;
      figures.average_square += exact_average * exact_average;
    }
  }
}

}  // namespace adacomp::replay_detail
