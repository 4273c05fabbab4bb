// safetensors: u64 header length, JSON header, one contiguous data buffer. The checks follow
// huggingface/safetensors (safetensors/src/tensor.rs and attacks/README.md).
#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "io/tensor_layout.hpp"

namespace adacomp {

namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

std::optional<DType> dtype_from_safetensors(const std::string& name) {
  if (name == "F32") return DType::f32;
  if (name == "F16") return DType::f16;
  if (name == "BF16") return DType::bf16;
  if (name == "F8_E5M2") return DType::f8e5m2;
  if (name == "F8_E4M3") return DType::f8e4m3;
  return std::nullopt;
}

const char* safetensors_dtype(const Tensor& tensor) {
  switch (tensor.dtype) {
    case DType::f32:
      return "F32";
    case DType::f16:
      return "F16";
    case DType::bf16:
      return "BF16";
    case DType::f8e5m2:
      return "F8_E5M2";
    case DType::f8e4m3:
      return "F8_E4M3";
    case DType::f8e4m3b11:
      break;
  }
  fail_usage("tensor '" + tensor.name + "' is " + std::string(dtype_name(tensor.dtype)) +
             ", which safetensors has no dtype for: write .npy or .npz (1-byte 'V1' elements), or pass --dtype f32");
}

}  // namespace

std::uint64_t detail::safetensors_header_bytes(std::span<const std::byte> first_bytes, std::uint64_t file_size,
                                               const std::string& source) {
  if (file_size < 8 || first_bytes.size() < 8) fail_input(source + ": truncated safetensors file (no header length)");
  const auto header_length = load_le<std::uint64_t>(first_bytes.data());
  if (header_length > kMaxHeaderBytes)
    fail_input(source + ": safetensors header length " + std::to_string(header_length) + " exceeds 100000000");
  if (header_length > file_size - 8)
    fail_input(source + ": truncated safetensors header (" + std::to_string(header_length) + " bytes declared, " +
               std::to_string(file_size - 8) + " present)");
  return 8 + header_length;
}

std::vector<detail::SafetensorsEntry> detail::parse_safetensors_entries(std::span<const std::byte> head,
                                                                        std::uint64_t file_size,
                                                                        const std::string& source) {
  const std::uint64_t header_end = safetensors_header_bytes(head, file_size, source);
  const std::uint64_t header_length = header_end - 8;
  const char* text = reinterpret_cast<const char*>(head.data() + 8);
  if (header_length == 0 || text[0] != '{') fail_input(source + ": safetensors header is not a JSON object");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, text + header_length);
  } catch (const nlohmann::json::exception& e) {
    fail_input(source + ": safetensors header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) fail_input(source + ": safetensors header is not a JSON object");

  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, value] : header.items()) {
    const std::string context = source + ": tensor '" + name + "'";
    if (name == "__metadata__") {
      if (!value.is_object()) fail_input(source + ": __metadata__ is not an object");
      continue;
    }
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets") ||
        value.size() != 3)
      fail_input(context + ": expected exactly the keys dtype, shape, data_offsets");
    const auto& dtype = value["dtype"];
    const auto& shape = value["shape"];
    const auto& offsets = value["data_offsets"];
    if (!dtype.is_string()) fail_input(context + ": dtype is not a string");
    const auto type = dtype_from_safetensors(dtype.get<std::string>());
    if (!type)
      fail_input(context + ": unsupported dtype " + dtype.get<std::string>() +
                 "; adacomp reads F32, F16, BF16, F8_E5M2 and F8_E4M3");
    if (!shape.is_array() || shape.size() > kMaxRank) fail_input(context + ": shape is not an array of at most 8 dims");
    SafetensorsEntry entry{name, *type, {}, 0, 0};
    for (const auto& dim : shape) {
      if (!dim.is_number_unsigned()) fail_input(context + ": shape has a dimension that is not a non-negative integer");
      entry.shape.push_back(dim.get<std::uint64_t>());
    }
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail_input(context + ": data_offsets is not a pair of non-negative integers");
    entry.begin = offsets[0].get<std::uint64_t>();
    entry.end = offsets[1].get<std::uint64_t>();
    const std::uint64_t count = checked_element_count(entry.shape, context);
    if (entry.end < entry.begin || entry.end - entry.begin != count * dtype_size(*type))
      fail_input(context + ": data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                 "] do not span " + std::to_string(count * dtype_size(*type)) + " bytes for shape " +
                 shape_string(entry.shape));
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const std::uint64_t data_size = file_size - header_end;
  std::uint64_t expected = 0;
  for (const SafetensorsEntry& entry : entries) {
    if (entry.begin != expected)
      fail_input(source + ": tensor '" + entry.name + "' starts at data offset " + std::to_string(entry.begin) +
                 " but the previous tensor ends at " + std::to_string(expected) + " (holes and overlaps are invalid)");
    expected = entry.end;
  }
  if (expected != data_size)
    fail_input(source + ": tensors cover " + std::to_string(expected) + " data bytes but the file holds " +
               std::to_string(data_size));
  return entries;
}

std::vector<Tensor> parse_safetensors(std::span<const std::byte> bytes, const std::string& source) {
  const auto entries = detail::parse_safetensors_entries(bytes, bytes.size(), source);
  const std::byte* data = bytes.data() + detail::safetensors_header_bytes(bytes, bytes.size(), source);
  std::vector<Tensor> tensors;
  tensors.reserve(entries.size());
  for (const detail::SafetensorsEntry& entry : entries) {
    Tensor tensor = make_tensor(entry.name, entry.dtype, entry.shape);
    decode_elements(data + entry.begin, tensor.size(), entry.dtype, tensor.values.data());
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

void write_safetensors(const std::vector<Tensor>& tensors, const ByteSink& sink) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  std::uint64_t offset = 0;
  for (const Tensor& tensor : tensors) {
    if (tensor.name == "__metadata__" || header.contains(tensor.name))
      fail_usage("cannot write tensor name '" + tensor.name + "' twice or as __metadata__ in safetensors");
    const std::uint64_t size = tensor.size() * dtype_size(tensor.dtype);
    header[tensor.name] = {
        {"dtype", safetensors_dtype(tensor)}, {"shape", tensor.shape()}, {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::type_error&) {
    fail_usage("a tensor name is not valid UTF-8, which a safetensors header cannot hold");
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned, as safetensors writes
  std::vector<std::byte> head;
  append_le<std::uint64_t>(head, text.size());
  head.insert(head.end(), reinterpret_cast<const std::byte*>(text.data()),
              reinterpret_cast<const std::byte*>(text.data()) + text.size());
  sink(head);
  for (const Tensor& tensor : tensors) detail::write_elements(tensor, sink);
}

std::vector<std::byte> serialize_safetensors(const std::vector<Tensor>& tensors) {
  return serialize_tensor_file(tensors, TensorFormat::safetensors);
}

}  // namespace adacomp
