#pragma once
// The encoder's residue correction (library-internal): once the tensor scale is known, every
// selected element of the residue, which holds G, becomes G - sign(G) * scale.
#include <cstddef>
#include <cstdint>

namespace adacomp::detail {

// residue[i] -= sign(residue[i]) * scale for i in [0, count) where bit i of `selection` is set
// (selected elements have G != 0, so the sign is that of the residue itself). A dense pass over
// the residue: at the densities AdaComp produces, most cache lines hold a selected element, and
// a stream runs at memory speed where a scatter over the entries waits on each line.
void correct_residue(float* residue, const std::uint64_t* selection, std::size_t count, float scale);

}  // namespace adacomp::detail
