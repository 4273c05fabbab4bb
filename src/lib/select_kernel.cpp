// The SIMD selection loop, compiled once per instruction set by Highway and dispatched at run
// time. It computes exactly the bits of select_scalar.cpp: the same two float roundings per value
// (-ffp-contract=off keeps r + k*g from fusing), the bin maximum as a maximum of bit patterns, and
// the binary64 sum in index order.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "lib/select_kernel.cpp"  // found through the src/ include directory
#define HWY_COMPILE_ALL_ATTAINABLE  // keep EMU128 too: the portable build, tested like the others
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "select_kernel.hpp"

HWY_BEFORE_NAMESPACE();
namespace adacomp::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DU = hn::RebindToUnsigned<DF>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;
using VU = hn::Vec<DU>;

// Lanes of the widest vector on any target.
constexpr std::size_t kMaxFloatLanes = HWY_MAX_BYTES / sizeof(float);

#if HWY_TARGET > HWY_AVX3
// Targets without a native compress use a table: for each mask of up to 8 lanes, the indices of
// its set lanes first. (Highway 1.0's own table-based Compress copies its table on every call.)
struct CompactIndices {
  alignas(32) std::int32_t lanes[256][8];
};
constexpr CompactIndices make_compact_indices() {
  CompactIndices table{};
  for (int mask = 0; mask < 256; ++mask) {
    int next = 0;
    for (int lane = 0; lane < 8; ++lane)
      if (mask & (1 << lane)) table.lanes[mask][next++] = lane;
  }
  return table;
}
constexpr CompactIndices kCompactIndices = make_compact_indices();
#endif

// The lanes of `v` selected by `mask`, moved to the front in order; the other lanes undefined.
template <class D>
HWY_INLINE hn::Vec<D> compact(D d, hn::Vec<D> v, hn::Mask<D> mask) {
#if HWY_TARGET <= HWY_AVX3
  (void)d;
  return hn::Compress(v, mask);
#else
  static_assert(hn::MaxLanes(D()) <= 8);
  std::uint8_t bits[8] = {};
  hn::StoreMaskBits(d, mask, bits);
  return hn::TableLookupLanes(v, hn::SetTableIndices(d, kCompactIndices.lanes[bits[0]]));
#endif
}

// Loads of a bin's vectors: whole vectors, or the first `count` lanes of the last one with zeros
// after them (zeros neither raise the maxima nor get selected, as G = 0). AVX2 and AVX-512 mask
// the memory access itself; the others go through a zero-padded copy, so that nothing outside
// the bin is read or written on any target.
struct PartialVector {
  explicit PartialVector(std::size_t lanes) : count(lanes) {}
  std::size_t count;
#if HWY_TARGET > HWY_AVX2
  alignas(64) float copy[kMaxFloatLanes];
#endif
};

HWY_INLINE VF load_partial(DF df, const float* p, PartialVector& part) {
#if HWY_TARGET <= HWY_AVX2
  return hn::MaskedLoad(hn::FirstN(df, part.count), df, p);
#else
  std::memset(part.copy, 0, sizeof part.copy);
  std::memcpy(part.copy, p, part.count * sizeof(float));
  return hn::Load(df, part.copy);
#endif
}

HWY_INLINE void store_partial(DF df, VF v, float* p, PartialVector& part) {
#if HWY_TARGET <= HWY_AVX2
  hn::BlendedStore(v, hn::FirstN(df, part.count), df, p);
#else
  hn::Store(v, df, part.copy);
  std::memcpy(p, part.copy, part.count * sizeof(float));
#endif
}

// Everything one bin needs across its vectors.
struct BinState {
  VF k;
  VU gmax, hmax;       // pass 1: running maxima of |G| and |H| as bit patterns
  VF threshold;        // pass 2: the bin maximum of |G|
  VU entry_base;       // pass 2: (offset << 2) | 1 for every lane of the current vector
  std::uint16_t* entries;  // pass 2: compacted entries (whole half-vectors stored)
  std::size_t count;
};

HWY_INLINE void accumulate_maxima(VF g, VF r, BinState& s) {
  const DU du;
  const VF G = hn::Add(r, g);
  const VF H = hn::Add(r, hn::Mul(s.k, g));
  const VU abs_mask = hn::Set(du, 0x7fffffffu);
  s.gmax = hn::Max(s.gmax, hn::And(hn::BitCast(du, G), abs_mask));
  s.hmax = hn::Max(s.hmax, hn::And(hn::BitCast(du, H), abs_mask));
}

// Selects |H| >= max|G| with G != 0 and appends the entries ((offset << 2) | code, code 1 for
// G > 0 and 2 for G < 0) of the selected lanes, narrowed to 16 bits. Returns G, the new residue.
HWY_INLINE VF select_vector(VF g, VF r, BinState& s) {
  const DF df;
  const DU du;
  const hn::Rebind<std::uint16_t, DF> d16;
  const VF G = hn::Add(r, g);
  const VF H = hn::Add(r, hn::Mul(s.k, g));
  const auto selected = hn::And(hn::Ge(hn::Abs(H), s.threshold), hn::Ne(G, hn::Zero(df)));
  const VU entry = hn::Add(s.entry_base, hn::ShiftRight<31>(hn::BitCast(du, G)));
  // Entries are below 2^16, so the signed-to-unsigned narrowing (Highway has no u32 -> u16) is exact.
  const auto compacted = hn::BitCast(DI(), compact(du, entry, hn::RebindMask(du, selected)));
  hn::StoreU(hn::DemoteTo(d16, compacted), d16, s.entries + s.count);
  s.count += hn::CountTrue(df, selected);
  s.entry_base = hn::Add(s.entry_base, hn::Set(du, static_cast<std::uint32_t>(hn::Lanes(df) << 2)));
  return G;
}

