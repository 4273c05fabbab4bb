#pragma once
// Which implementation of the encoder's inner loop runs. Every kernel computes the same bits
// (format_spec/wire_format.md fixes the arithmetic); they differ only in speed. "reference" is the
// plain C++ loop (of the selection, and of the 32-lane rANS coder and decoder of coded entries);
// the others are one SIMD loop compiled through Highway for several
// instruction sets (names as Highway gives them: "AVX3" is AVX-512, then "AVX2", "SSE4", "SSSE3",
// and "SCALAR", Highway's portable build without intrinsics, which is not the reference loop).
#include <string>
#include <vector>

namespace adacomp {

// The kernels this CPU can run, fastest first, "reference" last.
std::vector<std::string> available_kernels();

// "auto" (the default: the fastest), "reference", or a name from available_kernels();
// Error(usage) otherwise. Process-wide: call it before encoding starts, not during.
void select_kernel(const std::string& name);

// The kernel compress() uses now.
std::string active_kernel();

}  // namespace adacomp
