#pragma once
// The parts of the _adacomp extension module, each registering its names.
#include <pybind11/pybind11.h>

namespace adacomp::python {

void bind_encoder(pybind11::module_& m);
void bind_streams(pybind11::module_& m);

}  // namespace adacomp::python