SelectResult SelectBins(const SelectArgs& a) {
  const DF df;
  const DU du;
  const DI di;
  const std::size_t N = hn::Lanes(df);
  const bool has_residue = a.residue != nullptr;  // else a zero residue that is not kept
  BinState s;
  s.k = hn::Set(df, a.scale_factor);
  const VU first_entry_base = hn::Add(hn::ShiftLeft<2>(hn::Iota(du, 0)), hn::Set(du, 1u));
  const hn::Vec<DI> below_infinity = hn::Set(di, 0x7f7fffff);
  std::uint16_t* out = a.entries;

  for (std::size_t bin = a.first_bin; bin < a.last_bin; ++bin) {
    const std::size_t begin = bin * a.bin_size;
    const std::size_t length = std::min<std::size_t>(a.bin_size, a.element_count - begin);
    const std::size_t full = length - length % N;
    PartialVector tail(length - full);
    const float* g = a.gradient + begin;
    float* r = has_residue ? a.residue + begin : nullptr;
    auto load_r = [&](std::size_t i) { return has_residue ? hn::LoadU(df, r + i) : hn::Zero(df); };

    s.gmax = hn::Zero(du);
    s.hmax = hn::Zero(du);
    for (std::size_t i = 0; i < full; i += N) accumulate_maxima(hn::LoadU(df, g + i), load_r(i), s);
    if (tail.count) {
      PartialVector r_tail(tail.count);
      accumulate_maxima(load_partial(df, g + full, tail),
                        has_residue ? load_partial(df, r + full, r_tail) : hn::Zero(df), s);
    }
    // Bit patterns of |x| are below 2^31, so signed comparisons order them; NaN lies above
    // infinity, so one comparison finds any non-finite G or H.
    const VU gmax = hn::MaxOfLanes(du, s.gmax);
    if (!hn::AllFalse(di, hn::Gt(hn::BitCast(di, hn::Max(gmax, s.hmax)), below_infinity)))
      return {static_cast<std::size_t>(out - a.entries), bin};

    s.threshold = hn::BitCast(df, gmax);
    s.entry_base = first_entry_base;
    s.entries = out;
    s.count = 0;
    for (std::size_t i = 0; i < full; i += N) {
      const VF G = select_vector(hn::LoadU(df, g + i), load_r(i), s);
      if (has_residue) hn::StoreU(G, df, r + i);
    }
    if (tail.count) {
      PartialVector g_tail(tail.count), r_tail(tail.count);
      const VF G = select_vector(load_partial(df, g + full, g_tail),
                                 has_residue ? load_partial(df, r + full, r_tail) : hn::Zero(df), s);
      if (has_residue) store_partial(df, G, r + full, r_tail);
    }

    // |G| of the selected, added in index order (binary64, as specified): G is in the residue
    // by now, or is g itself when the residue is zero (0 + g == g, and |-0| == |+0|).
    const float* G = has_residue ? r : g;
    double sum = 0.0;
    for (std::size_t e = 0; e < s.count; ++e) sum += static_cast<double>(std::fabs(G[out[e] >> 2]));
    a.counts[bin - a.first_bin] = static_cast<std::uint16_t>(s.count);
    a.sums[bin - a.first_bin] = sum;
    out += s.count;
  }
  return {static_cast<std::size_t>(out - a.entries), a.last_bin};
}

std::int64_t CompiledTarget() { return HWY_TARGET; }

}  // namespace adacomp::detail::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <atomic>

#include "adacomp/error.hpp"
#include "adacomp/kernels.hpp"

namespace adacomp {
namespace detail {

HWY_EXPORT(SelectBins);
HWY_EXPORT(CompiledTarget);

namespace {

// Set by select_kernel before any encoding; read by every compress call.
std::atomic<bool> scalar_selected{false};

const std::vector<std::int64_t>& simd_targets() {
  static const std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();  // best first
  return targets;
}

}  // namespace

SelectResult select_bins(const SelectArgs& args) {
  if (scalar_selected.load(std::memory_order_relaxed)) return select_bins_scalar(args);
  return HWY_DYNAMIC_DISPATCH(SelectBins)(args);
}

}  // namespace detail

std::vector<std::string> available_kernels() {
  std::vector<std::string> names;
  for (std::int64_t target : detail::simd_targets()) names.emplace_back(hwy::TargetName(target));
  names.emplace_back("reference");
  return names;
}

void select_kernel(const std::string& name) {
  const auto& targets = detail::simd_targets();
  if (name == "auto" || name == "reference") {
    hwy::SetSupportedTargetsForTest(0);
    detail::scalar_selected = name == "reference";
    return;
  }
  for (std::int64_t target : targets)
    if (name == hwy::TargetName(target)) {
      hwy::SetSupportedTargetsForTest(target);
      detail::scalar_selected = false;
      return;
    }
  std::string known;
  for (const auto& available : available_kernels()) known += " " + available;
  fail_usage("unknown or unsupported kernel '" + name + "' (this CPU has: auto" + known + ")");
}

std::string active_kernel() {
  if (detail::scalar_selected) return "reference";
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(detail::CompiledTarget)());
}

}  // namespace adacomp
#endif  // HWY_ONCE
