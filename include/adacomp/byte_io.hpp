#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace adacomp {

// A source of bytes read in order (file, pipe or memory), counting its offset so that errors
// can name it. Truncation is reported by read_exact, never by a short buffer.
class ByteInput {
 public:
  virtual ~ByteInput() = default;
  // Read up to `size` bytes; 0 means end of input. Throws Error(io) on a read error.
  virtual std::size_t read_some(std::byte* dst, std::size_t size) = 0;
  virtual const std::string& name() const = 0;
  // The bytes left before the end of input where that is known in advance (a regular file, a
  // buffer), so that a reader can size its buffers before reading; nullopt for pipes.
  virtual std::optional<std::uint64_t> known_remaining() const { return std::nullopt; }

  std::uint64_t offset() const noexcept { return offset_; }
  // Fill `dst` as far as the input goes; returns the bytes read (fewer only at the end of input).
  std::size_t read_up_to(std::byte* dst, std::size_t size);
  // Fill `dst` completely; returns false if the input ended before the first byte,
  // throws Error(invalid_input) "truncated" if it ended in the middle.
  bool read_exact_or_eof(std::span<std::byte> dst, const std::string& what);
  void read_exact(std::span<std::byte> dst, const std::string& what);
  // Read `size` bytes into a buffer grown as data arrives, so a forged length never
  // allocates more than the input actually holds (plus one chunk).
  std::vector<std::byte> read_vector(std::uint64_t size, const std::string& what);

 protected:
  std::uint64_t offset_ = 0;
};

class MemoryInput final : public ByteInput {
 public:
  MemoryInput(std::span<const std::byte> bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {}
  std::size_t read_some(std::byte* dst, std::size_t size) override;
  const std::string& name() const override { return name_; }
  std::optional<std::uint64_t> known_remaining() const override { return bytes_.size() - position_; }

 private:
  std::span<const std::byte> bytes_;
  std::size_t position_ = 0;
  std::string name_;
};

// Reads a file descriptor it does not own (stdin) or a file it opened itself.
class FileInput final : public ByteInput {
 public:
  static constexpr const char* kStdinName = "<stdin>";
  // "-" means standard input.
  explicit FileInput(const std::string& path);
  ~FileInput() override;
  FileInput(const FileInput&) = delete;
  FileInput& operator=(const FileInput&) = delete;
  std::size_t read_some(std::byte* dst, std::size_t size) override;
  const std::string& name() const override { return name_; }
  std::optional<std::uint64_t> known_remaining() const override;

 private:
  int fd_ = -1;
  bool owned_ = false;
  std::string name_;
};

// Whole content of a file ("-" = stdin). Throws Error(io) naming the path.
std::vector<std::byte> read_all(const std::string& path);
// Append the rest of `input` to `bytes`.
void append_to_end(ByteInput& input, std::vector<std::byte>& bytes);
// Read and drop the rest of `input`; returns how many bytes there were.
std::uint64_t skip_to_end(ByteInput& input);

// Little-endian field access on byte buffers.
template <typename T>
T load_le(const std::byte* p) noexcept {
  T value;
  __builtin_memcpy(&value, p, sizeof(T));  // little-endian hosts only (checked at build time)
  return value;
}
template <typename T>
void append_le(std::vector<std::byte>& out, T value) {
  const auto* p = reinterpret_cast<const std::byte*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}

// Unsigned LEB128 (wire format 2): 7 bits per byte, least significant group first, minimal.
void append_varint(std::vector<std::byte>& out, std::uint64_t value);
// The varint at data[pos], advancing pos. Throws Error(invalid_input) "<context>: truncated,
// non-minimal or over-long varint in <what>".
std::uint64_t read_varint(std::span<const std::byte> data, std::size_t& pos, const std::string& context,
                          const char* what);

}  // namespace adacomp
