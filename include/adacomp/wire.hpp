#pragma once
// Wire formats 1.0 (fixed entries) and 2.0 (compact frames, coded entries, layout records);
// normative text: format_spec/wire_format.md.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adacomp/byte_io.hpp"
#include "adacomp/codec.hpp"
#include "adacomp/coded_entries.hpp"
#include "adacomp/dtype.hpp"
#include "adacomp/tensor.hpp"

namespace adacomp::wire {

// The newest version this library writes and reads; it also reads and writes 1.0 and 1.1.
inline constexpr std::uint8_t kFormatMajor = 2;
inline constexpr std::uint8_t kFormatMinor = 1;
inline constexpr std::uint8_t kFixedEntriesMajor = 1;  // streams of fixed 8/16-bit entries

inline constexpr std::array<std::uint8_t, 4> kStreamMagic = {0x89, 'A', 'D', 'C'};
inline constexpr std::array<std::uint8_t, 4> kFrameTag = {0x89, 'A', 'D', 'F'};
inline constexpr std::array<std::uint8_t, 4> kEndTag = {0x89, 'A', 'D', 'E'};

inline constexpr std::size_t kStreamHeaderBytes = 8;
inline constexpr std::size_t kEndRecordBytes = 8;
inline constexpr std::size_t kChecksumBytes = 4;
inline constexpr std::size_t kMaxNameBytes = 4096;

enum class FrameKind : std::uint8_t { compressed = 0, passthrough = 1 };
inline constexpr std::uint8_t kFlagZstd = 0x01;

// How a compressed frame stores its entries: version 1.0's bin headers and 8/16-bit entries, or
// version 2.0's coded entries.
enum class EntryLayout : std::uint8_t { fixed, coded };
std::string_view entry_layout_name(EntryLayout layout) noexcept;  // "fixed", "coded"

// Record types of a version 2.0 stream (one byte each, after the stream header).
inline constexpr std::uint8_t kRecordFrame = 0x46;      // 'F'
inline constexpr std::uint8_t kRecordZstdFrame = 0x5a;  // 'Z': a passthrough frame with the zstd stage
inline constexpr std::uint8_t kRecordLayout = 0x4c;     // 'L'
inline constexpr std::uint8_t kRecordEnd = 0x45;        // 'E'
inline constexpr std::uint8_t kLayoutFull = 0, kLayoutReference = 1;
inline constexpr std::uint64_t kMaxLayoutTensors = 1u << 20;

// What a version 2.0 frame that refers to a layout does not repeat: one tensor's description.
struct TensorLayout {
  std::string name;
  FrameKind kind = FrameKind::compressed;
  DType dtype = DType::f32;
  std::vector<std::uint64_t> shape;
  std::uint32_t bin_size = 0;  // compressed tensors
  std::uint64_t element_count = 0;
};

// The tensors of a stream described once (a layout record); frames refer to them by index.
struct Layout {
  std::vector<TensorLayout> tensors;
  std::uint64_t hash = 0;  // XXH64 of the record's descriptor bytes (spec section 13)
  std::optional<std::size_t> find(const std::string& name) const;
};

// A layout from its tensors (computes the hash); Error(usage) on a duplicate or invalid name.
Layout make_layout(std::vector<TensorLayout> tensors);
// A layout file: a version 2.0 stream holding one full layout record and no frame.
std::vector<std::byte> layout_file_bytes(const Layout& layout);
// Reads a layout file (or any stream whose first record is a full layout); Error(invalid_input)
// naming `source` otherwise.
Layout read_layout(ByteInput& input);
// The lowest minor version (of either major) that defines `dtype`: 1 for the FP8 codes, which
// versions 1.1 and 2.1 added, else 0. A stream declares the lowest version its frames need.
std::uint8_t minor_version_for(DType dtype) noexcept;
// Error(invalid_input) "<label>: dtype code C (NAME) needs format M.1 or later; the stream declares M.m".
void check_dtype_version(DType dtype, std::uint8_t major, std::uint8_t minor, const std::string& label);
// "0x" and 8 or 16 hex digits: checksums and layout hashes as messages and inspect print them.
std::string hex32(std::uint32_t value);
std::string hex64(std::uint64_t value);
// Bytes of the end record of a stream of `frames` frames: 8 in format 1.0, 2 or more in 2.0.
std::size_t end_record_bytes(EntryLayout entries, std::uint64_t frames) noexcept;

// Everything a frame header says, plus where the frame sits in its input.
struct FrameInfo {
  std::uint64_t index = 0;   // 0-based position in the input, across concatenated streams
  std::uint64_t offset = 0;  // byte offset of the frame tag in the input
  FrameKind kind = FrameKind::compressed;
  DType dtype = DType::f32;
  bool zstd = false;
  std::string name;
  std::vector<std::uint64_t> shape;
  std::uint64_t element_count = 0;
  // compressed frames only
  std::uint32_t bin_size = 0;
  std::uint8_t index_width = 0;
  float scale = 0.0f;
  std::uint64_t entry_count = 0;
  // version 2.0
  std::uint8_t format_major = kFixedEntriesMajor;
  std::uint8_t format_minor = 0;                  // of the frame's stream
  EntryLayout entry_layout = EntryLayout::fixed;  // compressed frames
  EntryCoding entry_coding = EntryCoding::rans;   // coded frames with entries
  std::uint64_t entries_offset = 0;               // coded: where the entries section starts in the payload
  std::optional<std::uint64_t> layout_index;      // frames of a stream with a layout
  // sizes in bytes
  std::uint64_t header_bytes = 0;          // tag .. payload size field
  std::uint64_t payload_stored_bytes = 0;  // as stored (after the zstd stage when on)
  std::uint64_t payload_raw_bytes = 0;     // bin headers + entries, coded payload, or passthrough data
  std::uint32_t checksum = 0;

