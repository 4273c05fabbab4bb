#include "adacomp/tensor.hpp"

#include "adacomp/error.hpp"

namespace adacomp {

std::vector<std::uint64_t> Tensor::shape() const { return {values.shape().begin(), values.shape().end()}; }

Tensor make_tensor(std::string name, DType dtype, const std::vector<std::uint64_t>& shape) {
  Tensor tensor;
  tensor.name = std::move(name);
  tensor.dtype = dtype;
  std::vector<std::size_t> dims(shape.begin(), shape.end());
  tensor.values = xt::xarray<float>::from_shape(dims);
  return tensor;
}

std::uint64_t checked_element_count(const std::vector<std::uint64_t>& shape, const std::string& what) {
  if (shape.size() > kMaxRank)
    fail_input(what + ": rank " + std::to_string(shape.size()) + " exceeds the limit of " + std::to_string(kMaxRank));
  // The non-zero dimensions are bounded too: a zero dimension makes the tensor empty, but the
  // others still become strides (found by fuzzing: xtensor's stride products overflowed).
  std::uint64_t nonzero_product = 1;
  bool empty = false;
  for (std::uint64_t dim : shape) {
    if (dim == 0) {
      empty = true;
      continue;
    }
    if (nonzero_product > kMaxTensorElements / dim)
      fail_input(what + ": shape " + shape_string(shape) + " has more than " + std::to_string(kMaxTensorElements) +
                 " elements (decoder limit)");
    nonzero_product *= dim;
  }
  return empty ? 0 : nonzero_product;
}

std::string shape_string(const std::vector<std::uint64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ",";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

}  // namespace adacomp
