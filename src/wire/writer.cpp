#include <algorithm>
#include <cstring>

#include <xxhash.h>
#include <zstd.h>

#include "adacomp/error.hpp"
#include "adacomp/wire.hpp"
#include "wire/descriptor.hpp"

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

std::vector<std::byte> zstd_compressed(const std::vector<std::byte>& raw, int level) {
  std::vector<std::byte> compressed(ZSTD_compressBound(raw.size()));
  const std::size_t size = ZSTD_compress(compressed.data(), compressed.size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(size))
    throw Error(ErrorKind::internal, "zstd compression failed: " + std::string(ZSTD_getErrorName(size)));
  compressed.resize(size);
  return compressed;
}

std::string layout_mismatch(const FrameInfo& info, const TensorLayout& agreed) {
  if (agreed.kind != info.kind)
    return info.kind == FrameKind::passthrough ? "is excluded here but compressed in the layout"
                                               : "is compressed here but excluded in the layout";
  if (agreed.dtype != info.dtype)
    return "is " + std::string(dtype_name(info.dtype)) + " here but " + std::string(dtype_name(agreed.dtype)) +
           " in the layout";
  if (agreed.shape != info.shape)
    return "has shape " + shape_string(info.shape) + " here but " + shape_string(agreed.shape) + " in the layout";
  if (agreed.bin_size != info.bin_size)
    return "has bin size " + std::to_string(info.bin_size) + " here but " + std::to_string(agreed.bin_size) +
           " in the layout";
  return {};
}

}  // namespace

StreamWriter::StreamWriter(std::vector<std::byte>& out, WriterOptions options) : out_(out), options_(options) {
  const bool coded = options_.entries == EntryLayout::coded;
  if (!coded && options_.layout) fail_usage("a layout needs coded entries: fixed entries are written as format 1.x");
  header_at_ = out_.size();
  append_tag(out_, kStreamMagic);
  out_.push_back(std::byte{coded ? kFormatMajor : kFixedEntriesMajor});
  out_.push_back(std::byte{0});
  append_le<std::uint16_t>(out_, 0);  // flags: none defined
  if (options_.layout) {
    const std::size_t start = out_.size();
    out_.push_back(std::byte{kRecordLayout});
    out_.push_back(std::byte{kLayoutReference});
    append_le<std::uint64_t>(out_, options_.layout->hash);
    append_le<std::uint32_t>(out_, static_cast<std::uint32_t>(XXH64(out_.data() + start, out_.size() - start, 0)));
  }
}

void StreamWriter::declare_dtype(DType dtype) noexcept {
  std::byte& minor = out_[header_at_ + kStreamMagic.size() + 1];
  minor = std::max(minor, std::byte{minor_version_for(dtype)});
}

FrameInfo StreamWriter::add_compressed(const std::string& name, DType source_dtype,
                                       const std::vector<std::uint64_t>& shape, const SparseTernary& sparse,
                                       int zstd_level) {
  FrameInfo info;
  info.kind = FrameKind::compressed;
  info.dtype = source_dtype;
  declare_dtype(source_dtype);
  info.format_minor = std::to_integer<std::uint8_t>(out_[header_at_ + kStreamMagic.size() + 1]);
  info.name = name;
  info.shape = shape;
  info.element_count = sparse.element_count;
  info.bin_size = sparse.bin_size;
  info.index_width = index_width_for(sparse.bin_size);
  info.scale = sparse.scale;
  info.entry_count = sparse.entries.size();
  if (options_.entries == EntryLayout::coded) {
    info.format_major = kFormatMajor;
    info.entry_layout = EntryLayout::coded;
    info.index_width = 0;
    // reused from frame to frame, as the coder's own buffers are: a fresh payload would fault in
    // every page it grows to, and copy itself as it doubles
    thread_local std::vector<std::byte> payload;
    payload.clear();
    append_varint(payload, info.entry_count);
    if (info.entry_count > 0) {
      append_le<float>(payload, info.scale);
      info.entries_offset = payload.size();
      info.entry_coding =
          append_coded_entries(sparse, sign_row_length(shape, sparse.element_count), payload, options_.threads);
    }
    return write_compact_frame(std::move(info), payload, 0);
  }
  std::vector<std::byte> payload;
  payload.reserve((sparse.bin_counts.size() + sparse.entries.size()) * info.index_width);
  append_words(payload, sparse.bin_counts, info.index_width);
  append_words(payload, sparse.entries, info.index_width);
  return write_frame(std::move(info), payload, zstd_level);
}

