// adacomp._adacomp.Encoder: a learner's encoder with its residues keyed by tensor name.
#include <mutex>
#include <optional>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "adacomp/encoder.hpp"
#include "adacomp/error.hpp"
#include "python/arrays.hpp"
#include "python/bindings.hpp"

namespace adacomp::python {

namespace {

void add_bin_size_rules(const py::handle& rules, BinSizePolicy& policy) {
  if (rules.is_none()) return;
  if (py::isinstance<py::int_>(rules) || py::isinstance<py::str>(rules)) {
    policy.add_rule(py::str(rules).cast<std::string>());
  } else if (py::isinstance<py::dict>(rules)) {
    for (const auto& [glob, size] : rules.cast<py::dict>())
      policy.add_rule(py::str(glob).cast<std::string>() + "=" + py::str(size).cast<std::string>());
  } else if (py::isinstance<py::sequence>(rules)) {
    for (const auto& rule : rules.cast<py::sequence>()) add_bin_size_rules(rule, policy);
  } else {
    fail_usage("bin_size must be N, 'GLOB=N', a dict {GLOB: N} or a list of these");
  }
}

std::vector<TensorView> read_items(const py::sequence& items, std::vector<InputTensor>& inputs) {
  std::vector<TensorView> views;
  std::size_t i = 0;
  for (const auto& item : items) {
    const auto tuple = item.cast<py::tuple>();
    if (tuple.size() != 3) fail_usage("encode takes (name, array, dtype) triples");
    read_input_tensor(tuple[0].cast<std::string>(), tuple[1].cast<py::buffer>(), tuple[2].cast<std::string>(),
                      inputs[i]);
    views.push_back(inputs[i++].view);
  }
  return views;
}

class Encoder {
 public:
  Encoder(const py::object& bin_size, double scale_factor, const std::string& entries, int zstd,
          std::vector<std::string> exclude, unsigned threads) {
    add_bin_size_rules(bin_size, settings_.bin_sizes);
    if (!(scale_factor >= kMinScaleFactor && scale_factor <= kMaxScaleFactor))
      fail_usage("scale_factor must be between 1 and 4, not " + py::str(py::float_(scale_factor)).cast<std::string>());
    settings_.scale_factor = static_cast<float>(scale_factor);
    if (entries != "coded" && entries != "fixed")
      fail_usage("entries must be 'coded' (format 2.0) or 'fixed' (format 1.0), not '" + entries + "'");
    settings_.entries = entries == "fixed" ? wire::EntryLayout::fixed : wire::EntryLayout::coded;
    if (zstd < 0 || zstd > 19) fail_usage("zstd must be a level from 1 to 19, or 0 for none");
    settings_.zstd_level = zstd;
    settings_.exclude = std::move(exclude);
    if (threads < 1 || threads > 256) fail_usage("threads must be between 1 and 256");
    settings_.threads = threads;
  }

  // items: (name, buffer, dtype name) in frame order; layout: a layout file's bytes, or None
  py::bytes encode(const py::sequence& items, const py::object& layout_file) {
    if (broken_) fail_usage(*broken_);
    std::vector<InputTensor> inputs(items.size());
    const std::vector<TensorView> views = read_items(items, inputs);
    const std::optional<wire::Layout> layout = layout_argument(layout_file, "layout");
    std::vector<std::byte> out;
    {
      py::gil_scoped_release release;
      const std::lock_guard<std::mutex> lock(mutex_);
      EncodeSettings settings = settings_;
      settings.layout = layout ? &*layout : nullptr;
      try {
        encode_stream(views, residues_, settings, out);
      } catch (const Error& e) {
        // A step may have updated some residues before the error: none of them may be used again.
        broken_ = std::string("the encoder's residues are lost after a failed encode (") + e.what() +
                  "): call reset() or load_state_dict()";
        throw;
      }
    }
    return {reinterpret_cast<const char*>(out.data()), out.size()};
  }

