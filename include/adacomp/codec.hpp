#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace adacomp {

// AdaComp parameters of one tensor (format_spec/wire_format.md, "Algorithm").
inline constexpr std::uint32_t kMaxBinSize = 16384;
inline constexpr std::uint32_t kMaxNarrowBinSize = 64;  // largest T with 8-bit entries
inline constexpr float kDefaultScaleFactor = 2.0f;
inline constexpr float kMinScaleFactor = 1.0f;
inline constexpr float kMaxScaleFactor = 4.0f;

// Ternary codes carried in the low two bits of every entry.
inline constexpr std::uint16_t kCodePositive = 0b01;
inline constexpr std::uint16_t kCodeNegative = 0b10;

// Bytes per entry and per bin header for a bin size: 1 when T <= 64, else 2.
std::uint8_t index_width_for(std::uint32_t bin_size) noexcept;

// Default bin size by tensor rank: conv kernels (rank >= 3) 50, fully connected (rank 2) 500,
// bias and norm vectors (rank <= 1) 50.
std::uint32_t default_bin_size(std::size_t rank) noexcept;

// The result of compressing one tensor: per-bin entry counts and the entries of all bins,
// each entry (in_bin_offset << 2) | ternary_code, bins in order, offsets increasing in a bin.
struct SparseTernary {
  std::uint64_t element_count = 0;
  std::uint32_t bin_size = 1;
  float scale = 0.0f;
  std::vector<std::uint16_t> bin_counts;
  std::vector<std::uint16_t> entries;

  std::uint64_t bin_count() const noexcept { return (element_count + bin_size - 1) / bin_size; }
};

// Compress `gradient` against `residue` (same length; all zeros for a fresh learner) and update
// `residue` in place to G - decoded. `tensor_name` only serves error messages.
// Throws Error(invalid_input) on a NaN/Inf input or on float32 overflow of r + k*g, and
// Error(usage) on a bin size or scale factor out of range. After an error the residue holds
// partial updates: callers discard it, as the CLI and replay do.
// `threads` > 1 splits the bins over threads (tensors of at least 256 Ki elements per thread); the
// result is bit-identical whatever the count.
SparseTernary compress(std::span<const float> gradient, std::span<float> residue, std::uint32_t bin_size,
                       float scale_factor, const std::string& tensor_name, unsigned threads = 1);

// A step of a fresh learner whose residue is not kept (`adacomp encode` without --residue):
// the residue is taken as zeros and none is allocated or written. Same bits as compress() on a
// zero residue.
SparseTernary compress_fresh(std::span<const float> gradient, std::uint32_t bin_size, float scale_factor,
                             const std::string& tensor_name, unsigned threads = 1);

// Validate the structure of `sparse` (counts per bin, offsets, codes, scale) as a decoder must;
// throws Error(invalid_input) with `context` prefixed. decode() calls it.
void validate(const SparseTernary& sparse, const std::string& context);

// Write the decoded values (sign * scale at entries, 0 elsewhere) to `out`
// (length == element_count).
void decompress(const SparseTernary& sparse, std::span<float> out, const std::string& context, unsigned threads = 1);

}  // namespace adacomp
