// The wide rANS encoder (rans_kernel.hpp). Per lane, a state chain is a dozen dependent
// operations per symbol, so a scalar coder is bound by their latency; here each vector holds
// that many lanes' chains. floor(x / f) comes from a float estimate: x < 2^20 f after
// renormalisation, so x (rounded once), 1 / f (to 2^-21) and their product carry a relative
// error below 2^-20, which puts the estimate of a quotient below 2^20 within 1 of the true one;
// one correction step on the remainder then makes it exact on every target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "entries/rans_kernel.cpp"  // found through the src/ include directory
#define HWY_COMPILE_ALL_ATTAINABLE
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "entries/rans_kernel.hpp"

HWY_BEFORE_NAMESPACE();
namespace adacomp::entries::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Stores the lanes' words at their indices, those of lanes that keep theirs at least: the others
// go to a free slot below their lane's words. Where the hardware has a masked scatter, only the
// kept words are stored (a store per lane is the coder's largest cost).
template <class D, class V, class VI, class M>
HWY_INLINE void StoreWords(D d, V words, M keep, VI index, std::uint32_t* base) {
#if HWY_TARGET <= HWY_AVX3
  if constexpr (hn::MaxLanes(D()) == 16) {
    _mm512_mask_i32scatter_epi32(base, keep.raw, index.raw, words.raw, 4);
    return;
  } else if constexpr (hn::MaxLanes(D()) == 8) {
    _mm256_mask_i32scatter_epi32(base, keep.raw, index.raw, words.raw, 4);
    return;
  }
#endif
  (void)keep;
  hn::ScatterIndex(words, d, base, index);
}

// rans_put on every lane: the word stored whether kept or not, `next` moved down where kept.
template <class LaneTag, class Lanes = hn::Vec<LaneTag>>
HWY_INLINE void Put(LaneTag d, Lanes& x, Lanes& next, Lanes packed, std::uint32_t* words) {
  const hn::RebindToSigned<LaneTag> di;
  const hn::RebindToFloat<LaneTag> df;
  const auto frequency = hn::ShiftRight<16>(packed);
  // 1 / f to within 2^-21 on every target: the approximation (to 1.5 2^-12 or better) and one
  // Newton step; off the state's chain
  const auto f = hn::ConvertTo(df, hn::BitCast(di, frequency));
  const auto approximation = hn::ApproximateReciprocal(f);
  const auto reciprocal = hn::Mul(approximation, hn::NegMulAdd(f, approximation, hn::Set(df, 2.0f)));
  const auto start = hn::And(packed, hn::Set(d, 0xFFFFu));
  // x >= 2^20 f, as x / 2^20 > f - 1: both sides below 2^13, where a signed compare is exact
  // (and `>` is one that every target has)
  const auto frequency_less_one = hn::BitCast(di, hn::Sub(frequency, hn::Set(d, 1u)));
  const auto renormalise = hn::RebindMask(d, hn::Gt(hn::BitCast(di, hn::ShiftRight<20>(x)), frequency_less_one));
  StoreWords(d, hn::And(x, hn::Set(d, 0xFFFFu)), renormalise, hn::BitCast(di, hn::Sub(next, hn::Set(d, 1u))), words);
  next = hn::Add(next, hn::VecFromMask(d, renormalise));  // all ones: minus one
  x = hn::IfThenElse(renormalise, hn::ShiftRight<16>(x), x);
  const auto estimate = hn::Mul(hn::ConvertTo(df, x), reciprocal);
  auto quotient = hn::BitCast(d, hn::ConvertTo(di, estimate));                 // truncates: floor of a positive value
  auto remainder = hn::BitCast(di, hn::Sub(x, hn::Mul(quotient, frequency)));  // in [-f, 2f)
  const auto signed_frequency = hn::BitCast(di, frequency);
  const auto low_estimate = hn::Gt(remainder, frequency_less_one);
  const auto high_estimate = hn::Gt(hn::Zero(di), remainder);
  remainder = hn::Sub(remainder, hn::IfThenElseZero(low_estimate, signed_frequency));
  remainder = hn::Add(remainder, hn::IfThenElseZero(high_estimate, signed_frequency));
  quotient = hn::Sub(quotient, hn::VecFromMask(d, hn::RebindMask(d, low_estimate)));
  quotient = hn::Add(quotient, hn::VecFromMask(d, hn::RebindMask(d, high_estimate)));
  x = hn::Add(hn::Add(hn::ShiftLeft<12>(quotient), hn::BitCast(d, remainder)), start);
}

