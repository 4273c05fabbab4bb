#pragma once
// A learner's residue of one tensor, kept from step to step.
//
// After a step the residue is G - sign(G) * scale at the selected elements and G elsewhere. The
// scale is known only once the last bin is selected, so a residue in plain memory (compress()
// on a span) is corrected by a second pass over it. A Residue keeps that correction pending
// instead (one bit per element and the scale) and the next step applies it as it reads the
// residue: a training step then reads g and r and writes r once, the traffic of a streaming
// r += g, and the bits are the same as with the second pass.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "adacomp/codec.hpp"
#include "adacomp/tensor.hpp"

namespace adacomp {

namespace detail {
struct StepBuffers;
}

class Residue {
 public:
  Residue();  // empty: no elements
  // Values as a residue file holds them, with no correction pending.
  explicit Residue(Tensor values);
  // A fresh learner's: float32 zeros.
  static Residue zeros(const std::string& name, const std::vector<std::uint64_t>& shape);
  // Copies take the values and the pending correction, not the last step's result or the
  // encoder's working memory.
  Residue(const Residue& other);
  Residue& operator=(const Residue& other);
  Residue(Residue&&) noexcept;
  Residue& operator=(Residue&&) noexcept;
  ~Residue();

  // One step of compress() on this residue: the same frame, and the same residue bits once
  // values() is read. The result stays here until the next step, which reuses its memory and
  // the encoder's, so that a training loop's steps allocate nothing after the first.
  // After an error the residue's values are unspecified: callers discard it, as the CLI and
  // replay do.
  const SparseTernary& step(std::span<const float> gradient, std::uint32_t bin_size, float scale_factor,
                            const std::string& tensor_name, unsigned threads = 1);

  DType dtype() const noexcept { return stored_.dtype; }
  std::vector<std::uint64_t> shape() const { return stored_.shape(); }
  std::size_t size() const noexcept { return stored_.size(); }
  bool correction_pending() const noexcept { return pending_; }

  // The values, the pending correction applied first (a pass over them, once).
  const Tensor& values();
  // The same, moved out; the Residue is left empty.
  Tensor take();
  // Euclidean norm of the values in binary64, pending correction included, without applying
  // it. The square of element i goes to partial sum i mod 8; the eight partial sums are then added
  // in order (a fixed order: the same bits on every machine and thread count).
  double l2_norm() const;

 private:
  void apply_pending();

  Tensor stored_;
  // Selection bits of the last step (pending) and room for the next step's, swapped after it.
  std::vector<std::uint64_t> pending_bits_, next_bits_;
  float pending_scale_ = 0.0f;
  bool pending_ = false;
  SparseTernary last_;
  std::unique_ptr<detail::StepBuffers> buffers_;
};

}  // namespace adacomp
