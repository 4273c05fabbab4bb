#pragma once
// Reading and writing tensor files: .npy, .npz, .safetensors and raw little-endian arrays.
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "adacomp/dtype.hpp"
#include "adacomp/tensor.hpp"

namespace adacomp {

enum class TensorFormat { npy, npz, safetensors, raw };

std::optional<TensorFormat> format_from_name(const std::string& name);       // "npy", ...
std::optional<TensorFormat> format_from_extension(const std::string& path);  // "x.npz" -> npz
// By the first bytes: \x93NUMPY, a ZIP local header, or a safetensors JSON header.
std::optional<TensorFormat> sniff_format(std::span<const std::byte> bytes);

struct TensorReadOptions {
  // .npy/.npz: how to read untyped void arrays, as ml_dtypes saves them: 2-byte `V2` as bf16,
  // 1-byte `V1` as one of the FP8 types; raw: the element type (default f32).
  std::optional<DType> dtype;
  // raw input: the shape (required) and the tensor name.
  std::optional<std::vector<std::uint64_t>> raw_shape;
  // the name of the tensor of a .npy or raw input
  std::string single_name = "tensor";
};

// Parse a whole tensor file; `source` names it in errors. Format by content unless raw_shape is
// set. Tensors come in file order.
std::vector<Tensor> parse_tensor_file(std::span<const std::byte> bytes, const std::string& source,
                                      const TensorReadOptions& options);

// Read a tensor file ("-" = stdin, named "<stdin>" in errors) with the same acceptance rules and
// messages as parse_tensor_file. .npy and raw input is streamed into the tensor: peak memory is
// the tensor plus one 64 MiB chunk, and a forged shape allocates no more than the input holds.
std::vector<Tensor> read_tensor_file(const std::string& path, const TensorReadOptions& options);

namespace detail {
class MappedFile;
}

// The tensors of an input file as views, for encoding. A regular .npy or .safetensors file is
// mapped read-only and its float32 little-endian C-order tensors are viewed where they lie: the
// page cache holds them and nothing is copied. Other tensors, and other inputs (stdin, pipes,
// .npz, raw), are read as read_tensor_file reads them; the acceptance rules and messages are the
// same. A mapped file truncated by another process while in use raises SIGBUS (as with any
// mapped reader); mapped_file_at() names the file for the handler.
class InputTensors {
 public:
  InputTensors();
  InputTensors(InputTensors&&) noexcept;
  InputTensors& operator=(InputTensors&&) noexcept;
  ~InputTensors();

  std::span<const TensorView> views() const noexcept { return views_; }
  // How many of the views are of the mapped file, not copies.
  std::size_t mapped_count() const noexcept { return mapped_count_; }

 private:
  friend InputTensors read_input_tensors(const std::string& path, const TensorReadOptions& options);
  std::unique_ptr<detail::MappedFile> mapping_;
  std::vector<Tensor> owned_;
  std::vector<TensorView> views_;
  std::size_t mapped_count_ = 0;
};

InputTensors read_input_tensors(const std::string& path, const TensorReadOptions& options);

// The name of the mapped input file holding `address`, or null: async-signal-safe, for a SIGBUS
// handler.
const char* mapped_file_at(const void* address) noexcept;

// Serialize tensors, each in its own `dtype`. npy and raw take any count for raw, one for npy.
std::vector<std::byte> serialize_tensor_file(const std::vector<Tensor>& tensors, TensorFormat format);

// Receives consecutive pieces of a file being written.
using ByteSink = std::function<void(std::span<const std::byte>)>;

// The bytes of serialize_tensor_file(tensors, format), handed to `sink` in pieces: the data go
// out straight from the tensors (float32) or through a small conversion buffer, so that no second
// copy of a large tensor is made (.npz members are stored, their CRC-32 computed beforehand).
void write_tensor_file(const std::vector<Tensor>& tensors, TensorFormat format, const ByteSink& sink);

// Individual formats (used by the above, exposed for tests and the fuzz targets).
Tensor parse_npy(std::span<const std::byte> bytes, const std::string& source, const std::string& name,
                 std::optional<DType> void_dtype);
std::vector<std::byte> serialize_npy(const Tensor& tensor);
std::vector<std::byte> npy_header(const Tensor& tensor);  // magic to the end of the padded header
std::vector<Tensor> parse_npz(std::span<const std::byte> bytes, const std::string& source,
                              std::optional<DType> void_dtype);
std::vector<std::byte> serialize_npz(const std::vector<Tensor>& tensors);
void write_npz(const std::vector<Tensor>& tensors, const ByteSink& sink);
std::vector<Tensor> parse_safetensors(std::span<const std::byte> bytes, const std::string& source);
std::vector<std::byte> serialize_safetensors(const std::vector<Tensor>& tensors);
void write_safetensors(const std::vector<Tensor>& tensors, const ByteSink& sink);

}  // namespace adacomp
