#pragma once
// Python buffers (NumPy arrays, torch tensors' .numpy(), bytes) as the library's spans: what is
// read in place and what is refused rather than copied silently.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "adacomp/dtype.hpp"
#include "adacomp/tensor.hpp"
#include "adacomp/wire.hpp"

namespace adacomp::python {

namespace py = pybind11;

// One input tensor held for the length of a call: a view of the caller's float32 memory, or of
// `widened` for f16 and bf16 sources (which the library reads as float32).
struct InputTensor {
  py::buffer_info buffer;
  std::vector<float> widened;
  TensorView view;
};

// `dtype_name` "f32", "f16" or "bf16" (bf16: 2-byte integers holding the bits). Error(usage)
// naming the tensor for another element type, a non-C-contiguous layout, or a dtype that does
// not match the buffer's elements. float32 is never copied.
void read_input_tensor(const std::string& name, const py::buffer& data, const std::string& dtype_name,
                       InputTensor& out);

// A writable C-contiguous float32 buffer as a span; Error(usage) naming the tensor otherwise.
std::span<float> writable_floats(const std::string& name, const py::buffer& data, py::buffer_info& held);

// The bytes of any buffer (bytes, bytearray, memoryview, uint8 array), held in `held`.
std::span<const std::byte> byte_span(const py::buffer& data, py::buffer_info& held, const std::string& what);

// The layout of a layout file's bytes (None: no layout); Error(invalid_input) naming `what`.
std::optional<wire::Layout> layout_argument(const py::object& bytes, const std::string& what);
// A layout file's bytes, as `adacomp layout` writes them.
py::bytes layout_bytes(const wire::Layout& layout);

// A new NumPy float32 array of `shape`, uninitialised, and its memory.
py::array new_float_array(const std::vector<std::uint64_t>& shape, std::span<float>& values);

}  // namespace adacomp::python
