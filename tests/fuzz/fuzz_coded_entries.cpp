// Decoding arbitrary bytes as a coded entries section (format_spec/wire_format.md, section 14).
// Input: u32 element count, u32 entry count, u32 row length, u16 bin size (all little-endian,
// reduced to their valid ranges), then the section. What decodes must be a valid sparse frame,
// scatter to the same values as the fixed-layout decoder, and survive a re-encode unchanged.
#include <cstring>

#include "adacomp/coded_entries.hpp"
#include "adacomp/error.hpp"
#include "fuzz_support.hpp"

namespace {

std::uint32_t field(std::span<const std::byte> bytes, std::size_t at) {
  std::uint32_t value = 0;
  std::memcpy(&value, bytes.data() + at, 4);
  return value;
}

}  // namespace

ADACOMP_FUZZ_TARGET({
  if (bytes.size() < 14) return 0;
  const std::uint64_t elements = 1 + field(bytes, 0) % kFuzzMaxElements;
  const std::uint64_t entries = 1 + field(bytes, 4) % elements;
  const std::uint64_t row = 1 + field(bytes, 8) % elements;
  std::uint16_t bin_size = 0;
  std::memcpy(&bin_size, bytes.data() + 12, 2);
  const std::span<const std::byte> section = bytes.subspan(14);
  adacomp::SparseTernary sparse;
  sparse.element_count = elements;
  sparse.bin_size = 1 + bin_size % adacomp::kMaxBinSize;
  sparse.scale = 0.5f;
  adacomp::decode_coded_entries(section, entries, row, sparse, "fuzz");
  if (sparse.entries.size() != entries) __builtin_trap();
  adacomp::validate(sparse, "fuzz");  // throws on a fault: only Error may leave a target
  std::vector<float> expected(elements), scattered(elements, 0.0f);
  adacomp::decompress(sparse, expected, "fuzz");
  adacomp::scatter_coded_entries(section, entries, row, sparse.scale, scattered, "fuzz");
  if (expected != scattered) __builtin_trap();
  std::vector<std::byte> again;
  adacomp::append_coded_entries(sparse, row, again);
  adacomp::SparseTernary back = sparse;
  adacomp::decode_coded_entries(again, entries, row, back, "fuzz (re-encoded)");
  if (back.entries != sparse.entries || back.bin_counts != sparse.bin_counts) __builtin_trap();
})
