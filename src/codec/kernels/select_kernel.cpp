// The selection kernel's Highway dispatch: select_bins-inl.h compiled once per instruction set,
// and select_bins() calling the one that kernel_registry.hpp's choice names (or the best this CPU runs).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codec/kernels/select_kernel.cpp"  // found through the src/ include directory
#define HWY_COMPILE_ALL_ATTAINABLE  // keep EMU128 too: the portable build, tested like the others
#include <hwy/foreach_target.h>     // IWYU pragma: keep
#include <hwy/highway.h>

#include "adacomp/codec.hpp"
#include "codec/kernels/select_bins-inl.h"

HWY_BEFORE_NAMESPACE();
namespace adacomp::detail::HWY_NAMESPACE {

std::int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace adacomp::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "codec/kernels/cpu_targets.hpp"
#include "codec/kernels/kernel_registry.hpp"

namespace adacomp::detail {

ADACOMP_EXPORT(SelectBins);
ADACOMP_EXPORT(CompiledTarget);

SelectResult select_bins(const SelectArgs& args) {
  const std::int64_t kernel = chosen_kernel();
  if (kernel == kReferenceKernel) return select_bins_reference(args);
  return dispatch(HWY_DISPATCH_TABLE(SelectBins), HWY_TARGETS)(args);
}

const std::vector<std::int64_t>& selection_targets() {
  static const std::vector<std::int64_t> targets = [] {
    std::vector<std::int64_t> best_first;
    for (std::int64_t left = cpu_targets() & HWY_TARGETS; left != 0; left &= left - 1)
      best_first.push_back(left & -left);
    return best_first;
  }();
  return targets;
}

std::int64_t selection_target(std::int64_t kernel) {
  if (const auto entry = dispatch_entry(HWY_DISPATCH_TABLE(CompiledTarget), kernel, HWY_TARGETS)) return entry();
  return dispatch_entry(HWY_DISPATCH_TABLE(CompiledTarget), best_target(HWY_TARGETS), HWY_TARGETS)();
}

}  // namespace adacomp::detail
#endif  // HWY_ONCE
