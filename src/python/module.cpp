// The _adacomp extension module: a thin layer over the library (the package adacomp wraps it).
#include "adacomp/error.hpp"
#include "adacomp/version.hpp"
#include "adacomp/wire.hpp"
#include "python/bindings.hpp"

namespace py = pybind11;

namespace {

const char* kind_name(adacomp::ErrorKind kind) {
  switch (kind) {
    case adacomp::ErrorKind::usage:
      return "usage";
    case adacomp::ErrorKind::invalid_input:
      return "invalid_input";
    case adacomp::ErrorKind::io:
      return "io";
    case adacomp::ErrorKind::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace

PYBIND11_MODULE(_adacomp, m) {
  m.doc() = "adacomp: AdaComp gradient compression and its wire format";
  // One exception type, as the library has one: `kind` and `exit_code` as the CLI reports them.
  static py::exception<adacomp::Error> error(m, "Error");
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const adacomp::Error& e) {
      py::object instance = py::reinterpret_borrow<py::object>(error.ptr())(e.what());
      instance.attr("kind") = kind_name(e.kind());
      instance.attr("exit_code") = e.exit_code();
      PyErr_SetObject(error.ptr(), instance.ptr());
    }
  });
  m.attr("__version__") = adacomp::kToolVersion;
  m.attr("FORMAT_VERSION") = py::make_tuple(adacomp::wire::kFormatMajor, adacomp::wire::kFormatMinor);
  adacomp::python::bind_encoder(m);
  adacomp::python::bind_streams(m);
}
