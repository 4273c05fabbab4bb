#include "replay/training.hpp"

#include <algorithm>
#include <span>

#include "adacomp/metrics.hpp"
#include "common/parallel_parts.hpp"
#include "replay/precision.hpp"

namespace adacomp::replay_detail {

namespace {

// Elements summed at a time: both float64 partial sums of a block stay in L1/L2 while every
// learner adds to them. Blocks are also the unit of the threads' split and of the error
// figures (one ErrorStats::add per block), so that neither depends on the thread count.
constexpr std::size_t kBlockElements = 4096;

// How far a learner's entries have been added, in the walk over a run of one tensor's blocks.
class EntryCursor {
 public:
  // At the first entry at a position >= `begin`.
  EntryCursor(const SparseTernary& sparse, std::size_t begin) : sparse_(&sparse) {
    const std::size_t bins = sparse.bin_counts.size();
    bin_ = std::min<std::size_t>(begin / sparse.bin_size, bins);
    for (std::size_t b = 0; b < bin_; ++b) entry_ += sparse.bin_counts[b];
    bin_end_ = bin_ < bins ? entry_ + sparse.bin_counts[bin_] : entry_;
    while (entry_ < bin_end_ && bin_ * sparse.bin_size + (sparse.entries[entry_] >> 2) < begin) ++entry_;
  }

  // Adds the entries at positions below `end` to sum[position - begin]. A validated frame's
  // entries ascend, so the walk resumes where the previous block stopped.
  void add_until(std::size_t begin, std::size_t end, double* sum) {
    const SparseTernary& s = *sparse_;
    const std::size_t bin_size = s.bin_size, bins = s.bin_counts.size();
    // The dense decoder writes +-scale as float32; float64 holds both exactly.
    const double plus = static_cast<double>(s.scale), minus = -plus;
    const std::uint16_t* entries = s.entries.data();
    while (bin_ < bins) {
      const std::size_t base = bin_ * bin_size;
      if (base >= end) return;
      for (; entry_ < bin_end_; ++entry_) {
        const std::size_t position = base + (entries[entry_] >> 2);
        if (position >= end) return;
        sum[position - begin] += (entries[entry_] & 2u) ? minus : plus;  // code 2: -scale
      }
      if (++bin_ < bins) bin_end_ += s.bin_counts[bin_];
    }
  }

