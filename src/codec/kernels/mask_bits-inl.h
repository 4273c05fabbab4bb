// Masks as bits of an integer and back, for the Highway kernels (select_bins-inl.h,
// correct_kernel.cpp). Included once per target, after <hwy/highway.h>, like Highway's own -inl
// headers: the guard toggles with HWY_TARGET_TOGGLE.
#if defined(ADACOMP_CODEC_MASK_BITS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ADACOMP_CODEC_MASK_BITS_INL_H_
#undef ADACOMP_CODEC_MASK_BITS_INL_H_
#else
#define ADACOMP_CODEC_MASK_BITS_INL_H_
#endif

#include <cstdint>
#include <cstring>

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace adacomp::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The lanes of a mask as the low bits of an integer.
template <class D>
HWY_INLINE std::uint64_t mask_bits(D d, hn::Mask<D> mask) {
#if HWY_TARGET <= HWY_AVX3
  (void)d;
  return mask.raw;
#else
  std::uint8_t bytes[8] = {};
  hn::StoreMaskBits(d, mask, bytes);
  std::uint64_t bits = 0;
  std::memcpy(&bits, bytes, (hn::MaxLanes(d) + 7) / 8);
  return bits;
#endif
}

// The inverse of mask_bits.
template <class D>
HWY_INLINE hn::Mask<D> mask_from_bits(D d, std::uint64_t bits) {
#if HWY_TARGET <= HWY_AVX3
  (void)d;
  hn::Mask<D> mask;
  mask.raw = static_cast<decltype(mask.raw)>(bits);
  return mask;
#else
  std::uint8_t bytes[8];
  std::memcpy(bytes, &bits, sizeof bytes);
  return hn::LoadMaskBits(d, bytes);
#endif
}

}  // namespace adacomp::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ADACOMP_CODEC_MASK_BITS_INL_H_
