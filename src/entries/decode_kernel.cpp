// The wide rANS decoder (decode_kernel.hpp). A round is 32 entries, one per lane: their gap
// symbols, renormalisation words and extra bits in vector registers, their positions and sign
// contexts in a scalar loop (a position needs the one before it), their sign flags in vector
// registers again, and their signs as a prefix XOR of the flags' bits. A lane that needs no word
// or extra bits, or whose read would pass the section's end, reads at offset 0, so that only reads
// the stream needs are checked against the section's end; a round that would break a rule or
// read past the end is not decoded at all.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "entries/decode_kernel.cpp"  // found through the src/ include directory
#define HWY_COMPILE_ALL_ATTAINABLE
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "entries/decode_kernel.hpp"

HWY_BEFORE_NAMESPACE();
namespace adacomp::entries::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using LaneTag = hn::CappedTag<std::uint32_t, 16>;
using Lanes = hn::Vec<LaneTag>;
using LaneMask = hn::Mask<LaneTag>;

// The decoder's renormalisation on every lane of `y`: a word where the state fell below 2^16.
// `bad` gains the lanes that need a word their lane does not have, or one past the section.
HWY_INLINE Lanes Renormalise(LaneTag d, Lanes y, Lanes& word_offset, Lanes word_end, const std::uint32_t* section,
                             std::uint32_t size, LaneMask& bad) {
  const hn::RebindToSigned<LaneTag> di;
  const auto need = hn::Eq(hn::ShiftRight<16>(y), hn::Zero(d));
  // offsets below 2^29: signed compares are exact
  const auto available = hn::Gt(hn::BitCast(di, word_end), hn::BitCast(di, word_offset));
  const auto inside = hn::Gt(hn::Set(di, static_cast<std::int32_t>(size - 3)), hn::BitCast(di, word_offset));
  bad = hn::Or(bad, hn::AndNot(hn::RebindMask(d, hn::And(available, inside)), need));
  // a lane that would read past the section reads at 0 too: its round is not taken
  const auto read = hn::And(need, hn::RebindMask(d, inside));
  const auto word = hn::GatherOffset(d, section, hn::BitCast(di, hn::IfThenElseZero(read, word_offset)));
  word_offset = hn::Add(word_offset, hn::IfThenElseZero(need, hn::Set(d, 2u)));
  return hn::IfThenElse(need, hn::Or(hn::ShiftLeft<16>(y), hn::And(word, hn::Set(d, 0xFFFFu))), y);
}