  std::uint64_t bin_count() const noexcept { return bin_size == 0 ? 0 : (element_count + bin_size - 1) / bin_size; }
  std::uint64_t frame_bytes() const noexcept { return header_bytes + payload_stored_bytes + kChecksumBytes; }
  // "frame N 'name' at byte X", and "<source>: " before it, for error messages.
  std::string label() const;
  std::string describe(const std::string& source) const { return source + ": " + label(); }
};

struct Frame {
  FrameInfo info;
  std::vector<std::byte> payload;  // raw payload (zstd stage already undone)
};

struct WriterOptions {
  EntryLayout entries = EntryLayout::coded;  // fixed: a version 1.0 stream, byte for byte
  // coded only: frames refer to this layout, agreed out of band; the stream carries its hash
  const Layout* layout = nullptr;
  unsigned threads = 1;  // threads for coding a frame's entries (the bytes are the same)
};

// Where an encoded byte goes: a growing buffer here; the CLI decides what to do with it.
class StreamWriter {
 public:
  // Writes the stream header (and the layout reference). Error(usage) for a layout with fixed entries.
  explicit StreamWriter(std::vector<std::byte>& out, WriterOptions options = {});
  // zstd_level 0 = no zstd stage; otherwise the stage is applied when it makes the payload smaller.
  FrameInfo add_compressed(const std::string& name, DType source_dtype, const std::vector<std::uint64_t>& shape,
                           const SparseTernary& sparse, int zstd_level);
  FrameInfo add_passthrough(const TensorView& tensor, int zstd_level);
  void finish();  // writes the end record; the writer must not be used after

 private:
  FrameInfo write_frame(FrameInfo info, const std::vector<std::byte>& raw_payload, int zstd_level);
  FrameInfo write_compact_frame(FrameInfo info, const std::vector<std::byte>& raw_payload, int zstd_level);
  // What both versions do before and after their header: checks, the zstd stage where it pays,
  // then the payload and checksum.
  std::vector<std::byte> begin_frame(FrameInfo& info, const std::vector<std::byte>& raw_payload, int zstd_level);
  void end_frame(FrameInfo& info, std::size_t start, const std::vector<std::byte>& stored, std::size_t raw_size);
  // Raises the stream header's minor version to what `dtype` needs (the header is still in out_).
  void declare_dtype(DType dtype) noexcept;

