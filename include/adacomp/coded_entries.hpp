#pragma once
// The coded entry layout of wire format 2 (format_spec/wire_format.md, section 14): the selected
// positions of a frame as gaps coded with a per-frame rANS table, and their signs as flags
// predicted from the previous entry of the same row, or Rice codes for frames of few entries.
// Both directions work on the codec's SparseTernary, so every other part of adacomp sees the
// same content whichever entry layout carried it.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "adacomp/codec.hpp"

namespace adacomp {

enum class EntryCoding : std::uint8_t { rans = 0, rice = 1 };

// Elements per row of the tensor viewed as [shape0, -1] (the whole tensor for rank <= 1): the
// sign of the previous entry predicts the next one only within a row.
std::uint64_t sign_row_length(const std::vector<std::uint64_t>& shape, std::uint64_t element_count) noexcept;

// Append the entries section of `sparse` (at least one entry, at most 2^32 elements) to `out`;
// returns the mode chosen. `threads` > 1 codes rANS lanes in parallel; the bytes are the same.
EntryCoding append_coded_entries(const SparseTernary& sparse, std::uint64_t row_length, std::vector<std::byte>& out,
                                 unsigned threads = 1);

// The entries section `section` (exactly its bytes) of a frame with `sparse.element_count`
// elements and `entry_count` >= 1 entries: fills `sparse.bin_counts` and `sparse.entries` for
// `sparse.bin_size`. Throws Error(invalid_input) prefixed with `context` on any rule it breaks.
EntryCoding decode_coded_entries(std::span<const std::byte> section, std::uint64_t entry_count,
                                 std::uint64_t row_length, SparseTernary& sparse, const std::string& context);

// The same section's values straight into `out` (its element count long, zero where no entry
// is): ±scale at each entry. The decoder's fast path, with the same checks.
void scatter_coded_entries(std::span<const std::byte> section, std::uint64_t entry_count, std::uint64_t row_length,
                           float scale, std::span<float> out, const std::string& context);

// log2 C(n, k) + k: the bits any code needs on average for k signed positions among n, when all
// such sets are equally likely; the yardstick `inspect` and replay print.
double entry_bound_bits(std::uint64_t elements, std::uint64_t entries) noexcept;

}  // namespace adacomp
