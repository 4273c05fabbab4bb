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

inline constexpr std::int64_t kBestKernel = 0;        // the fastest target this CPU runs
inline constexpr std::int64_t kReferenceKernel = -1;  // the plain C++ loop (select_reference.cpp)

// kBestKernel, kReferenceKernel or one Highway target; set by adacomp::select_kernel.
std::int64_t chosen_kernel();

// The Highway targets the selection was compiled for that this CPU runs, best first.
const std::vector<std::int64_t>& selection_targets();
// The target of the selection function that runs for a kernel choice other than the reference.
std::int64_t selection_target(std::int64_t kernel);

// HWY_EXPORT's table with a null first entry in place of the initialiser through which
// HWY_DYNAMIC_DISPATCH has libhwy choose a target (cpu_targets.hpp says why adacomp avoids
// libhwy): dispatch() below indexes the table by target as that initialiser would.
#define ADACOMP_EXPORT(FUNC_NAME)                                                            \
  static decltype(&HWY_STATIC_DISPATCH(FUNC_NAME)) const HWY_DISPATCH_TABLE(                 \
      FUNC_NAME)[HWY_MAX_DYNAMIC_TARGETS + 2] = {nullptr, HWY_CHOOSE_TARGET_LIST(FUNC_NAME), \
                                                 HWY_CHOOSE_FALLBACK(FUNC_NAME)}

// The entry of a dispatch table (ADACOMP_EXPORT) for `target`, or nullptr when `target` is
// not a target or its unit did not compile it (`compiled`: that unit's HWY_TARGETS). The index
// is computed as Highway's ChosenTarget::GetIndex computes it: a dynamic target's bit, or the
// last entry for the fallback (EMU128 or SCALAR).
template <typename Function, std::size_t kEntries>
Function dispatch_entry(Function const (&table)[kEntries], std::int64_t target, std::int64_t compiled) {
  if (target <= 0 || !(target & compiled)) return nullptr;
  const std::int64_t shifted = HWY_CHOSEN_TARGET_SHIFT(target);
  const std::int64_t bit = shifted ? shifted : HWY_CHOSEN_TARGET_MASK_SCALAR;
  const std::size_t index = hwy::Num0BitsBelowLS1Bit_Nonzero64(static_cast<std::uint64_t>(bit));
  return index < kEntries ? table[index] : nullptr;
}

// The best of `compiled` (a unit's HWY_TARGETS) that this CPU runs (cpu_targets.hpp): the
// lowest bit, as Highway orders its targets, the fallback (SCALAR or EMU128) at worst.
std::int64_t best_target(std::int64_t compiled);

// The entry of a unit's dispatch table that runs for the chosen kernel: the chosen target's where
// the unit compiled it, else (kBestKernel, kReferenceKernel, a target the unit lacks) the best
// target's. Used instead of HWY_DYNAMIC_DISPATCH, whose ChosenTarget lives in libhwy.
template <typename Function, std::size_t kEntries>
Function dispatch(Function const (&table)[kEntries], std::int64_t compiled) {
  if (const auto entry = dispatch_entry(table, chosen_kernel(), compiled)) return entry;
  return dispatch_entry(table, best_target(compiled), compiled);
}

}  // namespace adacomp::detail
