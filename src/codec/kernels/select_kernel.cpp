// The selection kernel's Highway dispatch: select_bins-inl.h compiled once per instruction set,
// and select_bins() calling the one that kernel_registry.hpp's choice names (or Highway's best).
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
#include "codec/kernels/kernel_registry.hpp"

namespace adacomp::detail {

HWY_EXPORT(SelectBins);
HWY_EXPORT(CompiledTarget);

SelectResult select_bins(const SelectArgs& args) {
  const std::int64_t kernel = chosen_kernel();
  if (kernel == kReferenceKernel) return select_bins_reference(args);
  if (const auto entry = dispatch_entry(HWY_DISPATCH_TABLE(SelectBins), kernel, HWY_TARGETS)) return entry(args);
  return HWY_DYNAMIC_DISPATCH(SelectBins)(args);
}

const std::vector<std::int64_t>& selection_targets() {
  static const std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();  // best first
  return targets;
}

std::int64_t selection_target(std::int64_t kernel) {
  if (const auto entry = dispatch_entry(HWY_DISPATCH_TABLE(CompiledTarget), kernel, HWY_TARGETS)) return entry();
  return HWY_DYNAMIC_DISPATCH(CompiledTarget)();
}

}  // namespace adacomp::detail
#endif  // HWY_ONCE
