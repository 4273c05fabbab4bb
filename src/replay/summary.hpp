#pragma once
// A replay's figures (replay-internal, dump_layout.md §3): per step, what the frames and residues
// come to; at the end, per tensor and in total.
#include <vector>

#include "adacomp/replay.hpp"
#include "adacomp/tensor.hpp"
#include "replay/exchange.hpp"
#include "replay/training.hpp"

namespace adacomp::replay_detail {

// Bytes, entries and scales of the step's frames, and the learners' residue norms, into `stats`.
void add_exchange_figures(const std::vector<LearnerOutput>& outputs, const std::vector<Tensor>& layout,
                          StepStats& stats);

// result.tensors and result.total from result.steps; the weight drift when both runs exist, and
// the baseline's distance to `final_weights` when given.
void summarize(const ReplayOptions& options, const std::vector<Tensor>& layout, const SgdRun* compressed,
               const SgdRun* baseline, const std::vector<Tensor>* final_weights, ReplayResult& result);

}  // namespace adacomp::replay_detail
