#pragma once
// The receiving side of an exchange: the element-wise mean of every learner's stream, as replay
// averages (format_spec/dump_layout.md, section 2), for callers outside replay (the PyTorch hook).
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "adacomp/wire.hpp"

namespace adacomp {

// Where the mean of one tensor goes: `values` has the tensor's element count.
struct AverageTarget {
  std::string name;
  std::span<float> values;
};

// Each stream (one per learner, in learner order) must hold exactly one frame of each target's
// tensor, by name and element count, in any order; Error(invalid_input) naming
// "<source> of learner L", the frame and what is wrong otherwise, before any target is written.
// The sum runs in binary64 in learner order (a compressed frame adds +-scale at its entries
// only), then is divided by the learner count and rounded to float32: the bits replay produces.
// `layout`: the layout that streams referring to one by hash were written with.
void average_streams(std::span<const std::span<const std::byte>> streams, std::span<const AverageTarget> targets,
                     const std::string& source = "stream", const wire::Layout* layout = nullptr);

}  // namespace adacomp
