#pragma once
// What a replay step does with the learners' tensors (replay-internal, dump_layout.md §2): their
// average, for the compressed run and the exact baseline alike, and PyTorch's SGD update.
#include <vector>

#include "adacomp/replay.hpp"
#include "adacomp/tensor.hpp"
#include "replay/exchange.hpp"

namespace adacomp::replay_detail {

struct StepAverages {
  std::vector<std::vector<float>> compressed, exact;  // per tensor of the layout
};

// The mean over learners of the decoded and of the exact gradients, summed in float64 in learner
// order and rounded once to float32, into `averages` (its buffers are reused from step to step);
// each tensor's update error and cosine go into `stats`. Compressed frames are scattered from
// their entries, never expanded: the sums are those of the dense tensors, bit for bit. Runs of
// elements are spread over up to `threads` pooled threads; every figure is the same for any count.
// `exact_sum` (the tensors one after the other), when not null, is the float64 sum of the exact
// gradients in learner order, computed elsewhere (by the ranks in turn): the learners' outputs
// then need no gradients.
void average_learners(const std::vector<LearnerOutput>& outputs, const std::vector<Tensor>& layout, unsigned threads,
                      StepStats& stats, StepAverages& averages, const std::vector<double>* exact_sum = nullptr);

// Weights and momentum of one run, from init.npz.
struct SgdRun {
  std::vector<Tensor> weights, velocity;
  explicit SgdRun(std::vector<Tensor> initial);
  SgdRun() = default;
  // Weights stored in `format` (the precision what-if): rounded to nearest now, and with
  // `rounding` after every update of step(update, lr, momentum, step_number). Velocity stays float32.
  void store_in(const NumberFormat& format, Rounding rounding, std::uint64_t seed);
  // PyTorch SGD (no dampening, no Nesterov, no weight decay): v = momentum*v + a; w = w - lr*v
  void step(const std::vector<std::vector<float>>& update, float lr, float momentum);
  // The same, then the weights rounded into their storage format (stochastic draws by step number).
  void step(const std::vector<std::vector<float>>& update, float lr, float momentum, std::uint64_t step_number);
  // The same with a momentum per tensor.
  void step(const std::vector<std::vector<float>>& update, float lr, const std::vector<float>& momenta);

 private:
  NumberFormat format_;
  Rounding rounding_ = Rounding::nearest;
  std::uint64_t seed_ = 0;
};

}  // namespace adacomp::replay_detail
