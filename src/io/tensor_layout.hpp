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
                           std::optional<DType> void_dtype);
// Refuses truncated data and trailing bytes.
void check_npy_data_size(const NpyLayout& layout, std::uint64_t present, const std::string& source);
// The tensor in stored order, uninitialised.
Tensor make_npy_tensor(const NpyLayout& layout, const std::string& name);
// Converts `bytes` (whole elements) of stored data to floats at `dst`; swaps big-endian data in place.
void decode_npy_data(const NpyLayout& layout, std::byte* data, std::size_t bytes, float* dst);
// Turns a Fortran-order tensor back into C order (a transposed copy).
void finish_npy_tensor(const NpyLayout& layout, Tensor& tensor);

// The tensor's elements in its dtype, little-endian: float32 straight from the tensor, other
// types through a small conversion buffer.
void write_elements(const Tensor& tensor, const ByteSink& sink);

// A regular .npz file of `size` bytes, read with the acceptance rules and messages of parse_npz.
std::vector<Tensor> read_npz_file(const std::string& path, std::uint64_t size, std::optional<DType> void_dtype);

// write_npz with Zip64 records for every size and offset from `zip64_from` on (write_npz: from
// 2^32 - 1, where the 32-bit fields end; tests pass 0 to write them for small archives).
void write_npz_records(const std::vector<Tensor>& tensors, const ByteSink& sink, std::uint64_t zip64_from);

// Raw input: the bytes --shape and --dtype call for.
std::uint64_t raw_data_bytes(const TensorReadOptions& options, const std::string& source);
// Refuses raw input whose size is not exactly that.
void check_raw_data_size(const TensorReadOptions& options, std::uint64_t present, const std::string& source);

// safetensors: one tensor's entry in the header, data offsets relative to the data buffer.
struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin;
  std::uint64_t end;
};
// Bytes of the length field and the header, checked against the file's size; `first_bytes`
// holds at least the length field.
std::uint64_t safetensors_header_bytes(std::span<const std::byte> first_bytes, std::uint64_t file_size,
                                       const std::string& source);
// The entries in data order, checked to cover the data buffer exactly; `head` starts at byte 0
// of a file of `file_size` bytes and holds at least safetensors_header_bytes() of them.
std::vector<SafetensorsEntry> parse_safetensors_entries(std::span<const std::byte> head, std::uint64_t file_size,
                                                        const std::string& source);

}  // namespace adacomp::detail
