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
  // .npz and .safetensors are parsed from memory (their members are located by a directory).
  append_to_end(input, head);
  return parse_tensor_file(head, source, options);
}

}  // namespace adacomp
