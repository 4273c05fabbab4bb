// The residue's sum of squares, compiled once per instruction set by Highway and dispatched at run
// time like the selection kernel (select_kernel.cpp), whose chosen target it follows
// (kernel_registry.hpp). A sum in index order is bound by the latency of its additions and the
// pending bits are too scattered for a branch: this is the vector form of the same sum in eight
// partials, whatever the vector width.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "codec/kernels/norm_kernel.cpp"  // found through the src/ include directory
#define HWY_COMPILE_ALL_ATTAINABLE
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <bit>

#include "codec/kernels/mask_bits-inl.h"
#include "codec/kernels/norm_kernel.hpp"
#include "codec/kernels/select_kernel.hpp"

HWY_BEFORE_NAMESPACE();
namespace adacomp::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

double SumOfSquares(const float* residue, const std::uint64_t* pending, std::size_t count, float scale) {
  using DoubleTag = hn::CappedTag<double, 8>;
  const DoubleTag dd;
  const hn::Rebind<float, DoubleTag> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  constexpr std::size_t kLanes = hn::MaxLanes(DoubleTag());  // 1, 2, 4 or 8 partial sums per vector
  constexpr std::size_t kVectors = 8 / kLanes;
  decltype(hn::Zero(dd)) sums[kVectors];
  for (auto& s : sums) s = hn::Zero(dd);
  const auto scale_vector = hn::Set(du, std::bit_cast<std::uint32_t>(scale));
  const auto sign = hn::Set(du, 0x80000000u);
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    // 8 divides 64, so a group's bits never straddle two words.
    const std::uint64_t bits = pending ? pending[i / 64] >> (i % 64) : 0;
    for (std::size_t v = 0; v < kVectors; ++v) {
      const auto x = hn::LoadU(df, residue + i + v * kLanes);
      const auto delta = hn::BitCast(df, hn::Xor(scale_vector, hn::AndNot(hn::BitCast(du, x), sign)));
      // x + (+0) is x for every x but -0, whose square is that of +0
      const auto corrected_x = hn::Add(x, hn::IfThenElseZero(mask_from_bits(df, bits >> (v * kLanes)), delta));
      const auto wide = hn::PromoteTo(dd, corrected_x);
      sums[v] = hn::MulAdd(wide, wide, sums[v]);  // the square is exact: fused or not, the same bits
    }
  }
  double partial[8];
  for (std::size_t v = 0; v < kVectors; ++v) hn::StoreU(sums[v], dd, partial + v * kLanes);
  for (; i < count; ++i) {
    const double x = pending && bit_set(pending, i) ? corrected(residue[i], scale) : residue[i];
    partial[i % 8] += x * x;
  }
  double sum = 0.0;
  for (double p : partial) sum += p;
  return sum;
}

}  // namespace adacomp::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "codec/kernels/kernel_registry.hpp"

namespace adacomp::detail {

ADACOMP_EXPORT(SumOfSquares);

double sum_of_squares(const float* residue, const std::uint64_t* pending, std::size_t count, float scale) {
  return dispatch(HWY_DISPATCH_TABLE(SumOfSquares), HWY_TARGETS)(residue, pending, count, scale);
}

}  // namespace adacomp::detail
#endif  // HWY_ONCE
