#include "adacomp/tensor.hpp"

#include <sys/mman.h>

#include <cstdint>

#include "adacomp/error.hpp"

namespace adacomp {

std::vector<std::uint64_t> Tensor::shape() const { return {values.shape().begin(), values.shape().end()}; }

TensorView::TensorView(std::string name_, DType dtype_, std::vector<std::uint64_t> shape_,
                       std::span<const float> values_)
    : name(std::move(name_)), dtype(dtype_), shape(std::move(shape_)), values(values_) {}

TensorView::TensorView(const Tensor& tensor)
    : name(tensor.name), dtype(tensor.dtype), shape(tensor.shape()), values(tensor.flat()) {}

std::vector<TensorView> views_of(const std::vector<Tensor>& tensors) { return {tensors.begin(), tensors.end()}; }

Tensor make_tensor(std::string name, DType dtype, const std::vector<std::uint64_t>& shape) {
  Tensor tensor;
  tensor.name = std::move(name);
  tensor.dtype = dtype;
  std::vector<std::size_t> dims(shape.begin(), shape.end());
  tensor.values = xt::xarray<float>::from_shape(dims);
  advise_huge_pages(tensor.values.data(), tensor.size() * sizeof(float));
  return tensor;
}

void advise_huge_pages(void* data, std::size_t bytes) noexcept {
  // Below a few huge pages the advice gains nothing and the memory may sit on the heap.
  constexpr std::size_t kMinBytes = std::size_t{8} << 20;
  constexpr std::uintptr_t kPage = 4096;
  if (bytes < kMinBytes) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + kPage - 1) & ~(kPage - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(kPage - 1);
  // Advice only: where transparent huge pages are off or unavailable nothing changes.
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
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
