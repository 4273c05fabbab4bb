#pragma once
// Wire format v1 (normative text: format_spec/wire_format.md).
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "adacomp/byte_io.hpp"
#include "adacomp/codec.hpp"
#include "adacomp/dtype.hpp"
#include "adacomp/tensor.hpp"

namespace adacomp::wire {

inline constexpr std::uint8_t kFormatMajor = 1;
inline constexpr std::uint8_t kFormatMinor = 0;

inline constexpr std::array<std::uint8_t, 4> kStreamMagic = {0x89, 'A', 'D', 'C'};
inline constexpr std::array<std::uint8_t, 4> kFrameTag = {0x89, 'A', 'D', 'F'};
inline constexpr std::array<std::uint8_t, 4> kEndTag = {0x89, 'A', 'D', 'E'};

inline constexpr std::size_t kStreamHeaderBytes = 8;
inline constexpr std::size_t kEndRecordBytes = 8;
inline constexpr std::size_t kChecksumBytes = 4;
inline constexpr std::size_t kMaxNameBytes = 4096;

enum class FrameKind : std::uint8_t { compressed = 0, passthrough = 1 };
inline constexpr std::uint8_t kFlagZstd = 0x01;

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
  // sizes in bytes
  std::uint64_t header_bytes = 0;          // tag .. payload size field
  std::uint64_t payload_stored_bytes = 0;  // as stored (after the zstd stage when on)
  std::uint64_t payload_raw_bytes = 0;     // bin headers + entries, or passthrough data
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

// Where an encoded byte goes: a growing buffer here; the CLI decides what to do with it.
class StreamWriter {
 public:
  explicit StreamWriter(std::vector<std::byte>& out);  // writes the stream header
  // zstd_level 0 = no zstd stage; otherwise the stage is applied when it makes the payload smaller.
  FrameInfo add_compressed(const std::string& name, DType source_dtype, const std::vector<std::uint64_t>& shape,
                           const SparseTernary& sparse, int zstd_level);
  FrameInfo add_passthrough(const Tensor& tensor, int zstd_level);
  void finish();  // writes the end record; the writer must not be used after

 private:
  FrameInfo write_frame(FrameInfo info, const std::vector<std::byte>& raw_payload, int zstd_level);
  std::vector<std::byte>& out_;
  std::uint32_t frames_ = 0;
  bool finished_ = false;
};

struct StreamHeaderInfo {
  std::uint64_t offset = 0;
  std::uint8_t major = 0, minor = 0;
  std::uint16_t flags = 0;
};

// Reads frames one at a time, checking every rule of the spec; memory is bounded by the
// largest frame. Throws Error(invalid_input) naming source, frame and byte offset.
class StreamReader {
 public:
  // max_elements: frames of more elements are rejected before anything is allocated for them
  // (callers with less memory, such as fuzzers, lower it; it cannot exceed kMaxTensorElements).
  explicit StreamReader(ByteInput& input, std::uint64_t max_elements = kMaxTensorElements)
      : input_(input), max_elements_(std::min(max_elements, kMaxTensorElements)) {}
  std::optional<Frame> next();
  std::uint64_t frames_read() const noexcept { return frames_total_; }
  std::uint8_t minor_version() const noexcept { return minor_; }
  std::uint64_t streams_read() const noexcept { return streams_; }
  const std::vector<StreamHeaderInfo>& stream_headers() const noexcept { return headers_; }
  std::uint64_t offset() const noexcept { return input_.offset(); }

 private:
  void read_stream_header(const std::array<std::byte, 4>& magic, std::uint64_t at);
  Frame read_frame(std::uint64_t at);
  void read_end_record(std::uint64_t at);
  ByteInput& input_;
  std::uint64_t max_elements_;
  bool in_stream_ = false;
  std::uint64_t frames_in_stream_ = 0;
  std::uint64_t frames_total_ = 0;
  std::uint64_t streams_ = 0;
  std::uint8_t minor_ = 0;
  std::vector<StreamHeaderInfo> headers_;
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

}  // namespace adacomp::wire
