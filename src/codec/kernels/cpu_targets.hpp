#pragma once
// The Highway targets this CPU runs, found by adacomp itself rather than by libhwy: Debian 12's
// libhwy 1.0.3 calibrates a benchmark timer in a static initializer (CPUID-serialised loops,
// which trap to the hypervisor on a VM), about 4 ms at the start of every process that links it,
// four times a `cat` of a small file. Its target detection was all that a release build used of
// it, so with this and the dispatch of kernel_registry.hpp a release build references no libhwy
// symbol, and programs linked with --as-needed (CMakeLists.txt) do not load it (README,
// "Dependencies and why").
#include <cstdint>

namespace adacomp::detail {

// Highway target bits (hwy/detect_targets.h) of the x86 targets whose features this CPU and its
// operating system have, as Highway's targets.cc groups them, with HWY_SCALAR and HWY_EMU128,
// which every CPU runs. Computed once.
std::int64_t cpu_targets();

}  // namespace adacomp::detail
