// The positions, gap symbols and sign flips of the coded entries (symbol_kernel.hpp). A gap's class needs
// floor(log2 gap): the exponent of the gap as a float, converted exactly by taking the gap's top
// 24 bits, and the symbols, flips and escapes of a whole vector are stored at once, the escapes
// compressed: a scalar loop spends a dozen instructions per entry on them.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "entries/symbol_kernel.cpp"  // found through the src/ include directory
#define HWY_COMPILE_ALL_ATTAINABLE
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>

#include "adacomp/codec.hpp"
#include "entries/gap_symbols.hpp"
#include "entries/symbol_kernel.hpp"

HWY_BEFORE_NAMESPACE();
namespace adacomp::entries::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// One entry after the entry at `previous` (~0: none) of sign `previous_negative`, as
// gap_symbols.hpp has it.
HWY_INLINE void ScalarEntry(const SymbolJob& job, std::size_t e, std::uint64_t previous, bool previous_negative,
                            SymbolCounts& counts) {
  const std::uint64_t gap = job.positions[e - job.positions_first] - previous;
  const std::uint8_t symbol = gap_symbol(gap).symbol;
  job.symbols[e] = symbol;
  const bool flip = ((job.codes[e] & 3u) == kCodeNegative) != previous_negative;
  job.flags[e] = flip;
  counts.flips += flip;
  const std::size_t list = e >> job.split_bit & 1;
  job.escapes[list][counts.escapes[list]] = static_cast<std::uint32_t>(e);
  job.escape_gaps[list][counts.escapes[list]] = static_cast<std::uint32_t>(gap);
  counts.escapes[list] += symbol >= kLiteralGaps;
}

SymbolCounts EntrySymbols(const SymbolJob& job, std::size_t first, std::size_t last, std::uint64_t previous,
                          bool previous_negative) {
  const hn::CappedTag<std::uint32_t, 16> d;
  const hn::RebindToSigned<decltype(d)> di;
  const hn::RebindToFloat<decltype(d)> df;
  const hn::Rebind<std::uint16_t, decltype(d)> d16;
  const hn::Rebind<std::uint8_t, decltype(d)> d8;
  const std::size_t lanes = hn::Lanes(d);
  SymbolCounts counts;
  if (first == last) return counts;
  // the first entry alone, so that every vector's previous entries lie within [first, last)
  ScalarEntry(job, first, previous, previous_negative, counts);
  std::size_t e = first + 1;
  auto flips = hn::Zero(d);
  const auto three = hn::Set(d, 3u), negative_code = hn::Set(d, kCodeNegative), one = hn::Set(d, 1u);
  for (; e + lanes <= last; e += lanes) {
    const std::uint32_t* const at = job.positions + (e - job.positions_first);
    const auto gap = hn::Sub(hn::LoadU(d, at), hn::LoadU(d, at - 1));  // >= 1
    const auto code = hn::PromoteTo(d, hn::LoadU(d16, job.codes + e));
    const auto previous_code = hn::PromoteTo(d, hn::LoadU(d16, job.codes + e - 1));
    const auto flip = hn::And(hn::Xor(hn::VecFromMask(d, hn::Eq(hn::And(code, three), negative_code)),
                                      hn::VecFromMask(d, hn::Eq(hn::And(previous_code, three), negative_code))),
                              one);
    // floor(log2 gap): gaps of 256 and more convert their top bits, below 2^24, exactly
    const auto wide = hn::Gt(gap, hn::Set(d, 255u));
    const auto top = hn::IfThenElse(wide, hn::ShiftRight<8>(gap), gap);
    const auto biased = hn::ShiftRight<23>(hn::BitCast(d, hn::ConvertTo(df, hn::BitCast(di, top))));
    const auto exponent = hn::Add(hn::Sub(biased, hn::Set(d, 127u)), hn::IfThenElseZero(wide, hn::Set(d, 8u)));
    const auto literal = hn::Gt(hn::Set(d, kLiteralGaps + 1), gap);
    // a shift by 0 for literal gaps, whose exponent may be 0: no target shifts by 2^32 - 1
    const auto below_leading = hn::IfThenZeroElse(literal, hn::Sub(exponent, one));
    const auto mantissa = hn::And(hn::Shr(gap, below_leading), one);
    // 15 + 2 (e - 4) + m
    const auto class_symbol = hn::Add(hn::Add(hn::Add(exponent, exponent), mantissa), hn::Set(d, 7u));
    const auto symbol = hn::IfThenElse(literal, hn::Sub(gap, one), class_symbol);
    hn::StoreU(hn::DemoteTo(d8, hn::BitCast(di, symbol)), d8, job.symbols + e);
    hn::StoreU(hn::DemoteTo(d8, hn::BitCast(di, flip)), d8, job.flags + e);
    flips = hn::Add(flips, flip);  // a vector's count stays below 2^32 for any frame
    const auto index = hn::Add(hn::Iota(d, 0), hn::Set(d, static_cast<std::uint32_t>(e)));
    const auto second = hn::TestBit(index, hn::Set(d, 1u << job.split_bit));
    const auto first_list = hn::AndNot(second, hn::Not(literal)), second_list = hn::AndNot(literal, second);
    auto& escapes = counts.escapes;
    hn::CompressStore(gap, first_list, d, job.escape_gaps[0] + escapes[0]);
    escapes[0] += hn::CompressStore(index, first_list, d, job.escapes[0] + escapes[0]);
    hn::CompressStore(gap, second_list, d, job.escape_gaps[1] + escapes[1]);
    escapes[1] += hn::CompressStore(index, second_list, d, job.escapes[1] + escapes[1]);
  }
  for (; e < last; ++e)
    ScalarEntry(job, e, job.positions[e - 1 - job.positions_first], (job.codes[e - 1] & 3u) == kCodeNegative, counts);
  counts.flips += hn::GetLane(hn::SumOfLanes(d, flips));
  return counts;
}

