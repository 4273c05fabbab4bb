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
};

inline constexpr std::size_t scratch_words(std::uint32_t bin_size) { return bin_size; }

struct SelectResult {
  std::size_t entries = 0;  // written at args.entries
  std::size_t bad_bin = 0;  // first bin holding a non-finite G or H (its residue untouched), or last_bin
};

SelectResult select_bins_scalar(const SelectArgs& args);
SelectResult select_bins(const SelectArgs& args);  // the kernel chosen through kernels.hpp

}  // namespace adacomp::detail
