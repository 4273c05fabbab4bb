// Streaming reader for .npy and raw inputs, the files `adacomp encode` meets at sizes near the
// machine's memory: the data goes from the input into the tensor through bounded chunks instead of
// a whole-file buffer plus a copy.
#include <algorithm>
#include <cstring>
#include <memory>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "io/tensor_layout.hpp"

namespace adacomp {

namespace {

// The data of one tensor, held in chunks until all of it has arrived: a forged shape never
// allocates more than the input holds plus one chunk, and the tensor is allocated only once the
// size is known to be right. Draining frees each chunk as soon as it is converted, so the peak is
// the tensor plus one chunk.
class ChunkedData {
 public:
  // Above glibc's largest mmap threshold (32 MiB on 64-bit), so that every chunk is its own
  // mapping and freeing it returns the memory to the system at once. A multiple of every
  // element width, so no element straddles two chunks.
  static constexpr std::size_t kChunkBytes = std::size_t{64} << 20;

  // Reads up to `wanted` bytes; returns how many the input held.
  std::uint64_t read(ByteInput& input, std::uint64_t wanted) {
    std::uint64_t total = 0;
    while (total < wanted) {
      const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkBytes, wanted - total));
      // Default-initialised: pages are touched only as read() fills them.
      std::unique_ptr<std::byte[]> chunk(new std::byte[size]);
      const std::size_t filled = input.read_up_to(chunk.get(), size);
      total += filled;
      if (filled) chunks_.push_back({std::move(chunk), filled});
      if (filled < size) break;
    }
    return total;
  }

  // Calls consume(bytes, size) for each chunk in order, freeing it afterwards.
  template <typename Consume>
  void drain(Consume consume) {
    for (Chunk& chunk : chunks_) {
      consume(chunk.bytes.get(), chunk.size);
      chunk.bytes.reset();
    }
    chunks_.clear();
  }

 private:
  struct Chunk {
    std::unique_ptr<std::byte[]> bytes;
    std::size_t size;
  };
  std::vector<Chunk> chunks_;
};

// Reads `bytes` bytes of element data from `input` into `dst` where their size was checked
// against the input's known size beforehand: float32 little-endian data goes straight into the
// tensor, other data through a small staging buffer that `convert(bytes, size, out)` turns into
// floats. Returns the bytes the input held (fewer if it shrank while being read).
template <typename Convert>
std::uint64_t read_known_size(ByteInput& input, std::uint64_t bytes, bool direct, float* dst, std::size_t width,
                              Convert convert) {
  if (direct) return input.read_up_to(reinterpret_cast<std::byte*>(dst), static_cast<std::size_t>(bytes));
  constexpr std::size_t kStagingBytes = std::size_t{1} << 20;  // a multiple of every width
  std::vector<std::byte> staging(static_cast<std::size_t>(std::min<std::uint64_t>(kStagingBytes, bytes)));
  std::uint64_t done = 0;
  while (done < bytes) {
    const auto wanted = static_cast<std::size_t>(std::min<std::uint64_t>(staging.size(), bytes - done));
    const std::size_t filled = input.read_up_to(staging.data(), wanted);
    const std::size_t whole = filled - filled % width;
    convert(staging.data(), whole, dst);
    dst += whole / width;
    done += filled;
    if (filled < wanted) break;
  }
  return done;
}

// Magic, version and the 2-byte header length of a version 1 .npy file.
constexpr std::size_t kVersion1PrefixBytes = 10;

// Extends `bytes` to `size` bytes from `input`, or to the end of the input if it is shorter.
void read_up_to(ByteInput& input, std::vector<std::byte>& bytes, std::size_t size) {
  const std::size_t used = bytes.size();
  if (size <= used) return;
  bytes.resize(size);
  bytes.resize(used + input.read_up_to(bytes.data() + used, size - used));
}

Tensor stream_npy(ByteInput& input, std::vector<std::byte> head, const std::string& source,
                  const TensorReadOptions& options) {
  // Versions 2 and 3 have a 4-byte header length; reading no further than the prefix of the
  // version at hand keeps the data out of `head`.
  if (head.size() >= 7 && static_cast<std::uint8_t>(head[6]) >= 2) read_up_to(input, head, 12);
  read_up_to(input, head, detail::npy_header_size(head, source));
  const detail::NpyLayout layout = detail::parse_npy_layout(head, source, options.dtype);

  if (const auto remaining = input.known_remaining()) {
    // A regular file: its size is checked before the tensor is allocated, and the data is read
    // into the tensor with no buffer in between.
    detail::check_npy_data_size(layout, *remaining, source);
    Tensor tensor = detail::make_npy_tensor(layout, options.single_name);
    const bool direct = layout.dtype == DType::f32 && !layout.big_endian;
    std::uint64_t present = read_known_size(
        input, layout.data_bytes, direct, tensor.values.data(), dtype_size(layout.dtype),
        [&](std::byte* bytes, std::size_t size, float* out) { detail::decode_npy_data(layout, bytes, size, out); });
    if (present == layout.data_bytes) present += skip_to_end(input);
    detail::check_npy_data_size(layout, present, source);
    detail::finish_npy_tensor(layout, tensor);
    return tensor;
  }

  ChunkedData data;
  std::uint64_t present = data.read(input, layout.data_bytes);
  if (present == layout.data_bytes) present += skip_to_end(input);
  detail::check_npy_data_size(layout, present, source);

  Tensor tensor = detail::make_npy_tensor(layout, options.single_name);
  float* out = tensor.values.data();
  data.drain([&](std::byte* bytes, std::size_t size) {
    detail::decode_npy_data(layout, bytes, size, out);
    out += size / dtype_size(layout.dtype);
  });
  detail::finish_npy_tensor(layout, tensor);
  return tensor;
}

