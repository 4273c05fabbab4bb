#pragma once
// The encoder's inner loop (library-internal): AdaComp's selection over a run of whole bins.
// Two implementations compute the same bits: a plain C++ loop (the reference) and a Highway loop
// compiled for several instruction sets and picked at run time (select_kernel.cpp).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace adacomp::detail {

// Extra room the kernels may write past the last entry (a SIMD compress-store writes whole vectors).
inline constexpr std::size_t kEntrySlack = 64;

struct SelectArgs {
  const float* gradient = nullptr;
  float* residue = nullptr;       // becomes G = r + g over the processed bins; nullptr: a zero
                                  // residue that is not kept (nothing is written)
  std::size_t element_count = 0;  // of the whole tensor (the last bin may be short)
  std::uint32_t bin_size = 1;
  float scale_factor = 2.0f;
  std::size_t first_bin = 0, last_bin = 0;
  std::uint16_t* counts = nullptr;   // [bin - first_bin]
  double* sums = nullptr;            // [bin - first_bin]: binary64 sum of |G| over the selected (exact, so
                                     // in any order: wire_format.md §7)
  std::uint16_t* entries = nullptr;  // room for every element of the bins + kEntrySlack
  std::uint32_t* scratch = nullptr;  // room for scratch_words(bin_size): the reference loop's |G|
  // Bit arrays of the whole tensor, bit j of word w standing for element 64 w + j, each of
  // selection_words(element_count) words. With a residue:
  // - selection (required): the kernel sets the bits of the processed bins where selected, for
  //   the residue correction (correct_kernel.hpp); bits of earlier elements are kept, those of
  //   later ones left undefined.
  // - pending (optional): the previous step's correction, not yet applied to the residue. The
  //   kernel reads r as r - sign(r) * pending_scale where a bit is set (the same bits as
  //   correct_residue would store), and the residue it writes no longer needs it.
  std::uint64_t* selection = nullptr;
  const std::uint64_t* pending = nullptr;
  float pending_scale = 0.0f;
};

// Words of a bit array for `elements` elements, with room for the kernels' 8-byte reads of the
// bits at any element.
inline constexpr std::size_t selection_words(std::size_t elements) { return elements / 64 + 2; }

// x - sign(x) * scale, computed as x + (-sign(x) * scale) with the sign flipped in the bits:
// IEEE 754 defines subtraction as the addition of the negation, so both give the same bits.
// The residue correction of a selected element (x = G != 0), in every kernel.
inline float corrected(float x, float scale) {
  const std::uint32_t negated_sign = ~std::bit_cast<std::uint32_t>(x) & 0x80000000u;
  return x + std::bit_cast<float>(std::bit_cast<std::uint32_t>(scale) ^ negated_sign);
}

// Whether the bit of `element` is set in such an array.
inline bool bit_set(const std::uint64_t* words, std::size_t element) {
  return (words[element / 64] >> (element % 64)) & 1;
}

// r of `element` as the kernels read it: stored_r corrected where its bit is set in `pending`
// (nullptr: nothing pending).
inline float with_pending(float stored_r, const std::uint64_t* pending, float scale, std::size_t element) {
  return pending && bit_set(pending, element) ? corrected(stored_r, scale) : stored_r;
}

// The bits of elements [element, element + 57) of such an array in the low bits (higher ones
// undefined): one unaligned load, as the array is little-endian bytes of bits in element order.
inline std::uint64_t bits_from(const std::uint64_t* words, std::size_t element) {
  static_assert(std::endian::native == std::endian::little);
  std::uint64_t bits;
  std::memcpy(&bits, reinterpret_cast<const unsigned char*>(words) + element / 8, sizeof bits);
  return bits >> (element % 8);
}

inline constexpr std::size_t scratch_words(std::uint32_t bin_size) { return bin_size; }

struct SelectResult {
  std::size_t entries = 0;  // written at args.entries
  // The first bin holding a non-finite G or H, or last_bin. Its residue is as it was, except
  // that elements [bad_bin * bin_size, pending_applied_end) may hold r with the pending
  // correction applied (and their bits are then no longer to be applied).
  std::size_t bad_bin = 0;
  std::size_t pending_applied_end = 0;
};

SelectResult select_bins_reference(const SelectArgs& args);
SelectResult select_bins(const SelectArgs& args);  // the kernel chosen through kernels.hpp

// Appends runs of up to 64 bits to a bit array, bit j of word w standing for position 64 w + j.
// Every append stores the current word, so the array needs no clearing and the bits before the
// starting position are kept.
class BitAppender {
 public:
  BitAppender(std::uint64_t* words, std::size_t position)
      : words_(words), position_(position),
        pending_(position % 64 ? words[position / 64] & ((std::uint64_t{1} << (position % 64)) - 1) : 0) {}

  // `bits` has no bit set at or above `count`; count <= 64.
  void append(std::uint64_t bits, unsigned count) {
    const unsigned used = static_cast<unsigned>(position_ % 64);
    pending_ |= bits << used;
    words_[position_ / 64] = pending_;
    // The bits that did not fit start the next word (a shift by 64 would be undefined).
    const std::uint64_t carried = (bits >> 1) >> (63 - used);
    pending_ = used + count >= 64 ? carried : pending_;
    position_ += count;
  }

  void finish() {
    if (position_ % 64) words_[position_ / 64] = pending_;
  }

 private:
  std::uint64_t* words_;
  std::size_t position_;
  std::uint64_t pending_;
};

}  // namespace adacomp::detail
