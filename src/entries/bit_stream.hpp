#pragma once
// Bit streams of the coded entries: least significant bit first (format_spec/wire_format.md,
// section 14.1).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace adacomp::entries {

class BitWriter {
 public:
  explicit BitWriter(std::vector<std::byte>& out) : out_(out) {}
  // count <= 32
  void put(std::uint64_t value, unsigned count) {
    buffer_ |= value << filled_;
    filled_ += count;
    if (filled_ >= 32) {
      const std::size_t size = out_.size();
      out_.resize(size + 4);
      const auto word = static_cast<std::uint32_t>(buffer_);
      __builtin_memcpy(out_.data() + size, &word, 4);  // little-endian hosts only
      buffer_ >>= 32;
      filled_ -= 32;
    }
  }
  void put_wide(std::uint64_t value, unsigned count) {  // count <= 64
    if (count > 32) {
      put(value & 0xffffffffu, 32);
      value >>= 32;
      count -= 32;
    }
    put(value, count);
  }
  void finish() {
    for (; filled_ > 0; filled_ = filled_ > 8 ? filled_ - 8 : 0) {
      out_.push_back(static_cast<std::byte>(buffer_));
      buffer_ >>= 8;
    }
    buffer_ = 0;
  }

 private:
  std::vector<std::byte>& out_;
  std::uint64_t buffer_ = 0;
  unsigned filled_ = 0;
};

class BitReader {
 public:
  BitReader() = default;
  BitReader(const std::byte* begin, const std::byte* end) : next_(begin), end_(end) {}
  // false when the stream ends before `count` (<= 32) bits
  bool get(unsigned count, std::uint64_t& value) {
    if (end_ - next_ >= 8) {
      // Away from the end: top the buffer up to 56 or more bits from one unaligned load, with no
      // branch on how many bits the last codes took.
      std::uint64_t word;
      __builtin_memcpy(&word, next_, 8);  // little-endian hosts only
      buffer_ |= word << filled_;
      next_ += (63 - filled_) >> 3;
      filled_ |= 56;
    } else if (filled_ < count) {
      while (filled_ < count) {
        if (next_ == end_) return false;
        buffer_ |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(*next_++)) << filled_;
        filled_ += 8;
      }
    }
    value = buffer_ & ((std::uint64_t{1} << count) - 1);
    buffer_ >>= count;
    filled_ -= count;
    return true;
  }
  bool get_wide(unsigned count, std::uint64_t& value) {  // count <= 64
    if (count <= 32) return get(count, value);
    std::uint64_t low, high;
    if (!get(32, low) || !get(count - 32, high)) return false;
    value = low | high << 32;
    return true;
  }
  // Every byte consumed, but for the zero padding bits of the last one.
  bool ended_cleanly() const { return next_ == end_ && buffer_ == 0 && filled_ < 8; }

 private:
  const std::byte* next_ = nullptr;
  const std::byte* end_ = nullptr;
  std::uint64_t buffer_ = 0;
  unsigned filled_ = 0;
};

}  // namespace adacomp::entries
