#pragma once
// The pieces of the .npy and raw readers shared by the in-memory parsers (parse_tensor_file) and
// the streaming reader (read_tensor_file), so that both accept and refuse the same files with the
// same words.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "adacomp/dtype.hpp"
#include "adacomp/tensor.hpp"
#include "adacomp/tensor_file.hpp"

namespace adacomp::detail {

struct NpyLayout {
  DType dtype = DType::f32;
  bool big_endian = false;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
  std::uint64_t element_count = 0;
  std::uint64_t data_bytes = 0;
  std::size_t data_offset = 0;  // bytes of magic, version, length and header text
};

// Checks magic, version and the header length limit on the first bytes (10 for version 1,
// 12 for versions 2 and 3) and returns the offset of the data.
std::size_t npy_header_size(std::span<const std::byte> first_bytes, const std::string& source);
// Parses the header (`header_bytes` starts at the magic and holds at least the whole header).
NpyLayout parse_npy_layout(std::span<const std::byte> header_bytes, const std::string& source,
                           std::optional<DType> void2_dtype);
// Refuses truncated data and trailing bytes.
void check_npy_data_size(const NpyLayout& layout, std::uint64_t present, const std::string& source);
// The tensor in stored order, uninitialised.
Tensor make_npy_tensor(const NpyLayout& layout, const std::string& name);
// Converts `bytes` (whole elements) of stored data to floats at `dst`; swaps big-endian data in place.
void decode_npy_data(const NpyLayout& layout, std::byte* data, std::size_t bytes, float* dst);
// Turns a Fortran-order tensor back into C order (a transposed copy).
void finish_npy_tensor(const NpyLayout& layout, Tensor& tensor);

// Raw input: the bytes --shape and --dtype call for.
std::uint64_t raw_data_bytes(const TensorReadOptions& options, const std::string& source);
// Refuses raw input whose size is not exactly that.
void check_raw_data_size(const TensorReadOptions& options, std::uint64_t present, const std::string& source);

}  // namespace adacomp::detail
