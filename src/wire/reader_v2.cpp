// Version 2.0 records (format_spec/wire_format.md, section 13): compact frames, layout records and
// the compact end record. The stream structure and version 1.0 frames are in reader.cpp.
#include <cmath>
#include <set>

#include <xxhash.h>

#include "adacomp/error.hpp"
#include "adacomp/wire.hpp"
#include "wire/descriptor.hpp"
#include "wire/header_reader.hpp"
#include "wire/payload_checks.hpp"

namespace adacomp::wire {

std::optional<Frame> StreamReader::next_compact(std::uint64_t at, std::uint8_t type) {
  switch (type) {
    case kRecordFrame:
    case kRecordZstdFrame:
      return read_compact_frame(at, type == kRecordZstdFrame);
    case kRecordLayout:
      read_layout_record(at);
      return std::nullopt;
    case kRecordEnd:
      read_compact_end(at);
      return std::nullopt;
    default:
      fail_input(input_.name() + ": unknown record type " + std::to_string(type) + " at byte " + std::to_string(at) +
                 " (format 2.0 records are F, Z, L and E)");
  }
}

void StreamReader::read_layout_record(std::uint64_t at) {
  const std::string label = "layout record at byte " + std::to_string(at);
  auto fail = [&](const std::string& what) { fail_input(input_.name() + ": " + label + ": " + what); };
  if (frames_in_stream_ > 0 || layout_) fail("a layout record must come once, before the stream's first frame");
  std::vector<std::byte> header{std::byte{kRecordLayout}};
  HeaderReader reader(input_, header, [&] { return input_.name() + ": " + label; });
  const auto form = reader.take<std::uint8_t>("form");
  std::optional<std::uint64_t> reference;
  std::vector<TensorLayout> tensors;
  std::uint64_t hash = 0;
  if (form == kLayoutFull) {
    const std::size_t body_start = header.size();
    const std::uint64_t count = reader.take_varint("tensor count");
    if (count < 1 || count > kMaxLayoutTensors)
      fail("tensor count " + std::to_string(count) + " is outside 1.." + std::to_string(kMaxLayoutTensors));
    std::set<std::string> names;
    for (std::uint64_t i = 0; i < count; ++i) {
      tensors.push_back(read_descriptor(reader, max_elements_, minor_));
      if (!names.insert(tensors.back().name).second) fail("tensor '" + tensors.back().name + "' appears twice");
    }
    hash = XXH64(header.data() + body_start, header.size() - body_start, 0);
  } else if (form == kLayoutReference) {
    reference = reader.take<std::uint64_t>("layout hash");
  } else {
    fail("unknown layout record form " + std::to_string(form));
  }
  const auto stored = reader.take<std::uint32_t>("checksum");
  const auto computed = static_cast<std::uint32_t>(XXH64(header.data(), header.size() - 4, 0));
  if (stored != computed) fail("checksum mismatch: the record is corrupt");
  if (reference) {
    if (!agreed_layout_)
      fail("the stream refers to layout " + hex64(*reference) +
           ", agreed out of band: give its layout file with --layout FILE");
    if (agreed_layout_->hash != *reference)
      fail("the stream refers to layout " + hex64(*reference) + " but the layout given has hash " +
           hex64(agreed_layout_->hash));
    layout_ = agreed_layout_;
    headers_.back().layout_hash = *reference;
  } else {
    stream_layout_ = Layout{std::move(tensors), hash};
    layout_ = &*stream_layout_;
    headers_.back().layout_hash = hash;
    headers_.back().layout_inline = true;
  }
}

void StreamReader::read_compact_end(std::uint64_t at) {
  std::vector<std::byte> header{std::byte{kRecordEnd}};
  HeaderReader reader(input_, header, [&] { return input_.name() + ": end record at byte " + std::to_string(at); });
  const std::uint64_t declared = reader.take_varint("frame count");
  if (declared != frames_in_stream_)
    fail_input(input_.name() + ": end record at byte " + std::to_string(at) + " declares " + std::to_string(declared) +
               " frames but the stream holds " + std::to_string(frames_in_stream_));
  in_stream_ = false;
}

Frame StreamReader::read_compact_frame(std::uint64_t at, bool zstd) {
  Frame frame;
  FrameInfo& info = frame.info;
  info.index = frames_total_;
  info.offset = at;
  info.format_major = kFormatMajor;
  info.format_minor = minor_;
  info.zstd = zstd;
  const std::string source = input_.name();
  auto fail = [&](const std::string& what) { fail_input(info.describe(source) + ": " + what); };
  std::vector<std::byte> header{std::byte{zstd ? kRecordZstdFrame : kRecordFrame}};
  HeaderReader reader(input_, header, [&] { return info.describe(source); });

  TensorLayout tensor;
  if (layout_) {
    const std::uint64_t skip = reader.take_varint("tensor index");
    const std::uint64_t first = last_layout_index_ ? *last_layout_index_ + 1 : 0;
    if (skip >= layout_->tensors.size() || first + skip >= layout_->tensors.size())
      fail("refers to tensor " + std::to_string(first) + " + " + std::to_string(skip) + " of a layout of " +
           std::to_string(layout_->tensors.size()) + " tensors");
    last_layout_index_ = first + skip;
    info.layout_index = first + skip;
    tensor = layout_->tensors[first + skip];
    check_dtype_version(tensor.dtype, kFormatMajor, minor_, info.describe(source));
    if (tensor.element_count > max_elements_)
      fail(std::to_string(tensor.element_count) + " elements exceed this reader's limit of " +
           std::to_string(max_elements_));
  } else {
    tensor = read_descriptor(reader, max_elements_, minor_);
  }
  info.name = tensor.name;
  info.kind = tensor.kind;
  info.dtype = tensor.dtype;
  info.shape = tensor.shape;
  info.element_count = tensor.element_count;
  info.bin_size = tensor.bin_size;
  const bool compressed = info.kind == FrameKind::compressed;
  if (compressed) info.entry_layout = EntryLayout::coded;
  if (zstd && compressed) fail("the zstd stage (record type Z) is for passthrough frames only");

  info.payload_stored_bytes = reader.take_varint("payload size");
  info.header_bytes = header.size();
  if (!compressed) {
    info.payload_raw_bytes = info.element_count * dtype_size(info.dtype);
    check_stored_size(info, info.describe(source));
  }
  std::vector<std::byte> stored = input_.read_vector(info.payload_stored_bytes, "payload of " + info.label());
  verify_checksum(input_, header, stored, info, info.describe(source));
  if (!compressed) {
    frame.payload = zstd ? unzstd(stored, info, info.describe(source)) : std::move(stored);
  } else {
    frame.payload = std::move(stored);
    info.payload_raw_bytes = frame.payload.size();
    std::size_t pos = 0;
    info.entry_count = read_varint(frame.payload, pos, info.describe(source), "the entry count");
    if (info.entry_count > info.element_count)
      fail("entry count " + std::to_string(info.entry_count) + " exceeds the element count " +
           std::to_string(info.element_count));
    if (info.entry_count == 0) {
      if (pos != frame.payload.size()) fail("bytes follow the entry count of a frame without entries");
    } else {
      if (frame.payload.size() - pos < 4 + 2) fail("the payload ends inside its scale or entries section");
      info.scale = load_le<float>(frame.payload.data() + pos);
      if (!std::isfinite(info.scale) || info.scale <= 0.0f) fail("scale is zero, negative or not finite");
      info.entries_offset = pos + 4;
      const auto mode = static_cast<std::uint8_t>(frame.payload[info.entries_offset]);
      if (mode > static_cast<std::uint8_t>(EntryCoding::rice))
        fail("unknown entry coding mode " + std::to_string(mode));
      info.entry_coding = static_cast<EntryCoding>(mode);
    }
  }
  ++frames_in_stream_;
  ++frames_total_;
  return frame;
}

}  // namespace adacomp::wire

namespace adacomp::wire {

Layout read_layout(ByteInput& input) {
  StreamReader reader(input);
  const std::string source = input.name();
  reader.next();  // the stream header and layout record, then its frames' first or the end
  if (!reader.layout() || reader.stream_headers().empty() || !reader.stream_headers().front().layout_inline)
    fail_input(source + ": not a layout file (a format 2.0 stream starting with a full layout record)");
  return *reader.layout();
}

}  // namespace adacomp::wire