Tensor stream_raw(ByteInput& input, const std::string& source, const TensorReadOptions& options) {
  const DType dtype = options.dtype.value_or(DType::f32);
  const std::uint64_t expected = detail::raw_data_bytes(options, source);
  if (const auto remaining = input.known_remaining()) {
    detail::check_raw_data_size(options, *remaining, source);
    Tensor tensor = make_tensor(options.single_name, dtype, *options.raw_shape);
    std::uint64_t present = read_known_size(input, expected, dtype == DType::f32, tensor.values.data(),
                                            dtype_size(dtype), [&](std::byte* bytes, std::size_t size, float* out) {
                                              decode_elements(bytes, size / dtype_size(dtype), dtype, out);
                                            });
    if (present == expected) present += skip_to_end(input);
    detail::check_raw_data_size(options, present, source);
    return tensor;
  }
  ChunkedData data;
  std::uint64_t present = data.read(input, expected);
  if (present == expected) present += skip_to_end(input);
  detail::check_raw_data_size(options, present, source);
  Tensor tensor = make_tensor(options.single_name, dtype, *options.raw_shape);
  float* out = tensor.values.data();
  data.drain([&](const std::byte* bytes, std::size_t size) {
    decode_elements(bytes, size / dtype_size(dtype), dtype, out);
    out += size / dtype_size(dtype);
  });
  return tensor;
}

// A regular safetensors file: the header is read, then each tensor's data straight into it.
std::vector<Tensor> read_safetensors_known_size(ByteInput& input, std::vector<std::byte> head, std::uint64_t file_size,
                                                const std::string& source) {
  read_up_to(input, head, 8);
  const std::uint64_t header_bytes = detail::safetensors_header_bytes(head, file_size, source);
  read_up_to(input, head, static_cast<std::size_t>(header_bytes));
  if (head.size() < header_bytes)
    fail_input(source + ": truncated at byte " + std::to_string(head.size()) + " while reading the safetensors header");
  const auto entries = detail::parse_safetensors_entries(head, file_size, source);
  std::vector<Tensor> tensors;
  tensors.reserve(entries.size());
  for (const detail::SafetensorsEntry& entry : entries) {
    Tensor tensor = make_tensor(entry.name, entry.dtype, entry.shape);
    const std::uint64_t bytes = entry.end - entry.begin;
    const std::uint64_t present =
        read_known_size(input, bytes, entry.dtype == DType::f32, tensor.values.data(), dtype_size(entry.dtype),
                        [&](std::byte* data, std::size_t size, float* out) {
                          decode_elements(data, size / dtype_size(entry.dtype), entry.dtype, out);
                        });
    if (present != bytes)
      fail_input(source + ": truncated at byte " + std::to_string(input.offset()) + " while reading tensor '" +
                 entry.name + "'");
    tensors.push_back(std::move(tensor));
  }
  if (skip_to_end(input) != 0) fail_input(source + ": the file grew while it was being read");
  return tensors;
}

}  // namespace

std::vector<Tensor> read_tensor_file(const std::string& path, const TensorReadOptions& options) {
  FileInput input(path);
  const std::string& source = input.name();
  std::vector<Tensor> tensors;
  if (options.raw_shape) {
    tensors.push_back(stream_raw(input, source, options));
    return tensors;
  }
  std::vector<std::byte> head;
  read_up_to(input, head, kVersion1PrefixBytes);
  if (sniff_format(head) == TensorFormat::npy) {
    tensors.push_back(stream_npy(input, std::move(head), source, options));
    return tensors;
  }
  if (const auto remaining = input.known_remaining(); remaining && path != "-") {
    const std::uint64_t file_size = head.size() + *remaining;
    const auto format = sniff_format(head);
    if (format == TensorFormat::npz) return detail::read_npz_file(path, file_size, options.dtype);
    // sniff_format's test on the whole file, from its first bytes and size
    const bool safetensors = head.size() >= 9 && static_cast<char>(head[8]) == '{' &&
                             load_le<std::uint64_t>(head.data()) >= 2 &&
                             load_le<std::uint64_t>(head.data()) <= file_size - 8;
    if (safetensors) return read_safetensors_known_size(input, std::move(head), file_size, source);
  }
  // Other input is parsed from memory (.npz members are located by a directory at the end).
  append_to_end(input, head);
  return parse_tensor_file(head, source, options);
}

}  // namespace adacomp