  std::vector<std::byte>& out_;
  std::size_t header_at_ = 0;
  WriterOptions options_;
  std::optional<std::uint64_t> last_layout_index_;
  std::uint32_t frames_ = 0;
  bool finished_ = false;
};

struct StreamHeaderInfo {
  std::uint64_t offset = 0;
  std::uint8_t major = 0, minor = 0;
  std::uint16_t flags = 0;
  std::optional<std::uint64_t> layout_hash;  // version 2.0 streams with a layout record
  bool layout_inline = false;                // the full layout, not a reference to one agreed out of band
};

// Reads frames one at a time, checking every rule of the spec; memory is bounded by the
// largest frame. Throws Error(invalid_input) naming source, frame and byte offset.
class StreamReader {
 public:
  // max_elements: frames of more elements are rejected before anything is allocated for them
  // (callers with less memory, such as fuzzers, lower it; it cannot exceed kMaxTensorElements).
  explicit StreamReader(ByteInput& input, std::uint64_t max_elements = kMaxTensorElements)
      : input_(input), max_elements_(std::min(max_elements, kMaxTensorElements)) {}
  // The layout that streams referring to one by hash were written with (`--layout FILE`).
  void set_agreed_layout(const Layout* layout) noexcept { agreed_layout_ = layout; }
  // The layout of the stream read last, if it has one.
  const Layout* layout() const noexcept { return layout_; }
  std::optional<Frame> next();
  std::uint64_t frames_read() const noexcept { return frames_total_; }
  std::uint8_t minor_version() const noexcept { return minor_; }
  std::uint8_t major_version() const noexcept { return major_; }
  std::uint64_t streams_read() const noexcept { return streams_; }
  const std::vector<StreamHeaderInfo>& stream_headers() const noexcept { return headers_; }
  std::uint64_t offset() const noexcept { return input_.offset(); }

 private:
  void read_stream_header(const std::array<std::byte, 4>& magic, std::uint64_t at);
  Frame read_frame(std::uint64_t at);
  void read_end_record(std::uint64_t at);
  // version 2.0 records, after their type byte
  std::optional<Frame> next_compact(std::uint64_t at, std::uint8_t type);
  Frame read_compact_frame(std::uint64_t at, bool zstd);
  void read_layout_record(std::uint64_t at);
  void read_compact_end(std::uint64_t at);
  void end_of_input_check(std::uint64_t at);
  ByteInput& input_;
  std::uint64_t max_elements_;
  bool in_stream_ = false;
  std::uint64_t frames_in_stream_ = 0;
  std::uint64_t frames_total_ = 0;
  std::uint64_t streams_ = 0;
  std::uint8_t major_ = 0, minor_ = 0;
  std::vector<StreamHeaderInfo> headers_;
  const Layout* agreed_layout_ = nullptr;
  std::optional<Layout> stream_layout_;  // a full layout record of the current stream
  const Layout* layout_ = nullptr;       // the current stream's layout, if it has one
  std::optional<std::uint64_t> last_layout_index_;
};

// The sparse content of a compressed frame, validated (counts, offsets, codes, scale).
SparseTernary sparse_from_frame(const Frame& frame, const std::string& source);
// The decoded tensor of any frame (values in float32; dtype = source dtype).
Tensor decode_frame(const Frame& frame, const std::string& source);

// Both at once, for a caller that needs the values and the entries (diff): the frame is
// validated once, by the decoder's own pass. `sparse` is empty for a passthrough frame.
struct DecodedFrame {
  Tensor tensor;
  std::optional<SparseTernary> sparse;
};
DecodedFrame decode_frame_with_sparse(const Frame& frame, const std::string& source);
// The values of any frame into `out` (element count long), without allocating a tensor: the
// decoder's work alone, as `adacomp bench` times it.
void decode_frame_into(const Frame& frame, std::span<float> out, const std::string& source, unsigned threads = 1);

}  // namespace adacomp::wire
