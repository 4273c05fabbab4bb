#pragma once
// The encoder's inner loop (library-internal): AdaComp's selection over a run of whole bins.
// Two implementations compute the same bits: a plain C++ loop (the reference) and a Highway loop
// compiled for several instruction sets and picked at run time (select_kernel.cpp).
#include <cstddef>
#include <cstdint>

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
  std::uint16_t* counts = nullptr;  // [bin - first_bin]
  double* sums = nullptr;           // [bin - first_bin]: binary64 sum of |G| over the selected, index order
  std::uint16_t* entries = nullptr; // room for every element of the bins + kEntrySlack
  std::uint32_t* scratch = nullptr; // room for scratch_words(bin_size): the reference loop's |G|
  // Optional (nullptr: not wanted): one bit per element, set where selected, for the dense
  // residue correction (correct_kernel.hpp). Bit j of the array stands for element
  // selection_origin + j; the bits of earlier elements are kept, those of later ones undefined.
  std::uint64_t* selection = nullptr;
  std::size_t selection_origin = 0;
};

inline constexpr std::size_t scratch_words(std::uint32_t bin_size) { return bin_size; }

struct SelectResult {
  std::size_t entries = 0;         // written at args.entries
  std::size_t bad_bin = 0;         // first bin holding a non-finite G or H (its residue untouched), or last_bin
  bool selection_written = false;  // args.selection holds the bits of the processed bins
};

SelectResult select_bins_scalar(const SelectArgs& args);
SelectResult select_bins(const SelectArgs& args);  // the kernel chosen through kernels.hpp

// Whether adding any of a bin's selected |G| in any order gives the same binary64 sum as the
// specified index order, knowing only the smallest and largest of them (as float bit patterns,
// over any run of bins) and the bin size. Kernels that add in another order check this and, if
// it fails, recompute with ordered_bin_sums (bin_sums.cpp explains the bound).
bool exact_sums(std::uint32_t smallest_bits, std::uint32_t largest_bits, std::uint32_t bin_size);
// args.sums of bins [first_bin, last_bin) in index order, from the entries the kernel wrote at
// args.entries and G (in the residue, or the gradient when there is none).
void ordered_bin_sums(const SelectArgs& args);

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
