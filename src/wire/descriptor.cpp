#include "wire/descriptor.hpp"

#include <cstdio>
#include <cstring>
#include <set>

#include <xxhash.h>

#include "adacomp/error.hpp"

namespace adacomp::wire {

bool valid_utf8(const std::string& text) {
  static constexpr std::uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra;
    std::uint32_t code;
    if ((c & 0xe0) == 0xc0) {
      extra = 1, code = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, code = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, code = c & 0x07u;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3fu);
    }
    if (code < kMinimum[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

void check_tensor_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes)
    fail_usage("tensor name '" + name + "' must be 1 to " + std::to_string(kMaxNameBytes) + " bytes");
  if (name.find('\0') != std::string::npos) fail_usage("tensor name contains a NUL byte");
}

void append_descriptor(std::vector<std::byte>& out, const TensorLayout& tensor) {
  out.push_back(static_cast<std::byte>(static_cast<unsigned>(tensor.kind) | static_cast<unsigned>(tensor.dtype) << 2));
  append_varint(out, tensor.name.size());
  const auto* name = reinterpret_cast<const std::byte*>(tensor.name.data());
  out.insert(out.end(), name, name + tensor.name.size());
  out.push_back(static_cast<std::byte>(tensor.shape.size()));
  for (std::uint64_t dim : tensor.shape) append_varint(out, dim);
  if (tensor.kind == FrameKind::compressed) append_varint(out, tensor.bin_size);
}

std::uint8_t minor_version_for(DType dtype) noexcept { return is_fp8(dtype) ? 1 : 0; }

void check_dtype_version(DType dtype, std::uint8_t major, std::uint8_t minor, const std::string& label) {
  if (minor_version_for(dtype) <= minor) return;
  fail_input(label + ": dtype code " + std::to_string(static_cast<unsigned>(dtype)) + " (" +
             std::string(dtype_name(dtype)) + ") needs format " + std::to_string(major) + "." +
             std::to_string(minor_version_for(dtype)) + " or later; the stream declares " + std::to_string(major) +
             "." + std::to_string(minor));
}

TensorLayout read_descriptor(HeaderReader& reader, std::uint64_t max_elements, std::uint8_t stream_minor) {
  auto fail = [&](const std::string& what) { fail_input(reader.label() + ": " + what); };
  TensorLayout tensor;
  const auto descriptor = reader.take<std::uint8_t>("descriptor");
  const unsigned kind = descriptor & 3u, dtype = descriptor >> 2;
  if (kind > static_cast<unsigned>(FrameKind::passthrough))
    fail("unknown frame kind " + std::to_string(kind) + " (this decoder knows format " + std::to_string(kFormatMajor) +
         "." + std::to_string(kFormatMinor) + ")");
  if (!dtype_from_code(static_cast<std::uint8_t>(dtype))) fail("unknown dtype code " + std::to_string(dtype));
  tensor.kind = static_cast<FrameKind>(kind);
  tensor.dtype = *dtype_from_code(static_cast<std::uint8_t>(dtype));
  check_dtype_version(tensor.dtype, kFormatMajor, stream_minor, reader.label());
  const std::uint64_t name_length = reader.take_varint("name length");
  if (name_length == 0 || name_length > kMaxNameBytes)
    fail("name length " + std::to_string(name_length) + " is outside 1..4096");
  tensor.name = reader.take_string(name_length, "name");
  if (!valid_utf8(tensor.name)) fail("the tensor name is not valid UTF-8 or contains a NUL byte");
  const auto rank = reader.take<std::uint8_t>("rank");
  if (rank > kMaxRank) fail("rank " + std::to_string(rank) + " exceeds the limit of 8");
  for (std::uint8_t d = 0; d < rank; ++d) tensor.shape.push_back(reader.take_varint("shape"));
  tensor.element_count = checked_element_count(tensor.shape, reader.label());
  if (tensor.element_count > max_elements)
    fail(std::to_string(tensor.element_count) + " elements exceed this reader's limit of " +
         std::to_string(max_elements));
  if (tensor.kind == FrameKind::compressed) {
    const std::uint64_t bin_size = reader.take_varint("bin size");
    if (bin_size < 1 || bin_size > kMaxBinSize) fail("bin size " + std::to_string(bin_size) + " is outside 1..16384");
    tensor.bin_size = static_cast<std::uint32_t>(bin_size);
  }
  return tensor;
}

std::optional<std::size_t> Layout::find(const std::string& name) const {
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name) return i;
  return std::nullopt;
}

namespace {

std::vector<std::byte> layout_body(const std::vector<TensorLayout>& tensors) {
  std::vector<std::byte> body;
  append_varint(body, tensors.size());
  for (const TensorLayout& tensor : tensors) append_descriptor(body, tensor);
  return body;
}

}  // namespace

Layout make_layout(std::vector<TensorLayout> tensors) {
  std::set<std::string> names;
  if (tensors.empty()) fail_usage("a layout needs at least one tensor");
  for (TensorLayout& tensor : tensors) {
    check_tensor_name(tensor.name);
    if (!names.insert(tensor.name).second) fail_usage("tensor '" + tensor.name + "' appears twice in the layout");
    tensor.element_count = checked_element_count(tensor.shape, "tensor '" + tensor.name + "'");
  }
  const std::vector<std::byte> body = layout_body(tensors);
  Layout layout{std::move(tensors), XXH64(body.data(), body.size(), 0)};
  return layout;
}

std::vector<std::byte> layout_file_bytes(const Layout& layout) {
  std::vector<std::byte> out(kStreamMagic.size());
  std::memcpy(out.data(), kStreamMagic.data(), kStreamMagic.size());
  std::uint8_t minor = 0;
  for (const TensorLayout& tensor : layout.tensors) minor = std::max(minor, minor_version_for(tensor.dtype));
  out.push_back(std::byte{kFormatMajor});
  out.push_back(std::byte{minor});
  append_le<std::uint16_t>(out, 0);
  const std::size_t start = out.size();
  out.push_back(std::byte{kRecordLayout});
  out.push_back(std::byte{kLayoutFull});
  const std::vector<std::byte> body = layout_body(layout.tensors);
  out.insert(out.end(), body.begin(), body.end());
  append_le<std::uint32_t>(out, static_cast<std::uint32_t>(XXH64(out.data() + start, out.size() - start, 0)));
  out.push_back(std::byte{kRecordEnd});
  append_varint(out, 0);
  return out;
}

std::string hex32(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

std::string hex64(std::uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(value));
  return text;
}

std::size_t end_record_bytes(EntryLayout entries, std::uint64_t frames) noexcept {
  if (entries == EntryLayout::fixed) return kEndRecordBytes;
  std::size_t size = 2;
  while (frames >= 0x80) frames >>= 7, ++size;
  return size;
}

std::string_view entry_layout_name(EntryLayout layout) noexcept {
  return layout == EntryLayout::fixed ? "fixed" : "coded";
}

}  // namespace adacomp::wire