std::size_t DecodeWideRounds(const WideDecodeJob& job, WideDecodeState& state, std::size_t max_rounds,
                             std::uint32_t* positions, std::uint32_t* negative_bits) {
  const LaneTag d;
  const hn::RebindToSigned<LaneTag> di;
  constexpr std::size_t kVectorLanes = hn::MaxLanes(LaneTag());
  constexpr std::size_t kVectors = kWideDecodeLanes / kVectorLanes;
  if (job.size < 8) return 0;
  const auto* section = reinterpret_cast<const std::uint32_t*>(job.section);
  const auto size = static_cast<std::uint32_t>(job.size);
  Lanes x[kVectors], word_offset[kVectors], word_end[kVectors], extra_offset[kVectors], extra_end[kVectors];
  for (std::size_t v = 0; v < kVectors; ++v) {
    x[v] = hn::LoadU(d, state.states + v * kVectorLanes);
    word_offset[v] = hn::LoadU(d, state.word_offsets + v * kVectorLanes);
    word_end[v] = hn::LoadU(d, state.word_ends + v * kVectorLanes);
    extra_offset[v] = hn::LoadU(d, state.extra_offsets + v * kVectorLanes);
    extra_end[v] = hn::LoadU(d, state.extra_ends + v * kVectorLanes);
  }
  const auto probability_mask = hn::Set(d, 4095u), one = hn::Set(d, 1u);
  const auto lane_bit = hn::Shl(one, hn::Iota(d, 0));
  const auto same_row_zero = hn::Set(d, job.zero_frequencies[0]), new_row_zero = hn::Set(d, job.zero_frequencies[1]);
  std::uint64_t previous = state.previous_position, row_end = state.row_end, entry = state.next_entry;
  bool negative = state.negative;
  std::size_t rounds = 0;
  for (; rounds < max_rounds && entry + kWideDecodeLanes <= job.entry_count; ++rounds) {
    Lanes y[kVectors], next_word[kVectors], next_extra[kVectors];
    auto bad = hn::FirstN(d, 0);
    alignas(64) std::uint32_t gaps[kWideDecodeLanes];
    for (std::size_t v = 0; v < kVectors; ++v) {
      // the gap symbol
      const auto slot = hn::And(x[v], probability_mask);
      const auto packed = hn::GatherIndex(d, job.slot_table, hn::BitCast(di, slot));
      const auto symbol = hn::And(packed, hn::Set(d, 255u));
      const auto start = hn::And(hn::ShiftRight<8>(packed), probability_mask);
      const auto frequency = hn::Add(hn::ShiftRight<20>(packed), one);
      next_word[v] = word_offset[v];
      y[v] = Renormalise(d, hn::Add(hn::Mul(frequency, hn::ShiftRight<12>(x[v])), hn::Sub(slot, start)), next_word[v],
                         word_end[v], section, size, bad);
      // its extra bits: symbol 15 + 2 (e - 4) + m stands for 2^e + m 2^(e-1) plus e - 1 raw bits
      const auto escape = hn::RebindMask(d, hn::Gt(hn::BitCast(di, symbol), hn::Set(di, 14)));
      const auto class_index = hn::IfThenElseZero(escape, hn::Sub(symbol, hn::Set(d, 15u)));
      // a gap of 2^32 or more lies beyond any tensor: the round stops, and no shift reaches 32
      const auto wide_exponent = hn::Add(hn::ShiftRight<1>(class_index), hn::Set(d, 4u));
      const auto too_wide = hn::RebindMask(d, hn::Gt(hn::BitCast(di, wide_exponent), hn::Set(di, 31)));
      bad = hn::Or(bad, too_wide);
      const auto exponent = hn::IfThenElse(too_wide, hn::Set(d, 4u), wide_exponent);
      const auto bits = hn::IfThenElseZero(escape, hn::Sub(exponent, one));
      const auto base = hn::IfThenElse(
          escape, hn::Or(hn::Shl(one, exponent), hn::Shl(hn::And(class_index, one), hn::Sub(exponent, one))),
          hn::Add(symbol, one));
      next_extra[v] = hn::Add(extra_offset[v], bits);
      const auto byte = hn::ShiftRight<3>(extra_offset[v]);
      const auto inside = hn::Gt(hn::Set(di, static_cast<std::int32_t>(size - 7)), hn::BitCast(di, byte));
      const auto past_end = hn::Gt(hn::BitCast(di, next_extra[v]), hn::BitCast(di, extra_end[v]));
      bad = hn::Or(bad, hn::Or(hn::AndNot(hn::RebindMask(d, inside), escape), hn::RebindMask(d, past_end)));
      const auto at = hn::BitCast(di, hn::IfThenElseZero(hn::And(escape, hn::RebindMask(d, inside)), byte));
      const auto low = hn::GatherOffset(d, section, at);
      const auto high = hn::GatherOffset(d, section, hn::Add(at, hn::Set(di, 4)));
      const auto shift = hn::And(extra_offset[v], hn::Set(d, 7u));
      const auto value = hn::Or(hn::Shr(low, shift), hn::Shl(hn::ShiftLeft<1>(high), hn::Sub(hn::Set(d, 31u), shift)));
      const auto extra = hn::And(value, hn::Sub(hn::Shl(one, bits), one));
      hn::Store(hn::Add(base, extra), d, gaps + v * kVectorLanes);
    }
    if (!hn::AllFalse(d, bad)) break;
    // positions and sign contexts, in order
    std::uint64_t position = previous, round_row_end = row_end;
    std::uint32_t new_rows = 0;
    bool beyond = false;
    for (unsigned j = 0; j < kWideDecodeLanes; ++j) {
      position += gaps[j];  // from ~0 for the first entry: its gap - 1
      beyond |= position >= job.element_count;
      const bool new_row = entry + j == 0 || position >= round_row_end;
      if (new_row) [[unlikely]]
        round_row_end = (position / job.row_length + 1) * job.row_length;
      new_rows |= static_cast<std::uint32_t>(new_row) << j;
      positions[rounds * kWideDecodeLanes + j] = static_cast<std::uint32_t>(position);
    }
    if (beyond) break;
    // the sign flags
    std::uint32_t flips = 0;
    for (std::size_t v = 0; v < kVectors; ++v) {
      const auto new_row = hn::TestBit(hn::Set(d, new_rows >> (v * kVectorLanes)), lane_bit);
      const auto zero = hn::IfThenElse(new_row, new_row_zero, same_row_zero);
      const auto slot = hn::And(y[v], probability_mask);
      const auto flip = hn::RebindMask(d, hn::Gt(hn::BitCast(di, slot), hn::BitCast(di, hn::Sub(zero, one))));
      const auto start = hn::IfThenElseZero(flip, zero);
      const auto frequency = hn::IfThenElse(flip, hn::Sub(hn::Set(d, 4096u), zero), zero);
      y[v] = Renormalise(d, hn::Add(hn::Mul(frequency, hn::ShiftRight<12>(y[v])), hn::Sub(slot, start)), next_word[v],
                         word_end[v], section, size, bad);
      const auto bits = hn::GetLane(hn::SumOfLanes(d, hn::IfThenElseZero(flip, lane_bit)));  // distinct bits
      flips |= bits << (v * kVectorLanes);
    }
    if (!hn::AllFalse(d, bad)) break;
    for (std::size_t v = 0; v < kVectors; ++v) {
      x[v] = y[v];
      word_offset[v] = next_word[v];
      extra_offset[v] = next_extra[v];
    }
    previous = position;
    row_end = round_row_end;
    // entry j's sign: the previous sign flipped by flags 0 to j
    std::uint32_t signs = flips;
    signs ^= signs << 1;
    signs ^= signs << 2;
    signs ^= signs << 4;
    signs ^= signs << 8;
    signs ^= signs << 16;
    if (negative) signs = ~signs;
    negative_bits[rounds] = signs;
    negative = signs >> 31;
    entry += kWideDecodeLanes;
  }
  for (std::size_t v = 0; v < kVectors; ++v) {
    hn::StoreU(x[v], d, state.states + v * kVectorLanes);
    hn::StoreU(word_offset[v], d, state.word_offsets + v * kVectorLanes);
    hn::StoreU(extra_offset[v], d, state.extra_offsets + v * kVectorLanes);
  }
  state.previous_position = previous;
  state.row_end = row_end;
  state.next_entry = entry;
  state.negative = negative;
  return rounds;
}

}  // namespace adacomp::entries::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "codec/kernels/kernel_registry.hpp"

namespace adacomp::entries {

ADACOMP_EXPORT(DecodeWideRounds);

std::size_t decode_wide_rounds(const WideDecodeJob& job, WideDecodeState& state, std::size_t max_rounds,
                               std::uint32_t* positions, std::uint32_t* negative_bits) {
  return detail::dispatch(HWY_DISPATCH_TABLE(DecodeWideRounds), HWY_TARGETS)(job, state, max_rounds, positions,
                                                                             negative_bits);
}

}  // namespace adacomp::entries
#endif  // HWY_ONCE
