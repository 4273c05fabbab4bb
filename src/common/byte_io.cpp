#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"

namespace adacomp {

std::size_t ByteInput::read_up_to(std::byte* dst, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const std::size_t n = read_some(dst + done, size - done);
    if (n == 0) break;
    done += n;
    offset_ += n;
  }
  return done;
}

bool ByteInput::read_exact_or_eof(std::span<std::byte> dst, const std::string& what) {
  const std::uint64_t start = offset_;
  const std::size_t done = read_up_to(dst.data(), dst.size());
  if (done == dst.size()) return true;
  if (done == 0) return false;
  fail_input(name() + ": truncated at byte " + std::to_string(start + done) + " while reading " + what + " (" +
             std::to_string(dst.size()) + " bytes expected, " + std::to_string(done) + " present)");
}

void ByteInput::read_exact(std::span<std::byte> dst, const std::string& what) {
  if (dst.empty()) return;
  if (!read_exact_or_eof(dst, what))
    fail_input(name() + ": truncated at byte " + std::to_string(offset_) + " while reading " + what + " (" +
               std::to_string(dst.size()) + " bytes expected, 0 present)");
}

std::vector<std::byte> ByteInput::read_vector(std::uint64_t size, const std::string& what) {
  constexpr std::uint64_t kChunk = std::uint64_t{16} << 20;
  std::vector<std::byte> out;
  while (out.size() < size) {
    const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - out.size()));
    const std::size_t old = out.size();
    out.resize(old + step);
    const std::size_t done = read_up_to(out.data() + old, step);
    if (done < step)
      fail_input(name() + ": truncated at byte " + std::to_string(offset_) + " while reading " + what + " (" +
                 std::to_string(size) + " bytes expected, " + std::to_string(old + done) + " present)");
  }
  return out;
}

std::size_t MemoryInput::read_some(std::byte* dst, std::size_t size) {
  const std::size_t n = std::min(size, bytes_.size() - position_);
  if (n) std::memcpy(dst, bytes_.data() + position_, n);
  position_ += n;
  return n;
}

FileInput::FileInput(const std::string& path) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
    name_ = kStdinName;
    return;
  }
  name_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail_io(path + ": cannot open: " + std::strerror(errno));
  owned_ = true;
}

FileInput::~FileInput() {
  if (owned_) ::close(fd_);
}

std::size_t FileInput::read_some(std::byte* dst, std::size_t size) {
  for (;;) {
    const ssize_t n = ::read(fd_, dst, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    fail_io(name_ + ": read error at byte " + std::to_string(offset_) + ": " + std::strerror(errno));
  }
}

std::optional<std::uint64_t> FileInput::known_remaining() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const off_t position = ::lseek(fd_, 0, SEEK_CUR);
  if (position < 0 || position > st.st_size) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size - position);
}

void append_to_end(ByteInput& input, std::vector<std::byte>& bytes) {
  std::size_t used = bytes.size();
  for (;;) {
    if (bytes.size() - used < (std::size_t{1} << 20))
      bytes.resize(std::max<std::size_t>(bytes.size() * 2, std::size_t{4} << 20));
    const std::size_t n = input.read_some(bytes.data() + used, bytes.size() - used);
    if (n == 0) break;
    used += n;
  }
  bytes.resize(used);
  bytes.shrink_to_fit();
}

std::uint64_t skip_to_end(ByteInput& input) {
  std::byte sink[1 << 16];
  std::uint64_t skipped = 0;
  while (const std::size_t n = input.read_some(sink, sizeof sink)) skipped += n;
  return skipped;
}

std::vector<std::byte> read_all(const std::string& path) {
  FileInput input(path);
  std::vector<std::byte> bytes;
  append_to_end(input, bytes);
  return bytes;
}

}  // namespace adacomp

namespace adacomp {

void append_varint(std::vector<std::byte>& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::byte>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::byte>(value));
}

std::uint64_t read_varint(std::span<const std::byte> data, std::size_t& pos, const std::string& context,
                          const char* what) {
  std::uint64_t value = 0;
  for (unsigned i = 0; i < 10; ++i) {
    if (pos + i >= data.size()) fail_input(context + ": truncated varint in " + what);
    const auto byte = static_cast<std::uint8_t>(data[pos + i]);
    if (i == 9 && byte > 1) break;
    value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if (!(byte & 0x80)) {
      if (byte == 0 && i > 0) fail_input(context + ": non-minimal varint in " + what);
      pos += i + 1;
      return value;
    }
  }
  fail_input(context + ": varint in " + std::string(what) + " exceeds 64 bits");
}

}  // namespace adacomp
