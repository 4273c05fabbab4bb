#pragma once
#include <vector>

#include "adacomp/wire.hpp"

namespace adacomp::cli {

// Sizes of encoded frames on stderr: one row per frame when `per_frame`, and a total line.
// `stream_bytes`: the whole stream (or input) the frames came in.
void print_frame_table(const std::vector<wire::FrameInfo>& frames, bool per_frame, std::uint64_t stream_bytes);

}  // namespace adacomp::cli
