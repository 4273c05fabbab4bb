#pragma once
// The payload rules both format versions share: stored size against the raw size, the frame
// checksum, the zstd stage (format_spec/wire_format.md, sections 5.3 to 5.5).
#include <string>
#include <vector>

#include "adacomp/wire.hpp"

namespace adacomp::wire {

// `context` is the frame's description ("FILE: frame 2 'w' at byte 80").
void check_stored_size(const FrameInfo& info, const std::string& context);
// Reads the frame's checksum after `stored` and compares it with XXH64 of header + stored.
void verify_checksum(ByteInput& input, const std::vector<std::byte>& header, const std::vector<std::byte>& stored,
                     FrameInfo& info, const std::string& context);
// The raw payload of a zstd-staged frame.
std::vector<std::byte> unzstd(const std::vector<std::byte>& stored, const FrameInfo& info, const std::string& context);

}  // namespace adacomp::wire
