#include "replay/summary.hpp"

#include <cmath>
#include <optional>

#include "adacomp/frame_stats.hpp"
#include "adacomp/metrics.hpp"

namespace adacomp::replay_detail {

void add_exchange_figures(const std::vector<LearnerOutput>& outputs, const std::vector<Tensor>& layout,
                          StepStats& stats) {
  const double learners = static_cast<double>(outputs.size());
  for (const auto& out : outputs) {
    stats.times.read += out.read;
    stats.times.encode += out.encode;
    stats.times.decode += out.decode;
    std::uint64_t frame_total = 0;
    for (std::size_t t = 0; t < layout.size(); ++t) {
      const auto& frame = out.frames[t];
      const FrameStats figures = frame_stats(frame, nullptr);
      TensorStepStats& ts = stats.tensors[t];
      ts.compressed = frame.kind == wire::FrameKind::compressed;
      ts.raw_bytes += figures.source_bytes;
      ts.wire_bytes += figures.frame_bytes;
      ts.entries += frame.entry_count;
      ts.entry_bits += figures.entry_bits;
      ts.bound_bits += figures.bound_bits;
      ts.framing_bytes += figures.framing_bytes;
      ts.scale += frame.scale / learners;
      frame_total += figures.frame_bytes;
    }
    stats.stream_overhead_bytes += out.stream_bytes - frame_total;
    stats.learner_stream_bytes.push_back(out.stream_bytes);
  }
  for (const auto& out : outputs)
    for (std::size_t t = 0; t < layout.size(); ++t) stats.tensors[t].residue_l2 += out.residue_l2[t] / learners;
}

namespace {

// Means over the steps that have them of one step figure (NaN where a step has none).
class StepMean {
 public:
  void add(double value) {
    if (!std::isfinite(value)) return;
    sum_ += value;
    ++count_;
  }
  std::optional<double> mean() const { return count_ ? std::optional<double>(sum_ / count_) : std::nullopt; }

 private:
  double sum_ = 0;
  std::size_t count_ = 0;
};

struct PrecisionMeans {
  StepMean vrr, reduce_error, residue_error, swamped;
  void add(const PrecisionStepStats& p) {
    vrr.add(p.variance_retention());
    reduce_error.add(p.reduce_rel_error());
    residue_error.add(p.residue_rel_l2());
    swamped.add(p.swamped_share());
  }
  void write(const PrecisionOptions& precision, TensorSummary& summary) const {
    if (precision.reduce) {
      summary.reduce_variance_retention = vrr.mean();
      summary.reduce_rel_error = reduce_error.mean();
    }
    if (precision.residue_active()) {
      summary.residue_rel_l2 = residue_error.mean();
      summary.residue_swamped_share = swamped.mean();
    }
  }
};

}  // namespace

void summarize(const ReplayOptions& options, const std::vector<Tensor>& layout, const SgdRun* compressed,
               const SgdRun* baseline, const std::vector<Tensor>* final_weights, ReplayResult& result) {
  TensorSummary& total = result.total;
  total.name = "total";
  std::uint64_t total_entries = 0, total_compressed_elements = 0;
  ErrorStats total_drift, total_reproduction;
  for (std::size_t t = 0; t < layout.size(); ++t) {
    TensorSummary summary;
    summary.name = layout[t].name;
    summary.dtype = layout[t].dtype;
    summary.shape = layout[t].shape();
    summary.bin_size = options.settings.excluded(summary.name)
                           ? 0
                           : options.settings.bin_sizes.bin_size_for(summary.name, summary.shape.size());
    std::uint64_t entries = 0, compressed_elements = 0;
    double update_error_sum = 0.0;
    PrecisionMeans precision;
    for (const auto& step : result.steps) {
      const auto& ts = step.tensors[t];
      precision.add(ts.precision);
      update_error_sum += ts.update_rel_l2;
      summary.raw_bytes += ts.raw_bytes;
      summary.wire_bytes += ts.wire_bytes;
      summary.framing_bytes += ts.framing_bytes;
      summary.frames += result.learners;
      if (ts.compressed) {
        summary.entry_bits += ts.entry_bits;
        summary.bound_bits += ts.bound_bits;
        entries += ts.entries;
        compressed_elements += layout[t].size() * result.learners;
      }
    }
    summary.ratio = ratio_or_nan(static_cast<double>(summary.raw_bytes), static_cast<double>(summary.wire_bytes));
    summary.mean_density = ratio_or_nan(static_cast<double>(entries), static_cast<double>(compressed_elements));
    summary.mean_update_rel_l2 = update_error_sum / static_cast<double>(result.steps.size());
    precision.write(options.precision, summary);
    if (compressed && baseline) {
      ErrorStats drift;
      drift.add(compressed->weights[t].flat(), baseline->weights[t].flat());
      summary.weight_drift = drift.rel_l2();
      total_drift.merge(drift);
      if (final_weights) {
        ErrorStats reproduction;
        reproduction.add(baseline->weights[t].flat(), (*final_weights)[t].flat());
        summary.baseline_vs_final = reproduction.rel_l2();
        total_reproduction.merge(reproduction);
      }
    }
    total.raw_bytes += summary.raw_bytes;
    total.wire_bytes += summary.wire_bytes;
    total.entry_bits += summary.entry_bits;
    total.bound_bits += summary.bound_bits;
    total.frames += summary.frames;
    total.framing_bytes += summary.framing_bytes;
    total_entries += entries;
    total_compressed_elements += compressed_elements;
    result.tensors.push_back(std::move(summary));
  }
  for (const auto& step : result.steps) total.wire_bytes += step.stream_overhead_bytes;
  total.ratio = ratio_or_nan(static_cast<double>(total.raw_bytes), static_cast<double>(total.wire_bytes));
  total.mean_density = ratio_or_nan(static_cast<double>(total_entries), static_cast<double>(total_compressed_elements));
  PrecisionMeans total_precision;
  for (const auto& step : result.steps) {
    PrecisionStepStats pooled;
    for (const auto& ts : step.tensors) pooled.merge(ts.precision);
    total_precision.add(pooled);
  }
  total_precision.write(options.precision, total);
  for (const auto& step : result.steps) total.mean_update_rel_l2 += step.update_rel_l2;
  total.mean_update_rel_l2 /= static_cast<double>(result.steps.size());
  if (compressed && baseline) total.weight_drift = total_drift.rel_l2();
  if (final_weights) total.baseline_vs_final = total_reproduction.rel_l2();
}

}  // namespace adacomp::replay_detail
