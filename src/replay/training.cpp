#include "replay/training.hpp"

#include "adacomp/metrics.hpp"

namespace adacomp::replay_detail {

StepAverages average_learners(const std::vector<LearnerOutput>& outputs, const std::vector<Tensor>& layout,
                              StepStats& stats) {
  const double learners = static_cast<double>(outputs.size());
  StepAverages averages;
  averages.compressed.resize(layout.size());
  averages.exact.resize(layout.size());
  ErrorStats step_error;
  for (std::size_t t = 0; t < layout.size(); ++t) {
    const std::size_t n = layout[t].size();
    std::vector<double> sum_c(n, 0.0), sum_e(n, 0.0);
    for (const auto& out : outputs) {
      const auto c = out.decoded[t].flat();
      const auto e = out.gradients[t].flat();
      for (std::size_t i = 0; i < n; ++i) {
        sum_c[i] += c[i];
        sum_e[i] += e[i];
      }
    }
    auto& avg_c = averages.compressed[t];
    auto& avg_e = averages.exact[t];
    avg_c.resize(n);
    avg_e.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      avg_c[i] = static_cast<float>(sum_c[i] / learners);
      avg_e[i] = static_cast<float>(sum_e[i] / learners);
    }
    ErrorStats error;
    error.add(avg_c, avg_e);
    stats.tensors[t].update_rel_l2 = error.rel_l2();
    stats.tensors[t].update_cosine = error.cosine();
    step_error.merge(error);
  }
  stats.update_rel_l2 = step_error.rel_l2();
  return averages;
}

SgdRun::SgdRun(std::vector<Tensor> initial) : weights(std::move(initial)) {
  for (const Tensor& w : weights) {
    Tensor v = make_tensor(w.name, DType::f32, w.shape());
    v.values.fill(0.0f);
    velocity.push_back(std::move(v));
  }
}

void SgdRun::step(const std::vector<std::vector<float>>& update, float lr, float momentum) {
  for (std::size_t t = 0; t < weights.size(); ++t) {
    auto w = weights[t].flat();
    auto v = velocity[t].flat();
    const auto& a = update[t];
    for (std::size_t i = 0; i < w.size(); ++i) {
      v[i] = momentum * v[i] + a[i];
      w[i] = w[i] + (-lr) * v[i];
    }
  }
}

}  // namespace adacomp::replay_detail