void EntryPositions(const PositionJob& job, std::size_t first_bin, std::size_t last_bin, std::size_t first,
                    std::size_t last) {
  const hn::CappedTag<std::uint32_t, 16> d;
  const hn::Rebind<std::uint16_t, decltype(d)> d16;
  const std::size_t lanes = hn::Lanes(d);
  // locals: the stores could alias the job as far as the compiler knows
  const std::uint16_t* const bin_counts = job.bin_counts;
  const std::uint16_t* const codes = job.codes;
  std::uint32_t* const positions = job.positions;
  const std::size_t offset = job.positions_first;
  const std::uint32_t bin_size = job.bin_size;
  const std::size_t limit = std::min(last, job.code_count);
  std::size_t e = first;
  for (std::size_t b = first_bin; b < last_bin; ++b) {
    const auto base = static_cast<std::uint32_t>(b * bin_size);
    const std::size_t bin_end = e + bin_counts[b];
    if (bin_end + lanes <= limit) [[likely]] {
      for (; e < bin_end; e += lanes)
        hn::StoreU(hn::Add(hn::Set(d, base), hn::ShiftRight<2>(hn::PromoteTo(d, hn::LoadU(d16, codes + e)))), d,
                   positions + (e - offset));
      e = bin_end;
    } else {
      for (; e < bin_end; ++e) positions[e - offset] = base + (codes[e] >> 2);
    }
  }
}

}  // namespace adacomp::entries::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "codec/kernels/kernel_registry.hpp"

namespace adacomp::entries {

ADACOMP_EXPORT(EntrySymbols);
ADACOMP_EXPORT(EntryPositions);

void entry_positions(const PositionJob& job, std::size_t first_bin, std::size_t last_bin, std::size_t first,
                     std::size_t last) {
  return detail::dispatch(HWY_DISPATCH_TABLE(EntryPositions), HWY_TARGETS)(job, first_bin, last_bin, first, last);
}

SymbolCounts entry_symbols(const SymbolJob& job, std::size_t first, std::size_t last, std::uint64_t previous,
                           bool previous_negative) {
  return detail::dispatch(HWY_DISPATCH_TABLE(EntrySymbols), HWY_TARGETS)(job, first, last, previous, previous_negative);
}

}  // namespace adacomp::entries
#endif  // HWY_ONCE
