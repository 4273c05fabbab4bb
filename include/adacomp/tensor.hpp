#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "adacomp/dtype.hpp"

namespace adacomp {

// A named tensor. Values are always held as float32 (f16/bf16 widen exactly);
// `dtype` remembers the source type so that passthrough and decoded output can be
// written back in it.
struct Tensor {
  std::string name;
  DType dtype = DType::f32;
  xt::xarray<float> values;

  std::size_t size() const noexcept { return values.size(); }
  std::vector<std::uint64_t> shape() const;
  std::span<const float> flat() const noexcept { return {values.data(), values.size()}; }
  std::span<float> flat() noexcept { return {values.data(), values.size()}; }
};

// A tensor whose values are held elsewhere (by a Tensor, or in a file mapped into memory): what
// the encoder reads. Valid while its holder is.
struct TensorView {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::uint64_t> shape;
  std::span<const float> values;

  TensorView() = default;
  TensorView(std::string name, DType dtype, std::vector<std::uint64_t> shape, std::span<const float> values);
  TensorView(const Tensor& tensor);  // NOLINT(google-explicit-constructor): every Tensor is one
  std::size_t size() const noexcept { return values.size(); }
  std::size_t rank() const noexcept { return shape.size(); }
};

std::vector<TensorView> views_of(const std::vector<Tensor>& tensors);

// Allocate an uninitialised tensor of the given shape. Large tensors are backed by transparent
// huge pages where the system offers them: a tensor is written once right after it is made, and
// faulting it in 4 KiB pages costs more than the codec's pass over it.
Tensor make_tensor(std::string name, DType dtype, const std::vector<std::uint64_t>& shape);

// Asks the kernel for transparent huge pages on a large buffer not yet touched (a no-op for small
// ones and where the kernel declines).
void advise_huge_pages(void* data, std::size_t bytes) noexcept;

// Decoders refuse tensors above this many elements before allocating anything for them
// (format_spec/wire_format.md, "Limits").
inline constexpr std::uint64_t kMaxTensorElements = std::uint64_t{1} << 32;
inline constexpr std::size_t kMaxRank = 8;

// Product of dims with overflow and limit checks; throws Error(invalid_input) naming `what`.
std::uint64_t checked_element_count(const std::vector<std::uint64_t>& shape, const std::string& what);

std::string shape_string(const std::vector<std::uint64_t>& shape);

}  // namespace adacomp
