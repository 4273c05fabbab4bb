#pragma once
// Which kernel the encoder runs (kernels.hpp's choice), kept apart from the kernels themselves:
// the selection (select_kernel.cpp) and the correction (correct_kernel.cpp) each look their
// function up in their own Highway dispatch table by the chosen target, so choosing a kernel
// changes nothing of Highway's own state.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <hwy/targets.h>

namespace adacomp::detail {

inline constexpr std::int64_t kBestKernel = 0;        // Highway's choice: the fastest this CPU runs
inline constexpr std::int64_t kReferenceKernel = -1;  // the plain C++ loop (select_reference.cpp)

// kBestKernel, kReferenceKernel or one Highway target; set by adacomp::select_kernel.
std::int64_t chosen_kernel();

// The Highway targets the selection was compiled for that this CPU runs, best first.
const std::vector<std::int64_t>& selection_targets();
// The target of the selection function that runs for a kernel choice other than the reference.
std::int64_t selection_target(std::int64_t kernel);

// The entry of a Highway dispatch table (HWY_EXPORT) for `target`, or nullptr when `target` is
// kBestKernel or kReferenceKernel, or its unit did not compile it (`compiled`: that unit's
// HWY_TARGETS); then HWY_DYNAMIC_DISPATCH applies. The index is computed as Highway's
// ChosenTarget::GetIndex computes it: a dynamic target's bit, or the last entry for the
// fallback (EMU128 or SCALAR).
template <typename Function, std::size_t kEntries>
Function dispatch_entry(Function const (&table)[kEntries], std::int64_t target, std::int64_t compiled) {
  if (target <= 0 || !(target & compiled)) return nullptr;
  const std::int64_t shifted = HWY_CHOSEN_TARGET_SHIFT(target);
  const std::int64_t bit = shifted ? shifted : HWY_CHOSEN_TARGET_MASK_SCALAR;
  const std::size_t index = hwy::Num0BitsBelowLS1Bit_Nonzero64(static_cast<std::uint64_t>(bit));
  return index < kEntries ? table[index] : nullptr;
}

}  // namespace adacomp::detail
