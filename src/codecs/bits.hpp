#pragma once
// Packed fields of the comparison payloads (codecs-internal): element i's w-bit field at bit
// offset i * w, least significant bit first within each byte (format_spec/codecs.md).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace adacomp::codecs::detail {

inline std::size_t packed_bytes(std::size_t count, unsigned width) { return (count * width + 7) / 8; }

// Writes `count` fields of `width` bits (1 to 16) into `out` (packed_bytes(count, width) bytes,
// zero on entry), field(i) giving element i's.
template <typename Field>
void pack_fields(std::span<std::byte> out, std::size_t count, unsigned width, Field&& field) {
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t value = field(i);
    for (unsigned b = 0; b < width; ++b)
      if ((value >> b) & 1u) {
        const std::size_t bit = i * width + b;
        out[bit / 8] |= std::byte(1u << (bit % 8));
      }
  }
}

// Field i of `width` bits from such a packing (the caller checked its size).
inline std::uint32_t packed_field(std::span<const std::byte> bytes, std::size_t i, unsigned width) {
  std::uint32_t value = 0;
  for (unsigned b = 0; b < width; ++b) {
    const std::size_t bit = i * width + b;
    value |= ((std::to_integer<std::uint32_t>(bytes[bit / 8]) >> (bit % 8)) & 1u) << b;
  }
  return value;
}

// A bit stream of variable-length codes appended to a payload in the same bit order (qsgd, sbc):
// bit k of the stream is bit k % 8 of its byte k / 8; the last byte is padded with zeros.
class BitWriter {
 public:
  explicit BitWriter(std::vector<std::byte>& out) : out_(out) {}
  void bit(unsigned b) {
    if (used_ % 8 == 0) out_.push_back(std::byte{0});
    if (b) out_.back() |= std::byte(1u << (used_ % 8));
    ++used_;
  }
  // The low `width` bits of `value`, the most significant first.
  void high_first(std::uint64_t value, unsigned width) {
    for (unsigned b = width; b-- > 0;) bit((value >> b) & 1u);
  }

 private:
  std::vector<std::byte>& out_;
  std::size_t used_ = 0;
};

}  // namespace adacomp::codecs::detail