FrameInfo StreamWriter::add_passthrough(const TensorView& tensor, int zstd_level) {
  FrameInfo info;
  info.kind = FrameKind::passthrough;
  info.dtype = tensor.dtype;
  declare_dtype(tensor.dtype);
  info.format_minor = std::to_integer<std::uint8_t>(out_[header_at_ + kStreamMagic.size() + 1]);
  info.name = tensor.name;
  info.shape = tensor.shape;
  info.element_count = tensor.size();
  std::vector<std::byte> payload(tensor.size() * dtype_size(tensor.dtype));
  encode_elements(tensor.values.data(), tensor.size(), tensor.dtype, payload.data());
  if (options_.entries == EntryLayout::coded) {
    info.format_major = kFormatMajor;
    return write_compact_frame(std::move(info), payload, zstd_level);
  }
  return write_frame(std::move(info), payload, zstd_level);
}

FrameInfo StreamWriter::write_frame(FrameInfo info, const std::vector<std::byte>& raw_payload, int zstd_level) {
  const std::vector<std::byte> compressed = begin_frame(info, raw_payload, zstd_level);
  const std::vector<std::byte>& stored = info.zstd ? compressed : raw_payload;
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
  end_frame(info, start, stored, raw_payload.size());
  return info;
}

FrameInfo StreamWriter::write_compact_frame(FrameInfo info, const std::vector<std::byte>& raw_payload, int zstd_level) {
  // coded entries are entropy coded already: the zstd stage is for passthrough frames only
  const std::vector<std::byte> compressed =
      begin_frame(info, raw_payload, info.kind == FrameKind::passthrough ? zstd_level : 0);
  const std::vector<std::byte>& stored = info.zstd ? compressed : raw_payload;
  const std::size_t start = out_.size();
  out_.push_back(std::byte{info.zstd ? kRecordZstdFrame : kRecordFrame});
  if (options_.layout) {
    const auto index = options_.layout->find(info.name);
    if (!index) fail_input("tensor '" + info.name + "' is not in the layout " + hex64(options_.layout->hash));
    const std::string mismatch = layout_mismatch(info, options_.layout->tensors[*index]);
    if (!mismatch.empty()) fail_input("tensor '" + info.name + "' " + mismatch + " " + hex64(options_.layout->hash));
    if (last_layout_index_ && *index <= *last_layout_index_)
      fail_usage("tensor '" + info.name +
                 "' comes before an earlier tensor of the layout: frames follow the layout's order");
    append_varint(out_, *index - (last_layout_index_ ? *last_layout_index_ + 1 : 0));
    last_layout_index_ = *index;
    info.layout_index = *index;
  } else {
    append_descriptor(out_, {info.name, info.kind, info.dtype, info.shape, info.bin_size, info.element_count});
  }
  append_varint(out_, stored.size());
  end_frame(info, start, stored, raw_payload.size());
  return info;
}

std::vector<std::byte> StreamWriter::begin_frame(FrameInfo& info, const std::vector<std::byte>& raw_payload,
                                                 int zstd_level) {
  if (finished_) fail_usage("internal: frame written after the end record");
  check_tensor_name(info.name);
  if (info.shape.size() > kMaxRank) fail_usage("tensor '" + info.name + "': rank above 8");
  info.index = frames_;
  info.offset = out_.size();
  if (zstd_level == 0 || raw_payload.empty()) return {};
  std::vector<std::byte> compressed = zstd_compressed(raw_payload, zstd_level);
  // The stage is kept only where it pays: a flagged payload is always smaller than raw.
  info.zstd = compressed.size() < raw_payload.size();
  return compressed;
}

void StreamWriter::end_frame(FrameInfo& info, std::size_t start, const std::vector<std::byte>& stored,
                             std::size_t raw_size) {
  info.header_bytes = out_.size() - start;
  out_.insert(out_.end(), stored.begin(), stored.end());
  info.payload_stored_bytes = stored.size();
  info.payload_raw_bytes = raw_size;
  info.checksum = static_cast<std::uint32_t>(XXH64(out_.data() + start, out_.size() - start, 0));
  append_le<std::uint32_t>(out_, info.checksum);
  ++frames_;
}

void StreamWriter::finish() {
  if (finished_) return;
  if (options_.entries == EntryLayout::coded) {
    out_.push_back(std::byte{kRecordEnd});
    append_varint(out_, frames_);
  } else {
    append_tag(out_, kEndTag);
    append_le<std::uint32_t>(out_, frames_);
  }
  finished_ = true;
}

}  // namespace adacomp::wire
