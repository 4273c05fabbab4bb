#include "adacomp/residue.hpp"

#include <cmath>
#include <utility>

#include "codec/kernels/correct_kernel.hpp"
#include "codec/kernels/norm_kernel.hpp"
#include "codec/kernels/select_kernel.hpp"
#include "step_buffers.hpp"

namespace adacomp {

Residue::Residue() : stored_(make_tensor("", DType::f32, {0})) {}

Residue::Residue(Tensor values) : stored_(std::move(values)) {}

Residue::Residue(const Residue& other)
    : stored_(other.stored_), pending_bits_(other.pending_bits_), pending_scale_(other.pending_scale_),
      pending_(other.pending_) {}

Residue& Residue::operator=(const Residue& other) {
  if (this == &other) return *this;
  stored_ = other.stored_;
  pending_bits_ = other.pending_bits_;
  pending_scale_ = other.pending_scale_;
  pending_ = other.pending_;
  return *this;
}

Residue::Residue(Residue&&) noexcept = default;
Residue& Residue::operator=(Residue&&) noexcept = default;
Residue::~Residue() = default;

Residue Residue::zeros(const std::string& name, const std::vector<std::uint64_t>& shape) {
  Tensor zero = make_tensor(name, DType::f32, shape);
  zero.values.fill(0.0f);
  return Residue(std::move(zero));
}

void Residue::apply_pending() {
  if (!pending_) return;
  detail::correct_residue(stored_.values.data(), pending_bits_.data(), stored_.size(), pending_scale_);
  pending_ = false;
}

const Tensor& Residue::values() {
  apply_pending();
  return stored_;
}

Tensor Residue::take() {
  apply_pending();
  Tensor out = std::move(stored_);
  *this = Residue();  // not left in a moved-from state
  return out;
}

double Residue::l2_norm() const {
  return std::sqrt(detail::sum_of_squares(stored_.values.data(), pending_ ? pending_bits_.data() : nullptr,
                                          stored_.size(), pending_scale_));
}

}  // namespace adacomp
