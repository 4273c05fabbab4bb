#include <algorithm>
#include <cstring>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "io/tensor_layout.hpp"

namespace adacomp {

std::optional<TensorFormat> format_from_name(const std::string& name) {
  if (name == "npy") return TensorFormat::npy;
  if (name == "npz") return TensorFormat::npz;
  if (name == "safetensors") return TensorFormat::safetensors;
  if (name == "raw") return TensorFormat::raw;
  return std::nullopt;
}

std::optional<TensorFormat> format_from_extension(const std::string& path) {
  const auto dot = path.rfind('.');
  const auto slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return std::nullopt;
  const std::string ext = path.substr(dot + 1);
  if (ext == "raw" || ext == "bin") return TensorFormat::raw;
  return format_from_name(ext);
}

std::optional<TensorFormat> sniff_format(std::span<const std::byte> bytes) {
  auto starts_with = [&](const char* magic, std::size_t size) {
    return bytes.size() >= size && std::memcmp(bytes.data(), magic, size) == 0;
  };
  if (starts_with("\x93NUMPY", 6)) return TensorFormat::npy;
  if (starts_with("PK\x03\x04", 4) || starts_with("PK\x05\x06", 4)) return TensorFormat::npz;
  if (bytes.size() >= 9 && static_cast<char>(bytes[8]) == '{') {
    const auto length = load_le<std::uint64_t>(bytes.data());
    if (length >= 2 && length <= bytes.size() - 8) return TensorFormat::safetensors;
  }
  return std::nullopt;
}

std::uint64_t detail::raw_data_bytes(const TensorReadOptions& options, const std::string& source) {
  return checked_element_count(*options.raw_shape, source) * dtype_size(options.dtype.value_or(DType::f32));
}

void detail::check_raw_data_size(const TensorReadOptions& options, std::uint64_t present, const std::string& source) {
  const DType dtype = options.dtype.value_or(DType::f32);
  const std::uint64_t expected = raw_data_bytes(options, source);
  if (present != expected)
    fail_input(source + ": raw input holds " + std::to_string(present) + " bytes but --shape " +
               shape_string(*options.raw_shape) + " of " + std::string(dtype_name(dtype)) + " needs " +
               std::to_string(expected));
}

static std::vector<Tensor> parse_raw(std::span<const std::byte> bytes, const std::string& source,
                                     const TensorReadOptions& options) {
  detail::check_raw_data_size(options, bytes.size(), source);
  const DType dtype = options.dtype.value_or(DType::f32);
  Tensor tensor = make_tensor(options.single_name, dtype, *options.raw_shape);
  decode_elements(bytes.data(), tensor.size(), dtype, tensor.values.data());
  std::vector<Tensor> out;
  out.push_back(std::move(tensor));
  return out;
}

std::vector<Tensor> parse_tensor_file(std::span<const std::byte> bytes, const std::string& source,
                                      const TensorReadOptions& options) {
  if (options.raw_shape) return parse_raw(bytes, source, options);
  const auto format = sniff_format(bytes);
  if (!format) fail_input(source + ": not a .npy, .npz or .safetensors file (for raw float32 input give --shape)");
  switch (*format) {
    case TensorFormat::npy: {
      std::vector<Tensor> out;
      out.push_back(parse_npy(bytes, source, options.single_name, options.dtype));
      return out;
    }
    case TensorFormat::npz:
      return parse_npz(bytes, source, options.dtype);
    case TensorFormat::safetensors:
      return parse_safetensors(bytes, source);
    case TensorFormat::raw:
      break;
  }
  fail_input(source + ": unrecognised tensor file");
}

namespace {

void check_npy_count(const std::vector<Tensor>& tensors) {
  if (tensors.size() != 1)
    fail_usage("a .npy file holds exactly one tensor, the input has " + std::to_string(tensors.size()) +
               " (write .npz or .safetensors)");
}

}  // namespace

void detail::write_elements(const Tensor& tensor, const ByteSink& sink) {
  if (tensor.dtype == DType::f32) {
    // float32 in memory is already its little-endian file form (little-endian hosts only).
    sink({reinterpret_cast<const std::byte*>(tensor.values.data()), tensor.size() * sizeof(float)});
    return;
  }
  constexpr std::size_t kPieceElements = std::size_t{1} << 18;
  std::vector<std::byte> piece(kPieceElements * dtype_size(tensor.dtype));
  for (std::size_t start = 0; start < tensor.size(); start += kPieceElements) {
    const std::size_t count = std::min(kPieceElements, tensor.size() - start);
    encode_elements(tensor.values.data() + start, count, tensor.dtype, piece.data());
    sink({piece.data(), count * dtype_size(tensor.dtype)});
  }
}

void write_tensor_file(const std::vector<Tensor>& tensors, TensorFormat format, const ByteSink& sink) {
  switch (format) {
    case TensorFormat::npy:
      check_npy_count(tensors);
      sink(npy_header(tensors.front()));
      detail::write_elements(tensors.front(), sink);
      return;
    case TensorFormat::raw:
      for (const Tensor& tensor : tensors) detail::write_elements(tensor, sink);
      return;
    case TensorFormat::npz:
      write_npz(tensors, sink);
      return;
    case TensorFormat::safetensors:
      write_safetensors(tensors, sink);
      return;
  }
}

std::vector<std::byte> serialize_tensor_file(const std::vector<Tensor>& tensors, TensorFormat format) {
  std::vector<std::byte> out;
  write_tensor_file(tensors, format,
                    [&](std::span<const std::byte> piece) { out.insert(out.end(), piece.begin(), piece.end()); });
  return out;
}

}  // namespace adacomp
