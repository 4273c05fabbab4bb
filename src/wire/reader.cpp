#include <cmath>
#include <cstring>

#include <xxhash.h>
#include <zstd.h>

#include "adacomp/error.hpp"
#include "adacomp/wire.hpp"
#include "common/parallel_parts.hpp"
#include "wire/header_reader.hpp"
#include "wire/payload_checks.hpp"

namespace adacomp::wire {

namespace {

template <std::size_t N>
bool tag_is(const std::array<std::byte, 4>& bytes, const std::array<std::uint8_t, N>& tag) {
  return std::memcmp(bytes.data(), tag.data(), 4) == 0;
}

}  // namespace

std::string FrameInfo::label() const {
  std::string text = "frame " + std::to_string(index);
  if (!name.empty()) text += " '" + name + "'";
  return text + " at byte " + std::to_string(offset);
}

std::optional<Frame> StreamReader::next() {
  for (;;) {
    const std::uint64_t at = input_.offset();
    if (in_stream_ && major_ == kFormatMajor) {  // version 2.0 records start with one type byte
      std::array<std::byte, 1> type;
      if (!input_.read_exact_or_eof(type, "record type")) end_of_input_check(at);
      if (auto frame = next_compact(at, static_cast<std::uint8_t>(type[0]))) return frame;
      continue;
    }
    std::array<std::byte, 4> tag;
    if (!input_.read_exact_or_eof(tag, "record tag")) {
      end_of_input_check(at);
      return std::nullopt;
    }
    if (!in_stream_) {
      if (!tag_is(tag, kStreamMagic)) {
        if (streams_ == 0) fail_input(input_.name() + ": not an adacomp stream (bad magic number at byte 0)");
        fail_input(input_.name() + ": unexpected bytes at byte " + std::to_string(at) +
                   " after the end of a stream (expected another stream header or end of input)");
      }
      read_stream_header(tag, at);
      continue;
    }
    if (tag_is(tag, kFrameTag)) return read_frame(at);
    if (tag_is(tag, kEndTag)) {
      read_end_record(at);
      continue;
    }
    if (tag_is(tag, kStreamMagic))
      fail_input(input_.name() + ": stream header at byte " + std::to_string(at) +
                 " inside a stream (the previous stream has no end record)");
    fail_input(input_.name() + ": unknown record tag " + hex32(load_le<std::uint32_t>(tag.data())) + " at byte " +
               std::to_string(at));
  }
}

void StreamReader::end_of_input_check(std::uint64_t at) {
  if (streams_ == 0) fail_input(input_.name() + ": empty input, not an adacomp stream");
  if (in_stream_)
    fail_input(input_.name() + ": truncated at byte " + std::to_string(at) +
               ": the stream ends without its end record (after " + std::to_string(frames_in_stream_) + " frames)");
}

void StreamReader::read_stream_header(const std::array<std::byte, 4>&, std::uint64_t at) {
  std::array<std::byte, kStreamHeaderBytes - 4> rest;
  input_.read_exact(rest, "stream header");
  const auto major = static_cast<std::uint8_t>(rest[0]);
  const auto minor = static_cast<std::uint8_t>(rest[1]);
  if (major != kFormatMajor && major != kFixedEntriesMajor)
    fail_input(input_.name() + ": stream at byte " + std::to_string(at) + " has format version " +
               std::to_string(major) + "." + std::to_string(minor) +
               "; this decoder reads versions 1.0, 1.1, 2.0 and 2.1");
  if (load_le<std::uint16_t>(rest.data() + 2) != 0)
    fail_input(input_.name() + ": stream header at byte " + std::to_string(at) + " has reserved flag bits set");
  major_ = major;
  minor_ = minor;
  stream_layout_.reset();
  layout_ = nullptr;
  last_layout_index_.reset();
  headers_.push_back({at, major, minor, 0, std::nullopt, false});
  in_stream_ = true;
  frames_in_stream_ = 0;
  ++streams_;
}

void StreamReader::read_end_record(std::uint64_t at) {
  std::array<std::byte, 4> count;
  input_.read_exact(count, "end record");
  const auto declared = load_le<std::uint32_t>(count.data());
  if (declared != frames_in_stream_)
    fail_input(input_.name() + ": end record at byte " + std::to_string(at) + " declares " + std::to_string(declared) +
               " frames but the stream holds " + std::to_string(frames_in_stream_));
  in_stream_ = false;
}

Frame StreamReader::read_frame(std::uint64_t at) {
  Frame frame;
  FrameInfo& info = frame.info;
  info.index = frames_total_;
  info.offset = at;
  std::vector<std::byte> header(kFrameTag.size());
  std::memcpy(header.data(), kFrameTag.data(), kFrameTag.size());
  const std::string source = input_.name();
  auto fail = [&](const std::string& what) { fail_input(info.describe(source) + ": " + what); };
  HeaderReader reader(input_, header, [&info] { return info.label(); });

  const auto kind = reader.take<std::uint8_t>("kind");
  const auto dtype = reader.take<std::uint8_t>("dtype");
  const auto flags = reader.take<std::uint8_t>("flags");
  const auto rank = reader.take<std::uint8_t>("rank");
  const auto name_length = reader.take<std::uint16_t>("name length");
  if (kind > static_cast<std::uint8_t>(FrameKind::passthrough))
    fail("unknown frame kind " + std::to_string(kind) + " (stream format 1." + std::to_string(minor_) +
         ", this decoder knows 1.0)");
  if (!dtype_from_code(dtype)) fail("unknown dtype code " + std::to_string(dtype));
  if (flags & ~kFlagZstd) fail("reserved frame flag bits set (" + std::to_string(flags) + ")");
  if (rank > kMaxRank) fail("rank " + std::to_string(rank) + " exceeds the limit of 8");
  if (name_length == 0 || name_length > kMaxNameBytes)
    fail("name length " + std::to_string(name_length) + " is outside 1..4096");
  info.kind = static_cast<FrameKind>(kind);
  info.dtype = *dtype_from_code(dtype);
  info.format_minor = minor_;
  check_dtype_version(info.dtype, kFixedEntriesMajor, minor_, info.describe(source));
  info.zstd = flags & kFlagZstd;
  info.name = reader.take_string(name_length, "name");
  if (!valid_utf8(info.name)) fail("the tensor name is not valid UTF-8 or contains a NUL byte");
  for (std::uint8_t d = 0; d < rank; ++d) info.shape.push_back(reader.take<std::uint64_t>("shape"));
  info.element_count = checked_element_count(info.shape, info.describe(source));
  if (info.element_count > max_elements_)
    fail(std::to_string(info.element_count) + " elements exceed this reader's limit of " +
         std::to_string(max_elements_));

  if (info.kind == FrameKind::compressed) {
    info.bin_size = reader.take<std::uint32_t>("bin size");
    info.index_width = reader.take<std::uint8_t>("index width");
    const auto reserved8 = reader.take<std::uint8_t>("reserved");
    const auto reserved16 = reader.take<std::uint16_t>("reserved");
    info.scale = reader.take<float>("scale");
    info.entry_count = reader.take<std::uint64_t>("entry count");
    if (info.bin_size < 1 || info.bin_size > kMaxBinSize)
      fail("bin size " + std::to_string(info.bin_size) + " is outside 1..16384");
    if (info.index_width != index_width_for(info.bin_size))
      fail("index width " + std::to_string(info.index_width) + " does not match bin size " +
           std::to_string(info.bin_size) + " (1 for T <= 64, else 2)");
    if (reserved8 != 0 || reserved16 != 0) fail("reserved header bytes are not zero");
    if (!std::isfinite(info.scale) || info.scale < 0.0f) fail("scale is negative or not finite");
    if (info.entry_count > info.element_count)
      fail("entry count " + std::to_string(info.entry_count) + " exceeds the element count " +
           std::to_string(info.element_count));
    if ((info.scale == 0.0f) != (info.entry_count == 0))
      fail("scale is 0 but entries are present, or entries are absent but the scale is not 0");
    info.payload_raw_bytes = (info.bin_count() + info.entry_count) * info.index_width;
  } else {
    info.payload_raw_bytes = info.element_count * dtype_size(info.dtype);
  }
  info.payload_stored_bytes = reader.take<std::uint64_t>("payload size");
  info.header_bytes = header.size();
  check_stored_size(info, info.describe(source));
  std::vector<std::byte> stored = input_.read_vector(info.payload_stored_bytes, "payload of " + info.label());
  verify_checksum(input_, header, stored, info, info.describe(source));
  frame.payload = info.zstd ? unzstd(stored, info, info.describe(source)) : std::move(stored);
  ++frames_in_stream_;
  ++frames_total_;
  return frame;
}

namespace {

// The sparse content of a compressed frame as its bytes give it, not yet validated.
SparseTernary read_sparse(const Frame& frame, const std::string& source) {
  const FrameInfo& info = frame.info;
  if (info.kind != FrameKind::compressed) fail_input(info.describe(source) + ": not a compressed frame");
  SparseTernary sparse;
  sparse.element_count = info.element_count;
  sparse.bin_size = info.bin_size;
  sparse.scale = info.scale;
  if (info.entry_layout == EntryLayout::coded) {
    if (info.entry_count == 0) {
      sparse.bin_counts.assign(sparse.bin_count(), 0);
      return sparse;
    }
    const auto section = std::span<const std::byte>(frame.payload).subspan(info.entries_offset);
    decode_coded_entries(section, info.entry_count, sign_row_length(info.shape, info.element_count), sparse,
                         info.describe(source));
    return sparse;
  }
  const std::uint64_t bins = info.bin_count();
  sparse.bin_counts.resize(bins);
  sparse.entries.resize(info.entry_count);
  const std::byte* p = frame.payload.data();
  auto read_words = [&](std::vector<std::uint16_t>& words) {
    if (words.empty()) return;  // memcpy from/to null is undefined even for 0 bytes (fuzzer find)
    if (info.index_width == 2) {
      std::memcpy(words.data(), p, words.size() * 2);
      p += words.size() * 2;
    } else {
      for (auto& w : words) w = static_cast<std::uint16_t>(*p++);
    }
  };
  read_words(sparse.bin_counts);
  read_words(sparse.entries);
  return sparse;
}

}  // namespace

SparseTernary sparse_from_frame(const Frame& frame, const std::string& source) {
  SparseTernary sparse = read_sparse(frame, source);
  validate(sparse, frame.info.describe(source));
  return sparse;
}

DecodedFrame decode_frame_with_sparse(const Frame& frame, const std::string& source) {
  const FrameInfo& info = frame.info;
  DecodedFrame decoded{make_tensor(info.name, info.dtype, info.shape), std::nullopt};
  if (info.kind == FrameKind::compressed) {
    // decompress checks every rule of validate() as it scatters, so this is the one validation.
    decoded.sparse = read_sparse(frame, source);
    decompress(*decoded.sparse, decoded.tensor.flat(), info.describe(source));
  } else {
    decode_elements(frame.payload.data(), info.element_count, info.dtype, decoded.tensor.values.data());
  }
  return decoded;
}

void decode_frame_into(const Frame& frame, std::span<float> out, const std::string& source, unsigned threads) {
  const FrameInfo& info = frame.info;
  if (out.size() != info.element_count) fail_usage("decode_frame_into: the output does not fit " + info.label());
  if (info.kind == FrameKind::passthrough) {
    decode_elements(frame.payload.data(), info.element_count, info.dtype, out.data());
  } else if (info.entry_layout == EntryLayout::fixed) {
    decompress(read_sparse(frame, source), out, info.describe(source), threads);
  } else {
    // coded entries go straight to their elements, with no bins in between
    const std::size_t parts = detail::thread_parts(out.size(), threads);
    detail::run_parts(parts, [&](std::size_t p) {
      std::fill(out.begin() + static_cast<std::ptrdiff_t>(out.size() * p / parts),
                out.begin() + static_cast<std::ptrdiff_t>(out.size() * (p + 1) / parts), 0.0f);
    });
    if (info.entry_count > 0)
      scatter_coded_entries(std::span<const std::byte>(frame.payload).subspan(info.entries_offset), info.entry_count,
                            sign_row_length(info.shape, info.element_count), info.scale, out, info.describe(source));
  }
}

Tensor decode_frame(const Frame& frame, const std::string& source) {
  Tensor tensor = make_tensor(frame.info.name, frame.info.dtype, frame.info.shape);
  decode_frame_into(frame, tensor.flat(), source);
  return tensor;
}

}  // namespace adacomp::wire
