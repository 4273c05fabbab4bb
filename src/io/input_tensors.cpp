// Input tensors viewed in a mapped file where their bytes are already what the encoder reads.
#include "adacomp/tensor_file.hpp"
#include "io/mapped_file.hpp"
#include "io/tensor_layout.hpp"

namespace adacomp {

InputTensors::InputTensors() = default;
InputTensors::InputTensors(InputTensors&&) noexcept = default;
InputTensors& InputTensors::operator=(InputTensors&&) noexcept = default;
InputTensors::~InputTensors() = default;

namespace {

bool float_aligned(const std::byte* p) { return reinterpret_cast<std::uintptr_t>(p) % alignof(float) == 0; }

std::span<const float> floats_at(const std::byte* p, std::uint64_t count) {
  return {reinterpret_cast<const float*>(p), static_cast<std::size_t>(count)};
}

}  // namespace

InputTensors read_input_tensors(const std::string& path, const TensorReadOptions& options) {
  InputTensors out;
  std::unique_ptr<detail::MappedFile> mapped = options.raw_shape ? nullptr : detail::MappedFile::open(path);
  const auto format = mapped ? sniff_format(mapped->bytes()) : std::nullopt;
  if (format == TensorFormat::npy) {
    const auto bytes = mapped->bytes();
    const detail::NpyLayout layout = detail::parse_npy_layout(bytes, path, options.dtype);
    detail::check_npy_data_size(layout, bytes.size() - layout.data_offset, path);
    const std::byte* data = bytes.data() + layout.data_offset;
    if (layout.dtype == DType::f32 && !layout.big_endian && !(layout.fortran_order && layout.shape.size() > 1) &&
        float_aligned(data)) {
      out.views_.emplace_back(options.single_name, DType::f32, layout.shape, floats_at(data, layout.element_count));
      out.mapped_count_ = 1;
      out.mapping_ = std::move(mapped);
      return out;
    }
    out.owned_.push_back(parse_npy(bytes, path, options.single_name, options.dtype));
  } else if (format == TensorFormat::safetensors) {
    const auto bytes = mapped->bytes();
    const auto entries = detail::parse_safetensors_entries(bytes, bytes.size(), path);
    const std::byte* data = bytes.data() + detail::safetensors_header_bytes(bytes, bytes.size(), path);
    // A view of an owned tensor stays valid as owned_ grows: moving a Tensor keeps its storage.
    for (const detail::SafetensorsEntry& entry : entries) {
      const std::byte* at = data + entry.begin;
      if (entry.dtype == DType::f32 && float_aligned(at)) {
        out.views_.emplace_back(entry.name, DType::f32, entry.shape,
                                floats_at(at, (entry.end - entry.begin) / sizeof(float)));
        ++out.mapped_count_;
        continue;
      }
      Tensor tensor = make_tensor(entry.name, entry.dtype, entry.shape);
      decode_elements(at, tensor.size(), entry.dtype, tensor.values.data());
      out.owned_.push_back(std::move(tensor));
      out.views_.emplace_back(out.owned_.back());
    }
    if (out.mapped_count_) out.mapping_ = std::move(mapped);
    return out;
  } else {
    mapped.reset();
    out.owned_ = read_tensor_file(path, options);
  }
  out.views_ = views_of(out.owned_);
  return out;
}

}  // namespace adacomp
