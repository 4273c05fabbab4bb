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

// Allocate an uninitialised tensor of the given shape.
Tensor make_tensor(std::string name, DType dtype, const std::vector<std::uint64_t>& shape);

// Decoders refuse tensors above this many elements before allocating anything for them
// (format_spec/wire_format.md, "Limits").
inline constexpr std::uint64_t kMaxTensorElements = std::uint64_t{1} << 32;
inline constexpr std::size_t kMaxRank = 8;

// Product of dims with overflow and limit checks; throws Error(invalid_input) naming `what`.
std::uint64_t checked_element_count(const std::vector<std::uint64_t>& shape, const std::string& what);

std::string shape_string(const std::vector<std::uint64_t>& shape);

}  // namespace adacomp
