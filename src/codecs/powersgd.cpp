// PowerSGD (Vogels, Karimireddy & Jaggi, NeurIPS 2019) as epfml/powersgd's RankKReducer does it
// (paper-code/gradient_reducers.py at eb48559c), with error feedback and warm start: the tensor
// as a matrix M = memory + g of [shape0, -1], r = min(rows, columns, rank). Round 0 sends
// P = M Q (rows x r); the learners' P are summed and orthogonalized (Gram-Schmidt, column by
// column, eps 1e-8), P^. Round 1 sends M^T P^ (columns x r); their mean is the new Q, kept for
// the next step (warm start). The update is P^ Q^T and the memory M - P^ Q^T. The first Q is
// N(0, 1), drawn from the replay's seed shared by all learners. Tensors of rank <= 1 go in one
// round as f32, averaged. Products and Gram-Schmidt run in float64, the payloads are f32.
#include <cmath>
#include <numbers>

#include "adacomp/error.hpp"
#include "codecs/factories.hpp"
#include "codecs/payload.hpp"
#include "codecs/random_draws.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

constexpr double kEpsilon = 1e-8;

// A standard normal draw: Box-Muller on two 53-bit uniforms (the standard's normal_distribution is
// not the same on every library).
double normal_draw(std::mt19937_64& generator) {
  const double u1 = (static_cast<double>(generator() >> 11) + 1.0) * 0x1p-53;  // (0, 1]
  const double u2 = static_cast<double>(generator() >> 11) * 0x1p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

class PowerSgd final : public RoundCodec {
 public:
  PowerSgd(const CodecSpec& spec, std::string name, const Shape& shape, std::size_t n)
      : name_(std::move(name)), n_(n), matrix_(shape.size() >= 2) {
    if (matrix_) {
      rows_ = static_cast<std::size_t>(shape[0]);
      columns_ = rows_ ? n / rows_ : 0;
      rank_ = std::min({rows_, columns_, static_cast<std::size_t>(std::stoul(spec.values.at("rank")))});
      memory_.assign(n, 0.0f);
    }
  }

  std::size_t rounds() const override { return matrix_ && rank_ > 0 ? 2 : 1; }

  std::size_t round_size(std::size_t round) const override {
    if (rounds() == 1) return n_;
    return (round == 0 ? rows_ : columns_) * rank_;
  }

  std::vector<std::byte> send(std::size_t round, std::span<const float> gradient, std::span<const double> previous_sum,
                              const StepContext& step) override {
    if (rounds() == 1) {
      check_finite(gradient, name_);
      return floats(gradient);
    }
    if (round == 0) {
      check_finite(gradient, name_);
      m_.resize(n_);
      for (std::size_t i = 0; i < n_; ++i) m_[i] = memory_[i] + gradient[i];
      check_finite(m_, name_, "error-feedback memory + gradient");
      if (q_.empty()) {
        auto generator = generator_for(step.seed, step.step, step.tensor);
        q_.resize(columns_ * rank_);
        for (float& v : q_) v = static_cast<float>(normal_draw(generator));
      }
      std::vector<float> p(rows_ * rank_);
      for (std::size_t i = 0; i < rows_; ++i)
        for (std::size_t k = 0; k < rank_; ++k) {
          double sum = 0.0;
          for (std::size_t j = 0; j < columns_; ++j) sum += double{m_[i * columns_ + j]} * q_[j * rank_ + k];
          p[i * rank_ + k] = static_cast<float>(sum);
        }
      return floats(p);
    }
    orthogonalized(previous_sum);
    std::vector<double> q(columns_ * rank_, 0.0);
    for (std::size_t i = 0; i < rows_; ++i)
      for (std::size_t j = 0; j < columns_; ++j) {
        const double m = m_[i * columns_ + j];
        for (std::size_t k = 0; k < rank_; ++k) q[j * rank_ + k] += m * p_hat_[i * rank_ + k];
      }
    std::vector<float> out(q.begin(), q.end());
    return floats(out);
  }

  void receive(std::size_t round, std::span<const std::byte> payload, std::span<float> values) const override {
    check_size(payload, 4 * round_size(round), name_, round == 0 ? "powersgd (round P)" : "powersgd (round Q)");
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = get<float>(payload, 4 * i);
    check_finite(values, name_, "powersgd payload value");
  }

  void finish(std::span<const double> last_sum, std::size_t learners, std::span<float> out) override {
    const double count = static_cast<double>(learners);
    if (rounds() == 1) {
      for (std::size_t i = 0; i < n_; ++i) out[i] = static_cast<float>(last_sum[i] / count);
      return;
    }
    for (std::size_t j = 0; j < q_.size(); ++j) q_[j] = static_cast<float>(last_sum[j] / count);
    for (std::size_t i = 0; i < rows_; ++i)
      for (std::size_t j = 0; j < columns_; ++j) {
        double sum = 0.0;
        for (std::size_t k = 0; k < rank_; ++k) sum += double{p_hat_[i * rank_ + k]} * q_[j * rank_ + k];
        out[i * columns_ + j] = static_cast<float>(sum);
        memory_[i * columns_ + j] = m_[i * columns_ + j] - out[i * columns_ + j];
      }
  }

 private:
  static std::vector<std::byte> floats(std::span<const float> values) {
    std::vector<std::byte> payload(4 * values.size());
    for (std::size_t i = 0; i < values.size(); ++i) put_at<float>(payload, 4 * i, values[i]);
    return payload;
  }

  // P^ from the learners' summed P: Gram-Schmidt over its columns, as the reference's orthogonalize.
  void orthogonalized(std::span<const double> p_sum) {
    std::vector<double> p(p_sum.begin(), p_sum.end());
    for (std::size_t k = 0; k < rank_; ++k) {
      double norm = 0.0;
      for (std::size_t i = 0; i < rows_; ++i) norm += p[i * rank_ + k] * p[i * rank_ + k];
      norm = std::sqrt(norm) + kEpsilon;
      for (std::size_t i = 0; i < rows_; ++i) p[i * rank_ + k] /= norm;
      for (std::size_t later = k + 1; later < rank_; ++later) {
        double dot = 0.0;
        for (std::size_t i = 0; i < rows_; ++i) dot += p[i * rank_ + k] * p[i * rank_ + later];
        for (std::size_t i = 0; i < rows_; ++i) p[i * rank_ + later] -= dot * p[i * rank_ + k];
      }
    }
    p_hat_.assign(p.begin(), p.end());
  }

  std::string name_;
  std::size_t n_, rows_ = 0, columns_ = 0, rank_ = 0;
  bool matrix_;
  std::vector<float> memory_, m_, q_, p_hat_;
};

}  // namespace

std::unique_ptr<RoundCodec> make_powersgd(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                          std::size_t n) {
  return std::make_unique<PowerSgd>(spec, name, shape, n);
}

}  // namespace adacomp::codecs::detail
