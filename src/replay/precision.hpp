#pragma once
// The precision what-if of a replay (replay-internal; format_spec/dump_layout.md, "Precision
// what-if"): a learner's residue kept in a narrow format next to a float32 shadow, the learners'
// sum accumulated in a narrow format, and where the random draws of stochastic rounding come from.
#include <cstdint>
#include <span>
#include <vector>

#include "adacomp/encoder.hpp"
#include "adacomp/replay.hpp"
#include "adacomp/tensor.hpp"
#include "replay/exchange.hpp"

namespace adacomp::replay_detail {

// What a stochastic rounding draws from: one stream per purpose, learner, tensor and step.
enum class DrawPurpose : std::uint64_t { residue = 1, weights = 2 };
std::uint64_t draw_stream(DrawPurpose purpose, std::uint64_t learner, std::uint64_t tensor, std::uint64_t step);

// x[i] rounded into `format` in place; stochastic draws come from (seed, stream, i).
void round_values(std::span<float> x, const NumberFormat& format, Rounding rounding, std::uint64_t seed,
                  std::uint64_t stream);

// Before a learner's encode: the swamped share of each compressed tensor's gradient against the
// residue as it is stored (|g_i| below half the format's spacing at r_i, g_i != 0), into `stats`.
void add_swamping(const std::vector<Tensor>& gradients, ResidueMap& residues, const PrecisionOptions& precision,
                  const EncodeSettings& settings, std::vector<PrecisionStepStats>& stats);

// After it: each compressed tensor's residue rounded into the residue format, and the float32
// shadow (the same gradients through the same selection rule, never rounded) stepped, with the
// distance between the two into `stats`.
void round_residues(const std::vector<Tensor>& gradients, const std::vector<wire::FrameInfo>& frames,
                    ResidueMap& residues, ResidueMap& shadow, const ReplayOptions& options, std::uint64_t learner,
                    std::uint64_t step, std::vector<PrecisionStepStats>& stats);

// The average of the learners' decoded tensors with the sum accumulated in the reduce format (in
// learner order, in chunks), replacing averages.compressed; the figures into stats.tensors[t].
void reduce_in_format(const std::vector<LearnerOutput>& outputs, const std::vector<Tensor>& layout,
                      const PrecisionOptions& precision, StepStats& stats,
                      std::vector<std::vector<float>>& compressed_averages);

}  // namespace adacomp::replay_detail
