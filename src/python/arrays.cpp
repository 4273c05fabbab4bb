#include "python/arrays.hpp"

#include <pybind11/numpy.h>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"

namespace adacomp::python {

namespace {

// NumPy's and the buffer protocol's format characters (with a byte-order prefix or not).
char format_code(const py::buffer_info& info) {
  std::string f = info.format;
  if (!f.empty() && (f[0] == '<' || f[0] == '=' || f[0] == '@')) f.erase(0, 1);
  return f.size() == 1 ? f[0] : '?';
}

std::string element_description(const py::buffer_info& info) {
  switch (format_code(info)) {
    case 'd':
      return "float64";
    case 'f':
      return "float32";
    case 'e':
      return "float16";
    default:
      return "'" + info.format + "' elements of " + std::to_string(info.itemsize) + " bytes";
  }
}

bool c_contiguous(const py::buffer_info& info) {
  py::ssize_t expected = info.itemsize;
  for (py::ssize_t d = info.ndim; d-- > 0;) {
    if (info.shape[static_cast<std::size_t>(d)] != 1 && info.strides[static_cast<std::size_t>(d)] != expected)
      return false;
    expected *= info.shape[static_cast<std::size_t>(d)];
  }
  return true;
}

std::vector<std::uint64_t> shape_of(const py::buffer_info& info) {
  std::vector<std::uint64_t> shape;
  for (const auto d : info.shape) shape.push_back(static_cast<std::uint64_t>(d));
  return shape;
}

}  // namespace

void read_input_tensor(const std::string& name, const py::buffer& data, const std::string& dtype_name,
                       InputTensor& out) {
  out.buffer = data.request();
  const py::buffer_info& info = out.buffer;
  const auto dtype = adacomp::dtype_from_name(dtype_name);
  if (!dtype) fail_usage("tensor '" + name + "': unknown dtype '" + dtype_name + "' (f32, f16 or bf16)");
  const char code = format_code(info);
  const bool matches = (*dtype == DType::f32 && code == 'f' && info.itemsize == 4) ||
                       (*dtype == DType::f16 && code == 'e' && info.itemsize == 2) ||
                       (*dtype == DType::bf16 && (code == 'h' || code == 'H') && info.itemsize == 2);
  if (!matches)
    fail_usage("tensor '" + name + "' holds " + element_description(info) +
               "; adacomp reads float32, float16 or bfloat16 and does not convert silently: convert it first");
  if (!c_contiguous(info))
    fail_usage("tensor '" + name + "' is not C-contiguous; adacomp does not copy silently: pass a contiguous copy");
  const std::vector<std::uint64_t> shape = shape_of(info);
  const std::uint64_t count = checked_element_count(shape, "tensor '" + name + "'");
  if (shape.size() > kMaxRank)
    fail_usage("tensor '" + name + "' has rank " + std::to_string(shape.size()) + ", above " +
               std::to_string(kMaxRank));
  if (*dtype == DType::f32) {
    out.view = TensorView(name, DType::f32, shape, {static_cast<const float*>(info.ptr), count});
    return;
  }
  out.widened.resize(count);
  decode_elements(static_cast<const std::byte*>(info.ptr), count, *dtype, out.widened.data());
  out.view = TensorView(name, *dtype, shape, out.widened);
}

std::span<float> writable_floats(const std::string& name, const py::buffer& data, py::buffer_info& held) {
  held = data.request(true);
  if (!(format_code(held) == 'f' && held.itemsize == 4))
    fail_usage("output tensor '" + name + "' holds " + element_description(held) + ", not float32");
  if (!c_contiguous(held)) fail_usage("output tensor '" + name + "' is not C-contiguous");
  return {static_cast<float*>(held.ptr), static_cast<std::size_t>(held.size)};
}

std::span<const std::byte> byte_span(const py::buffer& data, py::buffer_info& held, const std::string& what) {
  held = data.request();
  if (!c_contiguous(held)) fail_usage(what + " is not a contiguous buffer");
  return {static_cast<const std::byte*>(held.ptr), static_cast<std::size_t>(held.size * held.itemsize)};
}

std::optional<wire::Layout> layout_argument(const py::object& bytes, const std::string& what) {
  if (bytes.is_none()) return std::nullopt;
  py::buffer_info held;
  MemoryInput input(byte_span(bytes.cast<py::buffer>(), held, what), what);
  return wire::read_layout(input);
}

py::bytes layout_bytes(const wire::Layout& layout) {
  const std::vector<std::byte> bytes = wire::layout_file_bytes(layout);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

py::array new_float_array(const std::vector<std::uint64_t>& shape, std::span<float>& values) {
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  py::array_t<float> array(dims);
  values = {array.mutable_data(), static_cast<std::size_t>(array.size())};
  return array;
}

}  // namespace adacomp::python
