// The wide rANS encoder (rans_kernel.hpp). Per lane, a state chain is a dozen dependent
// operations per symbol, so a scalar coder is bound by their latency; here each vector holds
// that many lanes' chains, in 64-bit lanes. floor(x / f) is the product of x (below 2^32, exact
// as a double) and 1 / f rounded up, truncated: with t = x / f < 2^20 after renormalisation,
// the product exceeds t by less than 2^-31 (1 / f rounded up is within 2^-51 of it, relatively)
// while t's fraction is at most 1 - 2^-12, so neither the excess nor the product's rounding (half
// an ulp, 2^-33) reaches the next integer, and every integer below 2^53 is a double: the floor
// is exact on every target.
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
HWY_INLINE void StoreWords(D d, V words, M keep, VI index, std::uint64_t* base) {
#if HWY_TARGET <= HWY_AVX3
  if constexpr (hn::MaxLanes(D()) == 8) {
    _mm512_mask_i64scatter_epi64(base, keep.raw, index.raw, words.raw, 8);
    return;
  } else if constexpr (hn::MaxLanes(D()) == 4) {
    _mm256_mask_i64scatter_epi64(base, keep.raw, index.raw, words.raw, 8);
    return;
  }
#endif
  (void)keep;
  hn::ScatterIndex(words, d, base, index);
}

// a * b for lanes whose values are below 2^32 and whose product is below 2^64: the 32 x 32-bit
// multiply of the even halves, which every x86 target has (a 64-bit multiply is AVX-512's only).
template <class D, class V>
HWY_INLINE V MulLow32([[maybe_unused]] D d, V a, V b) {
#if HWY_TARGET == HWY_SCALAR
  return hn::Set(d, hn::GetLane(a) * hn::GetLane(b));
#else
  const hn::Repartition<std::uint32_t, D> d32;
  return hn::MulEven(hn::BitCast(d32, a), hn::BitCast(d32, b));
#endif
}

// rans_put on every lane: the word stored whether kept or not, `next` moved down where kept.
// `packed` is a table entry (start | frequency << 16), `reciprocal` 1 / frequency rounded up.
template <class D, class V = hn::Vec<D>>
HWY_INLINE void Put(D d, V& x, V& next, V packed, hn::Vec<hn::RebindToFloat<D>> reciprocal, std::uint64_t* words) {
  const hn::RebindToSigned<D> di;
  const hn::RebindToFloat<D> dd;
  const auto frequency = hn::ShiftRight<16>(packed);
  const auto start = hn::And(packed, hn::Set(d, 0xFFFFu));
  // x >= 2^20 f, as x > 2^20 f - 1: both sides below 2^33, where a signed compare is exact
  const auto limit = hn::BitCast(di, hn::Sub(hn::ShiftLeft<20>(frequency), hn::Set(d, 1u)));
  const auto renormalise = hn::RebindMask(d, hn::Gt(hn::BitCast(di, x), limit));
  const auto index = hn::BitCast(di, hn::Sub(next, hn::Set(d, 1u)));
  StoreWords(d, hn::And(x, hn::Set(d, 0xFFFFu)), renormalise, index, words);
  next = hn::Add(next, hn::VecFromMask(d, renormalise));  // all ones: minus one
  x = hn::IfThenElse(renormalise, hn::ShiftRight<16>(x), x);
  const auto quotient = hn::BitCast(d, hn::ConvertTo(di, hn::Mul(hn::ConvertTo(dd, hn::BitCast(di, x)), reciprocal)));
  x = hn::Add(hn::Add(x, start), MulLow32(d, quotient, hn::Sub(hn::Set(d, 4096u), frequency)));
}

