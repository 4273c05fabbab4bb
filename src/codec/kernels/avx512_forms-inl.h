// AVX-512 instruction forms that Highway 1.0 does not expose, for the selection kernel
// (select_bins-inl.h): a compare under a mask, a conversion under a mask and the 32-to-16-bit
// truncation. Each replaces two or three instructions of the portable form in the encoder's
// per-vector work, where the instruction count is the limit (README, "Performance").
// Included once per target, after <hwy/highway.h>; the guard toggles with HWY_TARGET_TOGGLE.
#if defined(ADACOMP_CODEC_AVX512_FORMS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ADACOMP_CODEC_AVX512_FORMS_INL_H_
#undef ADACOMP_CODEC_AVX512_FORMS_INL_H_
#else
#define ADACOMP_CODEC_AVX512_FORMS_INL_H_
#endif

#include <cstdint>

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace adacomp::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Whether float vectors of tag D have the forms below: AVX-512 targets, 8 or 16 lanes.
template <class D>
constexpr bool kAvx512Forms = HWY_TARGET <= HWY_AVX3 && (hn::MaxLanes(D()) == 8 || hn::MaxLanes(D()) == 16);

#if HWY_TARGET <= HWY_AVX3

// abs_H >= threshold where abs_G != 0 (all three as bits below 2^31, so signed compares order them).
HWY_INLINE __mmask8 selected_lanes(__m256i abs_G, __m256i abs_H, __m256i threshold) {
  return _mm256_mask_cmpge_epi32_mask(_mm256_test_epi32_mask(abs_G, abs_G), abs_H, threshold);
}
HWY_INLINE __mmask16 selected_lanes(__m512i abs_G, __m512i abs_H, __m512i threshold) {
  return _mm512_mask_cmpge_epi32_mask(_mm512_test_epi32_mask(abs_G, abs_G), abs_H, threshold);
}

// low (+ high) += the selected lanes of abs_G promoted to binary64, the others as +0.
HWY_INLINE void add_selected(__m256 abs_G, __mmask8 selected, __m512d& low, __m512d&) {
  low = _mm512_add_pd(low, _mm512_maskz_cvtps_pd(selected, abs_G));
}
HWY_INLINE void add_selected(__m512 abs_G, __mmask16 selected, __m512d& low, __m512d& high) {
  low = _mm512_add_pd(low, _mm512_maskz_cvtps_pd(static_cast<__mmask8>(selected), _mm512_castps512_ps256(abs_G)));
  high =
      _mm512_add_pd(high, _mm512_maskz_cvtps_pd(static_cast<__mmask8>(selected >> 8),
                                                _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(abs_G), 1))));
}

// The low 16 bits of each lane, stored.
HWY_INLINE void store_low_halves(__m256i v, std::uint16_t* to) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(to), _mm256_cvtepi32_epi16(v));
}
HWY_INLINE void store_low_halves(__m512i v, std::uint16_t* to) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(to), _mm512_cvtepi32_epi16(v));
}

#endif  // HWY_TARGET <= HWY_AVX3

}  // namespace adacomp::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ADACOMP_CODEC_AVX512_FORMS_INL_H_
