// decode(), inspect() and average(): the receiving side, over bytes.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "adacomp/error.hpp"
#include "adacomp/inspect.hpp"
#include "adacomp/stream_average.hpp"
#include "adacomp/wire.hpp"
#include "python/arrays.hpp"
#include "python/bindings.hpp"

namespace adacomp::python {

namespace {

py::dict decode(const py::buffer& data, const std::string& source, const py::object& layout_file) {
  const std::optional<wire::Layout> layout = layout_argument(layout_file, "layout");
  py::buffer_info held;
  MemoryInput input(byte_span(data, held, source), source);
  wire::StreamReader reader(input);
  reader.set_agreed_layout(layout ? &*layout : nullptr);
  py::dict tensors;
  while (true) {
    std::optional<wire::Frame> frame;
    {
      py::gil_scoped_release release;
      frame = reader.next();
    }
    if (!frame) break;
    const wire::FrameInfo& info = frame->info;
    const py::str name(info.name);
    if (tensors.contains(name))
      fail_input(info.describe(source) + ": a second tensor of this name (decode one stream at a time)");
    std::span<float> values;
    py::array array = new_float_array(info.shape, values);
    {
      py::gil_scoped_release release;
      wire::decode_frame_into(*frame, values, source);
    }
    tensors[name] = array;
  }
  return tensors;
}

py::object inspect(const py::buffer& data, bool bins, const std::vector<std::string>& frames, const std::string& source,
                   const py::object& layout_file) {
  const std::optional<wire::Layout> layout = layout_argument(layout_file, "layout");
  py::buffer_info held;
  MemoryInput input(byte_span(data, held, source), source);
  StreamInspection inspection(input, {bins, frames, layout ? &*layout : nullptr, true});
  std::string document;
  {
    py::gil_scoped_release release;
    inspection.run();
    document = inspection.json_text();
  }
  if (inspection.failure()) throw *inspection.failure();
  return py::module_::import("json").attr("loads")(document)["frames"];
}

void average(const py::sequence& streams, const py::dict& outputs, const std::string& source,
             const py::object& layout_file) {
  const std::optional<wire::Layout> layout = layout_argument(layout_file, "layout");
  std::vector<py::buffer_info> held_streams(streams.size());
  std::vector<std::span<const std::byte>> spans;
  for (std::size_t l = 0; l < streams.size(); ++l)
    spans.push_back(
        byte_span(streams[l].cast<py::buffer>(), held_streams[l], source + " of learner " + std::to_string(l)));
  std::vector<py::buffer_info> held_outputs(outputs.size());
  std::vector<AverageTarget> targets;
  std::size_t t = 0;
  for (const auto& [key, value] : outputs) {
    const std::string name = key.cast<std::string>();
    targets.push_back({name, writable_floats(name, value.cast<py::buffer>(), held_outputs[t++])});
  }
  py::gil_scoped_release release;
  average_streams(spans, targets, source, layout ? &*layout : nullptr);
}

}  // namespace

void bind_streams(py::module_& m) {
  m.def("decode", &decode, py::arg("data"), py::arg("source") = "<bytes>", py::arg("layout") = py::none(),
        "The tensors of a stream as float32 arrays by name, in frame order");
  m.def("inspect", &inspect, py::arg("data"), py::arg("bins") = false, py::arg("frames") = std::vector<std::string>{},
        py::arg("source") = "<bytes>", py::arg("layout") = py::none(),
        "The frames of a stream as `adacomp inspect --json` lists them (format_spec/cli_json.md)");
  m.def("average", &average, py::arg("streams"), py::arg("outputs"), py::arg("source") = "stream",
        py::arg("layout") = py::none(),
        "Write the mean over the learners' streams (in learner order) into the float32 arrays of `outputs`");
  m.def(
      "layout_hash", [](const py::buffer& layout) { return layout_argument(layout, "layout")->hash; },
      py::arg("layout"), "The 64-bit hash that streams referring to a layout file carry");
  m.def(
      "_view_address",
      [](const std::string& name, const py::buffer& data, const std::string& dtype) {
        InputTensor input;
        read_input_tensor(name, data, dtype, input);
        return reinterpret_cast<std::uintptr_t>(input.view.values.data());
      },
      "Where the encoder reads a tensor's values (tests check that float32 is read in place)");
}

}  // namespace adacomp::python
