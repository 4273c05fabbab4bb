// The dense residue correction, compiled once per instruction set by Highway and dispatched at
// run time like the selection kernel (select_kernel.cpp), whose chosen target it follows
// (kernel_registry.hpp).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codec/kernels/correct_kernel.cpp"  // found through the src/ include directory
#define HWY_COMPILE_ALL_ATTAINABLE
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <bit>

#include "codec/kernels/correct_kernel.hpp"
#include "codec/kernels/mask_bits-inl.h"
#include "codec/kernels/select_kernel.hpp"

HWY_BEFORE_NAMESPACE();
namespace adacomp::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void CorrectResidue(float* residue, const std::uint64_t* selection, std::size_t count, float scale) {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const std::size_t N = hn::Lanes(df);
  const std::uint32_t scale_bits = std::bit_cast<std::uint32_t>(scale);
  const auto scale_vector = hn::Set(du, scale_bits);
  const auto sign = hn::Set(du, 0x80000000u);
  std::size_t i = 0;
  for (; i + N <= count; i += N) {
    // N divides 64, so a vector's bits never straddle two words.
    const auto mask = mask_from_bits(df, selection[i / 64] >> (i % 64));
    const auto x = hn::LoadU(df, residue + i);
    const auto delta = hn::BitCast(df, hn::Xor(scale_vector, hn::AndNot(hn::BitCast(du, x), sign)));
    const auto result = hn::Add(x, delta);
#if HWY_TARGET <= HWY_AVX3
    hn::BlendedStore(result, mask, df, residue + i);  // lines without a selected element stay clean
#else
    hn::StoreU(hn::IfThenElse(mask, result, x), df, residue + i);  // AVX2's masked store is slow on AMD
#endif
  }
  for (; i < count; ++i)
    if (bit_set(selection, i)) residue[i] = corrected(residue[i], scale);
}

}  // namespace adacomp::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "codec/kernels/kernel_registry.hpp"

namespace adacomp::detail {

ADACOMP_EXPORT(CorrectResidue);

void correct_residue(float* residue, const std::uint64_t* selection, std::size_t count, float scale) {
  dispatch(HWY_DISPATCH_TABLE(CorrectResidue), HWY_TARGETS)(residue, selection, count, scale);
}

}  // namespace adacomp::detail
#endif  // HWY_ONCE
