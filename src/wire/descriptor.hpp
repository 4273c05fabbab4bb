#pragma once
// The tensor descriptor of wire format 2.0 (format_spec/wire_format.md, section 13.3): what a
// self-described frame and each entry of a layout record say about a tensor.
#include <vector>

#include "adacomp/wire.hpp"
#include "wire/header_reader.hpp"

namespace adacomp::wire {

void append_descriptor(std::vector<std::byte>& out, const TensorLayout& tensor);
// Reads and checks one descriptor; frames above `max_elements` are refused before any allocation.
// `stream_minor` is the minor version the stream declares (dtype codes are checked against it).
TensorLayout read_descriptor(HeaderReader& reader, std::uint64_t max_elements, std::uint8_t stream_minor);
// Error(usage) for a name a stream cannot carry.
void check_tensor_name(const std::string& name);

}  // namespace adacomp::wire