 private:
  const SparseTernary* sparse_;
  std::size_t bin_ = 0, entry_ = 0, bin_end_ = 0;
};

struct Block {
  std::size_t tensor, begin, length;
  std::size_t offset;  // of its first element in the tensors one after the other
};

// Blocks [first, last) of the step (consecutive, tensor by tensor): the averages of their elements
// into `averages` and each block's error figures into errors[block].
void average_blocks(const std::vector<LearnerOutput>& outputs, const std::vector<Block>& blocks, std::size_t first,
                    std::size_t last, const double* exact_sum, StepAverages& averages,
                    std::vector<ErrorStats>& errors) {
  const double learners = static_cast<double>(outputs.size());
  // x / 2^k and x * 2^-k are the same exact value, hence the same rounding: a power-of-two
  // learner count multiplies, which costs a fraction of a division.
  const bool exact_inverse = (outputs.size() & (outputs.size() - 1)) == 0;
  const double inverse = 1.0 / learners;
  std::vector<double> sum_c(kBlockElements), sum_e(kBlockElements);
  std::vector<EntryCursor> cursors;
  for (std::size_t j = first; j < last; ++j) {
    const auto [t, begin, length, offset] = blocks[j];
    const std::size_t end = begin + length;
    if (j == first || blocks[j - 1].tensor != t) {
      cursors.clear();
      for (const auto& out : outputs)
        if (out.decoded[t].compressed) cursors.emplace_back(out.decoded[t].sparse, begin);
    }
    std::fill_n(sum_c.begin(), length, 0.0);
    if (exact_sum)
      std::copy_n(exact_sum + offset, length, sum_e.begin());
    else
      std::fill_n(sum_e.begin(), length, 0.0);
    // Learner order per element, as a dense sum over the decoded tensors would add them: adding
    // the zeros a compressed frame leaves out changes no bit (a sum from +0 is never -0).
    auto cursor = cursors.begin();
    for (const auto& out : outputs) {
      if (!exact_sum) {
        const float* exact = out.gradients[t].flat().data() + begin;
        for (std::size_t i = 0; i < length; ++i) sum_e[i] += exact[i];
      }
      const DecodedTensor& decoded = out.decoded[t];
      if (decoded.compressed) {
        (cursor++)->add_until(begin, end, sum_c.data());
      } else {
        const float* dense = decoded.dense.flat().data() + begin;
        for (std::size_t i = 0; i < length; ++i) sum_c[i] += dense[i];
      }
    }
    float* avg_c = averages.compressed[t].data() + begin;
    float* avg_e = averages.exact[t].data() + begin;
    if (exact_inverse) {
      for (std::size_t i = 0; i < length; ++i) {
        avg_c[i] = static_cast<float>(sum_c[i] * inverse);
        avg_e[i] = static_cast<float>(sum_e[i] * inverse);
      }
    } else {
      for (std::size_t i = 0; i < length; ++i) {
        avg_c[i] = static_cast<float>(sum_c[i] / learners);
        avg_e[i] = static_cast<float>(sum_e[i] / learners);
      }
    }
    errors[j].add({avg_c, length}, {avg_e, length});
  }
}

}  // namespace

void average_learners(const std::vector<LearnerOutput>& outputs, const std::vector<Tensor>& layout, unsigned threads,
                      StepStats& stats, StepAverages& averages, const std::vector<double>* exact_sum) {
  averages.compressed.resize(layout.size());
  averages.exact.resize(layout.size());
  std::vector<Block> blocks;
  std::size_t offset = 0;
  for (std::size_t t = 0; t < layout.size(); ++t) {
    const std::size_t n = layout[t].size();
    averages.compressed[t].resize(n);
    averages.exact[t].resize(n);
    for (std::size_t begin = 0; begin < n; begin += kBlockElements)
      blocks.push_back({t, begin, std::min(kBlockElements, n - begin), offset + begin});
    offset += n;
  }
  std::vector<ErrorStats> errors(blocks.size());
  // Equal runs of blocks per thread: each block's sums are the same whoever computes them.
  const std::size_t parts = std::max<std::size_t>(1, std::min<std::size_t>(threads, blocks.size() / 16));
  detail::run_parts(parts, [&](std::size_t p) {
    average_blocks(outputs, blocks, blocks.size() * p / parts, blocks.size() * (p + 1) / parts,
                   exact_sum ? exact_sum->data() : nullptr, averages, errors);
  });
  ErrorStats step_error;
  for (std::size_t t = 0, j = 0; t < layout.size(); ++t) {
    ErrorStats error;
    for (; j < blocks.size() && blocks[j].tensor == t; ++j) error.merge(errors[j]);
    stats.tensors[t].update_rel_l2 = error.rel_l2();
    stats.tensors[t].update_cosine = error.cosine();
    step_error.merge(error);
  }
  stats.update_rel_l2 = step_error.rel_l2();
  stats.update_cosine = step_error.cosine();
}

SgdRun::SgdRun(std::vector<Tensor> initial) : weights(std::move(initial)) {
  for (const Tensor& w : weights) {
    Tensor v = make_tensor(w.name, DType::f32, w.shape());
    v.values.fill(0.0f);
    velocity.push_back(std::move(v));
  }
}

void SgdRun::store_in(const NumberFormat& format, Rounding rounding, std::uint64_t seed) {
  format_ = format;
  rounding_ = rounding;
  seed_ = seed;
  for (Tensor& w : weights) round_values(w.flat(), format_, Rounding::nearest, 0, 0);
}

void SgdRun::step(const std::vector<std::vector<float>>& update, float lr, float momentum) {
  step(update, lr, std::vector<float>(weights.size(), momentum));
}

void SgdRun::step(const std::vector<std::vector<float>>& update, float lr, float momentum, std::uint64_t step_number) {
  step(update, lr, momentum);
  if (format_.is_f32()) return;
  for (std::size_t t = 0; t < weights.size(); ++t)
    round_values(weights[t].flat(), format_, rounding_, seed_, draw_stream(DrawPurpose::weights, 0, t, step_number));
}

void SgdRun::step(const std::vector<std::vector<float>>& update, float lr, const std::vector<float>& momenta) {
  for (std::size_t t = 0; t < weights.size(); ++t) {
    const float momentum = momenta[t];
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