// kLaneCount lanes in vectors of at most kVectorCap (64-bit) lanes: two chains or more in flight.
template <std::size_t kLaneCount, std::size_t kVectorCap>
void EncodeLanes(const WideRansJob& job, std::size_t first_lane, std::size_t first_round, std::size_t round_count,
                 std::uint32_t* states, std::uint64_t* words, std::size_t capacity, std::uint32_t* first_words) {
  using LaneTag = hn::CappedTag<std::uint64_t, kVectorCap>;
  const LaneTag d;
  const hn::RebindToSigned<LaneTag> di;
  const hn::RebindToFloat<LaneTag> dd;
  const hn::Rebind<std::uint32_t, LaneTag> d32;
  const hn::Rebind<std::uint8_t, decltype(d32)> d8;
  constexpr std::size_t kVectorLanes = hn::MaxLanes(LaneTag());
  static_assert(kLaneCount % kVectorLanes == 0);
  constexpr std::size_t kVectors = kLaneCount / kVectorLanes;
  decltype(hn::Zero(d)) x[kVectors], next[kVectors], region[kVectors];
  for (std::size_t v = 0; v < kVectors; ++v) {
    x[v] = hn::PromoteTo(d, hn::LoadU(d32, states + v * kVectorLanes));
    const auto lane = hn::Add(hn::Iota(d, 0), hn::Set(d, std::uint64_t{v * kVectorLanes}));
    region[v] = MulLow32(d, lane, hn::Set(d, std::uint64_t{capacity}));
    next[v] = hn::Add(region[v], hn::Set(d, std::uint64_t{capacity}));
  }
  // locals: the words' stores could alias the job as far as the compiler knows
  const std::uint8_t* const flags = job.flags;
  const std::uint8_t* const symbols = job.symbols;
  const std::uint64_t* const gap_table = job.gap_table;
  const double* const gap_reciprocals = job.gap_reciprocals;
  const std::size_t lanes = job.lanes;
  auto load = [&](const std::uint8_t* at) {
    return hn::BitCast(di, hn::PromoteTo(d, hn::PromoteTo(d32, hn::LoadU(d8, at))));
  };
  [[maybe_unused]] const auto flag_table = hn::LoadU(d, job.flag_table);
  [[maybe_unused]] const auto flag_reciprocals = hn::LoadU(dd, job.flag_reciprocals);
  for (std::size_t k = first_round + round_count; k-- > first_round;) {
    const std::size_t round = k * lanes + first_lane;
    // a full round's flags bytes are 0 to 3, the four entries a vector of four lanes holds; only
    // the last round's padding needs the fifth, the identity
    const bool full = (k + 1) * lanes <= job.entries;
    for (std::size_t v = 0; v < kVectors; ++v) {
      const std::size_t e = round + v * kVectorLanes;
      const auto flag = load(flags + e);
      if (kVectorLanes >= 4 && full) {
        Put(d, x[v], next[v], hn::TableLookupLanes(flag_table, hn::IndicesFromVec(d, flag)),
            hn::TableLookupLanes(flag_reciprocals, hn::IndicesFromVec(dd, flag)), words);
      } else {
        Put(d, x[v], next[v], hn::GatherIndex(d, job.flag_table, flag), hn::GatherIndex(dd, job.flag_reciprocals, flag),
            words);
      }
      const auto symbol = load(symbols + e);
      Put(d, x[v], next[v], hn::GatherIndex(d, gap_table, symbol), hn::GatherIndex(dd, gap_reciprocals, symbol), words);
    }
  }
  std::uint64_t wide[2][kLaneCount];
  for (std::size_t v = 0; v < kVectors; ++v) {
    hn::StoreU(hn::Sub(next[v], region[v]), d, wide[0] + v * kVectorLanes);
    hn::StoreU(x[v], d, wide[1] + v * kVectorLanes);
  }
  for (std::size_t i = 0; i < kLaneCount; ++i) {
    first_words[i] = static_cast<std::uint32_t>(wide[0][i]);
    states[i] = static_cast<std::uint32_t>(wide[1][i]);
  }
}

void EncodeWideRans(const WideRansJob& job, std::size_t first_lane, std::size_t lane_count, std::size_t first_round,
                    std::size_t round_count, std::uint32_t* states, std::uint64_t* words, std::size_t capacity,
                    std::uint32_t* first_words) {
  // vectors of up to eight lanes: narrower ones, for more chains in flight per thread, lose more
  // to their extra instructions than they gain (measured on AVX-512)
  if (lane_count == 32)
    EncodeLanes<32, 8>(job, first_lane, first_round, round_count, states, words, capacity, first_words);
  else
    EncodeLanes<16, 8>(job, first_lane, first_round, round_count, states, words, capacity, first_words);
}

}  // namespace adacomp::entries::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "codec/kernels/kernel_registry.hpp"

namespace adacomp::entries {

ADACOMP_EXPORT(EncodeWideRans);

void encode_wide_rans(const WideRansJob& job, std::size_t first_lane, std::size_t lane_count, std::size_t first_round,
                      std::size_t round_count, std::uint32_t* states, std::uint64_t* words, std::size_t capacity,
                      std::uint32_t* first_words) {
  return detail::dispatch(HWY_DISPATCH_TABLE(EncodeWideRans), HWY_TARGETS)(
      job, first_lane, lane_count, first_round, round_count, states, words, capacity, first_words);
}

}  // namespace adacomp::entries
#endif  // HWY_ONCE
