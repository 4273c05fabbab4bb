#include <cstring>

#include <xxhash.h>
#include <zstd.h>

#include "adacomp/error.hpp"
#include "adacomp/wire.hpp"

namespace adacomp::wire {

namespace {

void append_bytes(std::vector<std::byte>& out, const void* data, std::size_t size) {
  const auto* p = static_cast<const std::byte*>(data);
  out.insert(out.end(), p, p + size);
}

template <std::size_t N>
void append_tag(std::vector<std::byte>& out, const std::array<std::uint8_t, N>& tag) {
  append_bytes(out, tag.data(), N);
}

// Counts and entries share the frame's index width: 1 byte for T <= 64, else 2.
void append_words(std::vector<std::byte>& out, const std::vector<std::uint16_t>& words, std::uint8_t width) {
  if (width == 2) {
    append_bytes(out, words.data(), words.size() * 2);
    return;
  }
  const std::size_t old = out.size();
  out.resize(old + words.size());
  for (std::size_t i = 0; i < words.size(); ++i) out[old + i] = static_cast<std::byte>(words[i]);
}

void check_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes)
    fail_usage("tensor name '" + name + "' must be 1 to " + std::to_string(kMaxNameBytes) + " bytes");
  if (name.find('\0') != std::string::npos) fail_usage("tensor name contains a NUL byte");
}

}  // namespace

StreamWriter::StreamWriter(std::vector<std::byte>& out) : out_(out) {
  append_tag(out_, kStreamMagic);
  out_.push_back(std::byte{kFormatMajor});
  out_.push_back(std::byte{kFormatMinor});
  append_le<std::uint16_t>(out_, 0);  // flags: none defined in 1.0
}

FrameInfo StreamWriter::add_compressed(const std::string& name, DType source_dtype,
                                       const std::vector<std::uint64_t>& shape, const SparseTernary& sparse,
                                       int zstd_level) {
  FrameInfo info;
  info.kind = FrameKind::compressed;
  info.dtype = source_dtype;
  info.name = name;
  info.shape = shape;
  info.element_count = sparse.element_count;
  info.bin_size = sparse.bin_size;
  info.index_width = index_width_for(sparse.bin_size);
  info.scale = sparse.scale;
  info.entry_count = sparse.entries.size();
  std::vector<std::byte> payload;
  payload.reserve((sparse.bin_counts.size() + sparse.entries.size()) * info.index_width);
  append_words(payload, sparse.bin_counts, info.index_width);
  append_words(payload, sparse.entries, info.index_width);
  return write_frame(std::move(info), payload, zstd_level);
}

FrameInfo StreamWriter::add_passthrough(const Tensor& tensor, int zstd_level) {
  FrameInfo info;
  info.kind = FrameKind::passthrough;
  info.dtype = tensor.dtype;
  info.name = tensor.name;
  info.shape = tensor.shape();
  info.element_count = tensor.size();
  std::vector<std::byte> payload(tensor.size() * dtype_size(tensor.dtype));
  encode_elements(tensor.values.data(), tensor.size(), tensor.dtype, payload.data());
  return write_frame(std::move(info), payload, zstd_level);
}

FrameInfo StreamWriter::write_frame(FrameInfo info, const std::vector<std::byte>& raw_payload, int zstd_level) {
  if (finished_) fail_usage("internal: frame written after the end record");
  check_name(info.name);
  if (info.shape.size() > kMaxRank) fail_usage("tensor '" + info.name + "': rank above 8");

  std::vector<std::byte> compressed;
  if (zstd_level != 0 && !raw_payload.empty()) {
    compressed.resize(ZSTD_compressBound(raw_payload.size()));
    const std::size_t size =
        ZSTD_compress(compressed.data(), compressed.size(), raw_payload.data(), raw_payload.size(), zstd_level);
    if (ZSTD_isError(size))
      throw Error(ErrorKind::internal, "zstd compression failed: " + std::string(ZSTD_getErrorName(size)));
    compressed.resize(size);
    // The stage is kept only where it pays: a flagged payload is always smaller than raw.
    info.zstd = size < raw_payload.size();
  }
  const std::vector<std::byte>& stored = info.zstd ? compressed : raw_payload;

  info.index = frames_;
  info.offset = out_.size();
  const std::size_t start = out_.size();
  append_tag(out_, kFrameTag);
  out_.push_back(static_cast<std::byte>(info.kind));
  out_.push_back(static_cast<std::byte>(info.dtype));
  out_.push_back(static_cast<std::byte>(info.zstd ? kFlagZstd : 0));
  out_.push_back(static_cast<std::byte>(info.shape.size()));
  append_le<std::uint16_t>(out_, static_cast<std::uint16_t>(info.name.size()));
  append_bytes(out_, info.name.data(), info.name.size());
  for (std::uint64_t dim : info.shape) append_le<std::uint64_t>(out_, dim);
  if (info.kind == FrameKind::compressed) {
    append_le<std::uint32_t>(out_, info.bin_size);
    out_.push_back(static_cast<std::byte>(info.index_width));
    out_.push_back(std::byte{0});
    append_le<std::uint16_t>(out_, 0);
    append_le<float>(out_, info.scale);
    append_le<std::uint64_t>(out_, info.entry_count);
  }
  append_le<std::uint64_t>(out_, stored.size());
  info.header_bytes = out_.size() - start;
  append_bytes(out_, stored.data(), stored.size());
  info.payload_stored_bytes = stored.size();
  info.payload_raw_bytes = raw_payload.size();
  info.checksum = static_cast<std::uint32_t>(XXH64(out_.data() + start, out_.size() - start, 0));
  append_le<std::uint32_t>(out_, info.checksum);
  ++frames_;
  return info;
}

void StreamWriter::finish() {
  if (finished_) return;
  append_tag(out_, kEndTag);
  append_le<std::uint32_t>(out_, frames_);
  finished_ = true;
}

}  // namespace adacomp::wire