  // The layout file these settings give the tensors (what `adacomp layout` writes).
  py::bytes layout_for(const py::sequence& items) const {
    std::vector<InputTensor> inputs(items.size());
    return layout_bytes(adacomp::layout_for(read_items(items, inputs), settings_));
  }

  py::dict state_dict() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (broken_) fail_usage(*broken_);
    py::dict residues;
    for (auto& [name, residue] : residues_) {
      std::span<float> values;
      py::array array = new_float_array(residue.shape(), values);
      const auto flat = residue.values().flat();
      std::copy(flat.begin(), flat.end(), values.begin());
      residues[py::str(name)] = array;
    }
    py::dict state;
    state["residues"] = residues;
    return state;
  }

  void load_state_dict(const py::dict& state) {
    if (!state.contains("residues")) fail_usage("load_state_dict: the state has no 'residues'");
    ResidueMap loaded;
    for (const auto& [key, value] : state["residues"].cast<py::dict>()) {
      const std::string name = key.cast<std::string>();
      InputTensor input;
      read_input_tensor(name, value.cast<py::buffer>(), "f32", input);
      Tensor tensor = make_tensor(name, DType::f32, input.view.shape);
      std::copy(input.view.values.begin(), input.view.values.end(), tensor.flat().begin());
      loaded.emplace(name, Residue(std::move(tensor)));
    }
    const std::lock_guard<std::mutex> lock(mutex_);
    residues_ = std::move(loaded);
    broken_.reset();
  }

  void reset() {
    const std::lock_guard<std::mutex> lock(mutex_);
    residues_.clear();
    broken_.reset();
  }

  std::vector<std::string> residue_names() {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> names;
    for (const auto& [name, residue] : residues_) names.push_back(name);
    return names;
  }

  // The bin size a tensor of this name and rank gets (0: excluded, sent uncompressed).
  std::uint32_t bin_size_for(const std::string& name, std::size_t rank) const {
    return settings_.excluded(name) ? 0 : settings_.bin_sizes.bin_size_for(name, rank);
  }

  float scale_factor() const { return settings_.scale_factor; }
  std::string entries() const { return std::string(wire::entry_layout_name(settings_.entries)); }
  int zstd() const { return settings_.zstd_level; }
  std::vector<std::string> exclude() const { return settings_.exclude; }
  unsigned threads() const { return settings_.threads; }

 private:
  EncodeSettings settings_;
  ResidueMap residues_;
  std::optional<std::string> broken_;
  std::mutex mutex_;
};

}  // namespace

void bind_encoder(py::module_& m) {
  py::class_<Encoder>(m, "_Encoder")
      .def(py::init<const py::object&, double, const std::string&, int, std::vector<std::string>, unsigned>(),
           py::arg("bin_size") = py::none(), py::arg("scale_factor") = kDefaultScaleFactor,
           py::arg("entries") = "coded", py::arg("zstd") = 0, py::arg("exclude") = std::vector<std::string>{},
           py::arg("threads") = 1)
      .def("_encode", &Encoder::encode, py::arg("items"), py::arg("layout") = py::none())
      .def("_layout_for", &Encoder::layout_for, py::arg("items"))
      .def("state_dict", &Encoder::state_dict, "The residues by tensor name (float32 copies)")
      .def("load_state_dict", &Encoder::load_state_dict, py::arg("state"))
      .def("reset", &Encoder::reset, "Forget every residue (a fresh learner)")
      .def("residue_names", &Encoder::residue_names)
      .def("bin_size_for", &Encoder::bin_size_for, py::arg("name"), py::arg("rank"))
      .def_property_readonly("scale_factor", &Encoder::scale_factor)
      .def_property_readonly("entries", &Encoder::entries)
      .def_property_readonly("zstd", &Encoder::zstd)
      .def_property_readonly("exclude", &Encoder::exclude)
      .def_property_readonly("threads", &Encoder::threads);
}

}  // namespace adacomp::python