// kLaneCount lanes in vectors of at most kLaneCount / 2 lanes: two chains or more in flight.
template <std::size_t kLaneCount>
void EncodeLanes(const WideRansJob& job, std::size_t first_lane, std::size_t first_round, std::size_t round_count,
                 std::uint32_t* states, std::uint32_t* words, std::size_t capacity, std::uint32_t* first_words) {
  using LaneTag = hn::CappedTag<std::uint32_t, kLaneCount / 2>;
  const LaneTag d;
  const hn::RebindToSigned<LaneTag> di;
  const hn::Rebind<std::uint8_t, LaneTag> d8;
  constexpr std::size_t kVectorLanes = hn::MaxLanes(LaneTag());
  static_assert(kLaneCount % kVectorLanes == 0);
  constexpr std::size_t kVectors = kLaneCount / kVectorLanes;
  decltype(hn::Zero(d)) x[kVectors], next[kVectors], region[kVectors];
  const auto flag_table = hn::LoadU(d, job.flag_table);
  for (std::size_t v = 0; v < kVectors; ++v) {
    x[v] = hn::LoadU(d, states + v * kVectorLanes);
    const auto lane = hn::Add(hn::Iota(d, 0), hn::Set(d, static_cast<std::uint32_t>(v * kVectorLanes)));
    region[v] = hn::Mul(lane, hn::Set(d, static_cast<std::uint32_t>(capacity)));
    next[v] = hn::Add(region[v], hn::Set(d, static_cast<std::uint32_t>(capacity)));
  }
  for (std::size_t k = first_round + round_count; k-- > first_round;) {
    const std::size_t round = k * job.lanes + first_lane;
    for (std::size_t v = 0; v < kVectors; ++v) {
      const std::size_t e = round + v * kVectorLanes;
      const auto flag = hn::BitCast(di, hn::PromoteTo(d, hn::LoadU(d8, job.flags + e)));
      const auto symbol = hn::BitCast(di, hn::PromoteTo(d, hn::LoadU(d8, job.symbols + e)));
      if constexpr (kVectorLanes >= 8)  // the flags' five entries fit in a register
        Put(d, x[v], next[v], hn::TableLookupLanes(flag_table, hn::IndicesFromVec(d, flag)), words);
      else
        Put(d, x[v], next[v], hn::GatherIndex(d, job.flag_table, flag), words);
      Put(d, x[v], next[v], hn::GatherIndex(d, job.gap_table, symbol), words);
    }
  }
  for (std::size_t v = 0; v < kVectors; ++v) {
    hn::StoreU(hn::Sub(next[v], region[v]), d, first_words + v * kVectorLanes);
    hn::StoreU(x[v], d, states + v * kVectorLanes);
  }
}

void EncodeWideRans(const WideRansJob& job, std::size_t first_lane, std::size_t lane_count, std::size_t first_round,
                    std::size_t round_count, std::uint32_t* states, std::uint32_t* words, std::size_t capacity,
                    std::uint32_t* first_words) {
  if (lane_count == 32)
    EncodeLanes<32>(job, first_lane, first_round, round_count, states, words, capacity, first_words);
  else
    EncodeLanes<16>(job, first_lane, first_round, round_count, states, words, capacity, first_words);
}

}  // namespace adacomp::entries::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "codec/kernels/kernel_registry.hpp"

namespace adacomp::entries {

HWY_EXPORT(EncodeWideRans);

void encode_wide_rans(const WideRansJob& job, std::size_t first_lane, std::size_t lane_count, std::size_t first_round,
                      std::size_t round_count, std::uint32_t* states, std::uint32_t* words, std::size_t capacity,
                      std::uint32_t* first_words) {
  using detail::chosen_kernel;
  if (const auto entry = detail::dispatch_entry(HWY_DISPATCH_TABLE(EncodeWideRans), chosen_kernel(), HWY_TARGETS))
    return entry(job, first_lane, lane_count, first_round, round_count, states, words, capacity, first_words);
  return HWY_DYNAMIC_DISPATCH(EncodeWideRans)(job, first_lane, lane_count, first_round, round_count, states, words,
                                              capacity, first_words);
}

}  // namespace adacomp::entries
#endif  // HWY_ONCE
