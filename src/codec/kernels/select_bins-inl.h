// The selection loop of one instruction set: AdaComp's selection over a run of whole bins, for
// short bins (vectors of up to 8 lanes, a bin in registers between its passes) and long ones
// (full vectors, the next lines prefetched), with the AVX-512 forms of avx512_forms-inl.h.
// It computes exactly the bits of select_reference.cpp: the same two float roundings per value
// (-ffp-contract=off keeps r + k*g from fusing), the bin maximum as a maximum of bit patterns, and
// the binary64 bin sums, added in vector lanes: no partial sum of a bin's selected |G| can round,
// so every order gives the bits of the specified index order (wire_format.md §7 proves it).
// Included once per target by select_kernel.cpp, after <hwy/highway.h>, like Highway's own -inl
// headers: the guard toggles with HWY_TARGET_TOGGLE.
#if defined(ADACOMP_CODEC_SELECT_BINS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ADACOMP_CODEC_SELECT_BINS_INL_H_
#undef ADACOMP_CODEC_SELECT_BINS_INL_H_
#else
#define ADACOMP_CODEC_SELECT_BINS_INL_H_
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <utility>

#include "adacomp/codec.hpp"
#include "codec/kernels/avx512_forms-inl.h"
#include "codec/kernels/mask_bits-inl.h"
#include "codec/kernels/select_kernel.hpp"

HWY_BEFORE_NAMESPACE();
namespace adacomp::detail::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// A bin tail known only at run time (else the template argument is its length).
constexpr std::size_t kRuntimeTail = ~std::size_t{0};

// Bins shorter than this use vectors of at most 8 lanes.
constexpr std::uint32_t kShortBin = 256;

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

// The first `count` lanes at p, zeros after them (zeros neither raise the maxima nor get
// selected, as G = 0), and the matching store; nothing outside the bin is read or written.
// AVX2 and AVX-512 mask the load itself; the others go through a copy.
template <class D>
HWY_INLINE hn::Vec<D> load_partial(D d, const float* p, std::size_t count) {
#if HWY_TARGET <= HWY_AVX2
  return hn::MaskedLoad(hn::FirstN(d, count), d, p);
#else
  alignas(64) float copy[kMaxFloatLanes] = {};
  std::memcpy(copy, p, count * sizeof(float));
  return hn::Load(d, copy);
#endif
}

// Stores go through a copy on every target, because masked stores are slow on AMD (vmaskmovps,
// and AVX-512's too; README, "Performance"). Copies of a fixed size compile to a move or two, and
// a bin's tail has the same length in every bin, so the branch is predicted.
template <std::size_t... kCount>
HWY_INLINE void copy_first_floats(float* to, const float* from, std::size_t count, std::index_sequence<kCount...>) {
  (void)to, (void)from;  // unused where a vector has one lane
  ((count == kCount + 1 ? std::memcpy(to, from, (kCount + 1) * sizeof(float)) : nullptr), ...);
}

template <class D>
HWY_INLINE void store_partial(D d, hn::Vec<D> v, float* p, std::size_t count) {
  alignas(64) float copy[kMaxFloatLanes];
  hn::Store(v, d, copy);
  copy_first_floats(p, copy, count, std::make_index_sequence<hn::MaxLanes(D()) - 1>());
}

// binary64 lanes for float vectors of tag D: as many lanes where they fit one vector (AVX-512
// up to 8 lanes, which saves a split and a conversion per vector; the one-lane target), else
// half as many, the halves promoted one after the other into two sums.
template <class D>
constexpr bool kPromoteWhole = HWY_TARGET == HWY_SCALAR || (HWY_TARGET <= HWY_AVX3 && hn::MaxLanes(D()) <= 8);
template <class D, bool kWhole = kPromoteWhole<D>>
struct DoubleTagOf {
  using type = hn::Rebind<double, D>;
};
template <class D>
struct DoubleTagOf<D, false> {
  using type = hn::Rebind<double, hn::Half<D>>;
};
template <class D>
using DoubleTag = typename DoubleTagOf<D>::type;

template <class D>
HWY_INLINE void add_promoted(D d, hn::Vec<D> v, hn::Vec<DoubleTag<D>>& low, hn::Vec<DoubleTag<D>>& high) {
  const DoubleTag<D> dd;
  (void)d;
  if constexpr (kPromoteWhole<D>) {
    (void)high;
    low = hn::Add(low, hn::PromoteTo(dd, v));
  } else {
#if HWY_TARGET != HWY_SCALAR  // no halves of one lane
    const hn::Half<D> dh;
    low = hn::Add(low, hn::PromoteTo(dd, hn::LowerHalf(dh, v)));
    high = hn::Add(high, hn::PromoteTo(dd, hn::UpperHalf(dh, v)));
#endif
  }
}

template <class D>
HWY_INLINE double sum_of_lanes(D d, hn::Vec<DoubleTag<D>> low, hn::Vec<DoubleTag<D>> high) {
  (void)d;
#if HWY_TARGET == HWY_SCALAR
  (void)high;
  return hn::GetLane(low);
#else
  if constexpr (kPromoteWhole<D>) {
    (void)high;
    return hn::GetLane(hn::SumOfLanes(DoubleTag<D>(), low));
  } else {
    return hn::GetLane(hn::SumOfLanes(DoubleTag<D>(), hn::Add(low, high)));
  }
#endif
}

// The bins of one call, one after the other, and what they share. kResidue: r is read, G
// written back and the selected elements marked in args.selection (else r = 0 and nothing is
// written); kPending: r is read with args.pending applied. Compile-time flags keep the
// per-vector code free of branches, and every member is used only from inlined code so that the
// compiler keeps the state in registers.
template <class D, bool kResidue, bool kPending>
class BinRun {
  // Vectors in the longest bin (vectors sized at run time may have a single lane).
  static constexpr std::size_t kMaxBinVectors = kMaxBinSize / (HWY_HAVE_SCALABLE ? 1 : hn::MaxLanes(D())) + 1;
  // A vector's selected lanes, as bits.
  using LaneBits = std::conditional_t<(hn::MaxLanes(D()) <= 16), std::uint16_t, std::uint64_t>;
  // Vectors of exactly 16 lanes: four vectors' lane bits make one word of the selection.
  static constexpr bool kSixteenLanes = !HWY_HAVE_SCALABLE && HWY_TARGET != HWY_SCALAR && hn::MaxLanes(D()) == 16;

 public:
  using Tag = D;

  BinRun(D d, const SelectArgs& a)
      : a_(a), k_(hn::Set(d, a.scale_factor)),
        first_entry_base_(hn::Add(hn::ShiftLeft<2>(hn::Iota(du_, 0)), hn::Set(du_, 1u))),
        pending_scale_(hn::Set(du_, std::bit_cast<std::uint32_t>(a.pending_scale))), gradient_(a.gradient),
        residue_(a.residue), pending_(a.pending), last_element_(a.element_count - 1), bin_size_(a.bin_size),
        selection_(a.selection, kResidue ? a.first_bin * a.bin_size : 0), out_(a.entries) {}

  // A bin of any length, or a whole bin whose tail is kTail lanes. False if it holds a
  // non-finite G or H: nothing of it is written then, except r corrected in place
  // (SelectResult::pending_applied_end).
  template <std::size_t kTail = kRuntimeTail>
  HWY_INLINE bool any_bin(std::size_t bin) {
    const std::size_t N = hn::Lanes(d_);
    const std::size_t begin = bin * a_.bin_size;
    const std::size_t length =
        kTail == kRuntimeTail ? std::min<std::size_t>(a_.bin_size, a_.element_count - begin) : a_.bin_size;
    const std::size_t tail = kTail == kRuntimeTail ? length % N : kTail, full = length - tail;
    const Values last = tail_values(begin + full, tail);
    Maxima maxima = start_maxima();
    const bool long_bin = full / N >= 16;
    if (kPending && long_bin) {
      // Long bins are read twice: r is corrected once, in place, for the second pass.
      pending_applied_end_ = begin + full;
      for (std::size_t i = 0; i < full; i += N) {
        const VF r = with_pending(hn::LoadU(d_, residue_ + begin + i), pending_bits(begin + i));
        hn::StoreU(r, d_, residue_ + begin + i);
        add_maxima(maxima, values_of(hn::LoadU(d_, gradient_ + begin + i), r));
      }
    } else {
      for (std::size_t i = 0; i < full; i += N) add_maxima(maxima, load(begin + i));
    }
    add_maxima(maxima, last);
    if (!start_selection(maxima)) return false;
    if (long_bin) {
      // Long bins: mark first, then compact only the vectors that hold a selected element (at
      // T = 500 fewer than half of them), reading their G back from the residue just written
      // (or g itself, without a residue). The marks are a word's bits per 64 vectors and each
      // vector's lane bits are stored at its index, rather than kept in a list of the marked
      // vectors, whose store addresses would depend on the selection (slower: README).
      LaneBits lane_bits[kMaxBinVectors + 4];  // + room for append_lane_bits' last read
      std::uint64_t marked[(kMaxBinVectors + 63) / 64];
      const std::size_t vectors = full / N + (tail ? 1 : 0);
      for (std::size_t first = 0; first < vectors; first += 64) {
        std::uint64_t marks = 0;
        for (std::size_t j = first; j < std::min(vectors, first + 64); ++j) {
          const std::size_t lanes = j * N < full ? N : tail;
          const Values v = lanes == N ? load(begin + j * N, 0) : last;
          prefetch_ahead(begin + j * N);
          store_G(v, begin + j * N, lanes);
          const std::uint64_t bits = mask_bits(d_, selection_of(v));
          if (kResidue && !kSixteenLanes) selection_.append(bits, static_cast<unsigned>(lanes));
          lane_bits[j] = static_cast<LaneBits>(bits);
          marks |= std::uint64_t{bits != 0} << (j - first);
        }
        marked[first / 64] = marks;
      }
      if constexpr (kResidue && kSixteenLanes) append_lane_bits(lane_bits, vectors, length);
      std::size_t count = 0;
      for (std::size_t first = 0; first < vectors; first += 64)
        for (std::uint64_t marks = marked[first / 64]; marks != 0; marks &= marks - 1) {
          const std::size_t j = first + static_cast<std::size_t>(std::countr_zero(marks));
          const float* source = (kResidue ? residue_ : gradient_) + begin + j * N;
          const auto G = j * N < full ? hn::LoadU(d_, source) : load_partial(d_, source, tail);
          const auto base = hn::Add(first_entry_base_, hn::Set(du_, static_cast<std::uint32_t>((j * N) << 2)));
          count += compact_selected(G, mask_from_bits(d_, lane_bits[j]), base, count);
        }
      end_bin(bin, count);
      return true;
    }
    std::size_t count = 0;
    for (std::size_t i = 0; i < full; i += N) {
      count += select(load(begin + i), begin + i, count, N);
      if (kResidue) selection_.append(selected_bits_, static_cast<unsigned>(N));
    }
    if (tail) {
      count += select(last, begin + full, count, tail);
      if (kResidue) selection_.append(selected_bits_, static_cast<unsigned>(tail));
    }
    end_bin(bin, count);
    return true;
  }

  // A bin of kFull whole vectors and a tail of kTail (or else runtime_tail) lanes, kept in
  // registers between the two passes.
  template <std::size_t kFull, std::size_t kTail>
  HWY_INLINE bool short_bin(std::size_t bin, std::size_t runtime_tail) {
    const std::size_t tail = kTail == kRuntimeTail ? runtime_tail : kTail;
    const std::size_t N = hn::Lanes(d_);
    const std::uint32_t bin_size = kTail == kRuntimeTail ? bin_size_ : kFull * hn::MaxLanes(D()) + kTail;
    const std::size_t begin = bin * bin_size;
    prefetch_bin_ahead(begin, bin_size);
    Values v[kFull + 1];
    Maxima maxima = start_maxima();
    // The bin's pending bits in one load where they fit.
    const bool pending_fit = (kFull + 1) * N <= 57 || bin_size <= 57;
    const std::uint64_t pending = pending_bits(begin);
    const auto pending_of = [&](std::size_t j) {
      return pending_fit ? pending >> (j * N) : pending_bits(begin + j * N);
    };
#pragma GCC unroll 16
    for (std::size_t j = 0; j < kFull; ++j) {
      v[j] = load(begin + j * N, pending_of(j));
      add_maxima(maxima, v[j]);
    }
    v[kFull] = tail_values(begin + kFull * N, tail, pending_of(kFull));
    add_maxima(maxima, v[kFull]);
    if (!start_selection(maxima)) return false;
    std::size_t count = 0;
    // The bin's selection bits, appended at once where they fit a word.
    const bool one_word = (kFull + 1) * N <= 64 || bin_size <= 64;
    std::uint64_t bin_bits = 0;
#pragma GCC unroll 16
    for (std::size_t j = 0; j < kFull; ++j) {
      count += select(v[j], begin + j * N, count, N);
      if (kResidue && one_word) bin_bits |= selected_bits_ << (j * N);
      if (kResidue && !one_word) selection_.append(selected_bits_, static_cast<unsigned>(N));
    }
    if (tail) {
      count += select(v[kFull], begin + kFull * N, count, tail);
      if (kResidue && one_word) bin_bits |= selected_bits_ << (kFull * N);
      if (kResidue && !one_word) selection_.append(selected_bits_, static_cast<unsigned>(tail));
    }
    if (kResidue && one_word) selection_.append(bin_bits, bin_size);
    end_bin(bin, count);
    return true;
  }

  // Asks for the lines of g and r kPrefetchAhead elements after `at` to be brought into L2,
  // from a long bin's second pass. The hardware prefetchers run ahead of demand misses only, and
  // a long bin's second and third passes make none, so the next bin's first pass would start
  // on a cold stream (README, "Performance", has what it gains).
  static constexpr std::size_t kPrefetchAhead = 1024;
  HWY_INLINE void prefetch_ahead(std::size_t at) const {
    prefetch_line<2>(std::min(at + kPrefetchAhead, last_element_));  // no pointer past the arrays
  }

  // Asks for the lines of g and r that a short bin kShortPrefetchAhead elements after `begin`
  // will read to be brought into L1, one request per line: the hardware prefetchers alone fall
  // behind when two threads share the memory or the VM is slow. (One request per bin, or
  // requests into L2 only, measured slower: README, "Performance".)
  static constexpr std::size_t kShortPrefetchAhead = 384;
  HWY_INLINE void prefetch_bin_ahead(std::size_t begin, std::uint32_t bin_size) const {
    constexpr std::size_t kLineFloats = 64 / sizeof(float);
    // Whole bins end by the last element, so this keeps every request inside the arrays.
    const std::size_t at = std::min(begin + kShortPrefetchAhead, last_element_ + 1 - bin_size);
    for (std::size_t offset = 0; offset < bin_size; offset += kLineFloats) prefetch_line<3>(at + offset);
  }

  // Asks for the line of g (to read) and of r (to write) that hold element `at`, which the
  // caller keeps inside the arrays, into the cache level of __builtin_prefetch's kLocality.
  template <int kLocality>
  HWY_INLINE void prefetch_line(std::size_t at) const {
    __builtin_prefetch(gradient_ + at, 0, kLocality);
    if (kResidue) __builtin_prefetch(residue_ + at, 1, kLocality);
  }

  // Appends a long bin's selection bits, which lane_bits holds 16 to a vector (vectors of 16
  // lanes), 64 at a time: a quarter of the appends of one per vector. The bits of lanes past
  // the bin are 0, as its tail lanes hold G = 0.
  HWY_INLINE void append_lane_bits(LaneBits* lane_bits, std::size_t vectors, std::size_t length) {
    static_assert(sizeof(LaneBits) * 8 == 16);
    std::memset(lane_bits + vectors, 0, 4 * sizeof(LaneBits));
    for (std::size_t j = 0; j < vectors; j += 4) {
      std::uint64_t word;
      std::memcpy(&word, lane_bits + j, sizeof word);
      selection_.append(word, static_cast<unsigned>(std::min<std::size_t>(64, length - j * 16)));
    }
  }

  HWY_INLINE SelectResult finish(std::size_t bad_bin) {
    if (kResidue) selection_.finish();
    const std::size_t entries = static_cast<std::size_t>(out_ - a_.entries);
    return {entries, bad_bin, bad_bin == a_.last_bin ? 0 : std::max(pending_applied_end_, bad_bin * a_.bin_size)};
  }

 private:
  using VF = hn::Vec<D>;
  using VU = hn::Vec<hn::RebindToUnsigned<D>>;
  using VD = hn::Vec<DoubleTag<D>>;
  // One vector of a bin in both passes: G = r + g and |H| = |r + k g| as bits (without a residue
  // G = g and H = k g, which differ from 0 + g and 0 + k g only in the sign of a zero).
  struct Values {
    VF G;
    VU abs_H;
  };
  struct Maxima {
    VU g, h;  // of |G| and |H|, as bit patterns
  };

  HWY_INLINE Values values_of(VF g, VF r) const {
    const VF H = kResidue ? hn::Add(r, hn::Mul(k_, g)) : hn::Mul(k_, g);
    return {kResidue ? hn::Add(r, g) : g, hn::And(hn::BitCast(du_, H), hn::Set(du_, 0x7fffffffu))};
  }
  // The vector of elements [at, at + lanes), `pending` holding their pending bits first.
  HWY_INLINE Values load(std::size_t at, std::uint64_t pending) const {
    if (!kResidue) return values_of(hn::LoadU(d_, gradient_ + at), hn::Zero(d_));
    return values_of(hn::LoadU(d_, gradient_ + at), with_pending(hn::LoadU(d_, residue_ + at), pending));
  }
  HWY_INLINE Values load(std::size_t at) const { return load(at, pending_bits(at)); }
  HWY_INLINE Values tail_values(std::size_t at, std::size_t tail, std::uint64_t pending) const {
    if (!tail) return {hn::Zero(d_), hn::Zero(du_)};
    if (!kResidue) return values_of(load_partial(d_, gradient_ + at, tail), hn::Zero(d_));
    return values_of(load_partial(d_, gradient_ + at, tail),
                     with_pending(load_partial(d_, residue_ + at, tail), pending & ((std::uint64_t{1} << tail) - 1)));
  }
  HWY_INLINE Values tail_values(std::size_t at, std::size_t tail) const {
    return tail_values(at, tail, pending_bits(at));
  }
  // The pending bits of elements [at, at + 57).
  HWY_INLINE std::uint64_t pending_bits(std::size_t at) const { return kPending ? bits_from(pending_, at) : 0; }
  // r of a vector as stored, with the pending correction applied to the lanes whose bit is set
  // in `pending`: r + (-sign(r) * scale), as correct_residue computes it.
  HWY_INLINE VF with_pending(VF r, std::uint64_t pending) const {
    if (!kPending) return r;
    const auto marked = mask_from_bits(d_, pending);
    const auto negated_sign = hn::AndNot(hn::BitCast(du_, r), hn::Set(du_, 0x80000000u));
    return hn::IfThenElse(marked, hn::Add(r, hn::BitCast(d_, hn::Xor(pending_scale_, negated_sign))), r);
  }

  HWY_INLINE Maxima start_maxima() const { return {hn::Zero(du_), hn::Zero(du_)}; }
  HWY_INLINE void add_maxima(Maxima& m, const Values& v) const {
    const auto abs_mask = hn::Set(du_, 0x7fffffffu);
    m.g = hn::Max(m.g, hn::And(hn::BitCast(du_, v.G), abs_mask));
    m.h = hn::Max(m.h, v.abs_H);
  }

  // Bit patterns of |x| are below 2^31, so signed comparisons order them; NaN lies above
  // infinity, so one comparison finds any non-finite G or H.
  HWY_INLINE bool start_selection(const Maxima& m) {
    const VU bin_max = hn::MaxOfLanes(du_, m.g);
    if (!hn::AllFalse(di_, hn::Gt(hn::BitCast(di_, hn::Max(bin_max, m.h)), hn::Set(di_, 0x7f7fffff)))) return false;
    threshold_ = hn::BitCast(di_, bin_max);
    entry_base_ = first_entry_base_;
    sum_low_ = hn::Zero(dd_);
    sum_high_ = hn::Zero(dd_);
    return true;
  }

  // G of the vector of elements [at, at + lanes) into the residue.
  HWY_INLINE void store_G(const Values& v, std::size_t at, std::size_t lanes) {
    if (!kResidue) return;
    if (lanes == hn::Lanes(d_))
      hn::StoreU(v.G, d_, residue_ + at);
    else
      store_partial(d_, v.G, residue_ + at, lanes);
  }

  // |H| >= max|G| and G != 0, with |H| and the maximum compared as bits below 2^31, signed
  // (x86 has no unsigned compare).
  HWY_INLINE hn::Mask<D> selection_of(const Values& v) const {
    if constexpr (kAvx512Forms<D>) {
#if HWY_TARGET <= HWY_AVX3
      hn::Mask<D> selected;
      selected.raw = selected_lanes(hn::BitCast(du_, hn::Abs(v.G)).raw, v.abs_H.raw, threshold_.raw);
      return selected;
#endif
    }
    const auto below = hn::Gt(threshold_, hn::BitCast(di_, v.abs_H));
    return hn::AndNot(hn::RebindMask(d_, below), hn::Ne(v.G, hn::Zero(d_)));
  }

  // Pass 2 of the vector of elements [at, at + lanes), the bin's entries so far being `count`.
  // Returns the number selected; their lanes are left in selected_bits_.
  HWY_INLINE std::size_t select(const Values& v, std::size_t at, std::size_t count, std::size_t lanes) {
    store_G(v, at, lanes);
    const auto selected = selection_of(v);
    const std::size_t selected_count = compact_selected(v.G, selected, entry_base_, count);
    entry_base_ = hn::Add(entry_base_, hn::Set(du_, static_cast<std::uint32_t>(hn::Lanes(d_) << 2)));
    if (kResidue) selected_bits_ = mask_bits(d_, selected);
    return selected_count;
  }

  // Appends the entries ((offset << 2) | code, code 1 for G > 0 and 2 for G < 0) of the selected
  // lanes, narrowed to 16 bits, after the bin's first `count`; `base` holds (offset << 2) | 1 of
  // each lane. Adds the selected |G| into binary64 lanes. Returns the number selected.
  HWY_INLINE std::size_t compact_selected(VF G, hn::Mask<D> selected, VU base, std::size_t count) {
    const hn::Rebind<std::uint16_t, D> d16;
    const auto selected_u = hn::RebindMask(du_, selected);
    const auto entry = hn::Add(base, hn::ShiftRight<31>(hn::BitCast(du_, G)));
    if constexpr (kAvx512Forms<D>) {
#if HWY_TARGET <= HWY_AVX3
      const auto abs_G = hn::Abs(G);
      store_low_halves(compact(du_, entry, selected_u).raw, out_ + count);
      add_selected(abs_G.raw, selected.raw, sum_low_.raw, sum_high_.raw);
      return hn::CountTrue(d_, selected);
#endif
    }
    // Entries are below 2^16, so the signed-to-unsigned narrowing (Highway has no u32 -> u16) is exact.
    hn::StoreU(hn::DemoteTo(d16, hn::BitCast(di_, compact(du_, entry, selected_u))), d16, out_ + count);
    const auto picked = hn::IfThenElseZero(selected, hn::Abs(G));
    add_promoted(d_, picked, sum_low_, sum_high_);
    return hn::CountTrue(d_, selected);
  }

  HWY_INLINE void end_bin(std::size_t bin, std::size_t count) {
    a_.sums[bin - a_.first_bin] = sum_of_lanes(d_, sum_low_, sum_high_);
    a_.counts[bin - a_.first_bin] = static_cast<std::uint16_t>(count);
    out_ += count;
  }

  const D d_{};
  const hn::RebindToUnsigned<D> du_{};
  const hn::RebindToSigned<D> di_{};
  const DoubleTag<D> dd_{};
  const SelectArgs& a_;
  const VF k_;
  const VU first_entry_base_;
  const VU pending_scale_;  // as bits
  // Copies of a_'s: vector stores may alias anything, so reads through a_ are repeated after them.
  const float* const gradient_;
  float* const residue_;
  const std::uint64_t* const pending_;
  const std::size_t last_element_;
  const std::uint32_t bin_size_;
  BitAppender selection_;
  // The current bin's
  hn::Vec<hn::RebindToSigned<D>> threshold_;  // the bin maximum of |G| as bits
  VU entry_base_;                             // (offset << 2) | 1 for every lane of the next vector
  VD sum_low_, sum_high_;
  std::uint64_t selected_bits_ = 0;  // of the last vector
  // The call's
  std::uint16_t* out_;
  std::size_t pending_applied_end_ = 0;  // of the last bin that corrected r in place
};

// Bins of up to 8 whole vectors and a partial one stay in registers between the passes.
constexpr std::size_t kMaxShortVectors = 8;

// The bins of a call: whole ones through whole_bin(bin), the tensor's last one, which may be
// shorter than the others, through any_bin.
template <class Run, class WholeBin>
HWY_INLINE SelectResult all_bins(Run& run, const SelectArgs& a, WholeBin whole_bin) {
  const std::size_t whole_end = std::min(a.last_bin, a.element_count / a.bin_size);
  for (std::size_t bin = a.first_bin; bin < whole_end; ++bin)
    if (!whole_bin(bin)) return run.finish(bin);
  for (std::size_t bin = std::max(whole_end, a.first_bin); bin < a.last_bin; ++bin)
    if (!run.any_bin(bin)) return run.finish(bin);
  return run.finish(a.last_bin);
}

template <class Run, std::size_t kFull, std::size_t kTail = kRuntimeTail>
SelectResult short_bins(Run run, const SelectArgs& a, std::size_t lanes) {
  const std::size_t tail = a.bin_size - kFull * lanes;
  return all_bins(run, a, [&](std::size_t bin) { return run.template short_bin<kFull, kTail>(bin, tail); });
}

template <class Run, std::size_t kTail = kRuntimeTail>
SelectResult long_bins(Run run, const SelectArgs& a) {
  return all_bins(run, a, [&](std::size_t bin) { return run.template any_bin<kTail>(bin); });
}

// Bins of kBinSize elements with the tail known at compile time: a runtime tail costs the
// partial loads and stores a mask computation and a branch on the length per bin.
template <std::size_t kBinSize, class Run>
SelectResult bins_of_size(Run run, const SelectArgs& a, std::size_t lanes) {
  constexpr std::size_t kLanes = hn::MaxLanes(typename Run::Tag());
  constexpr std::size_t kFull = kBinSize / kLanes, kTail = kBinSize % kLanes;
  if (lanes != kLanes) return long_bins(run, a);  // vectors sized at run time (none on x86)
  if constexpr (kFull <= kMaxShortVectors)
    return short_bins<Run, kFull, kTail>(run, a, lanes);
  else
    return long_bins<Run, kTail>(run, a);
}

template <class Run, std::size_t... kFull>
SelectResult dispatch_short_bins(Run run, const SelectArgs& a, std::size_t lanes, std::index_sequence<kFull...>) {
  using Kernel = SelectResult (*)(Run, const SelectArgs&, std::size_t);
  static constexpr Kernel kernels[] = {&short_bins<Run, kFull>...};
  return kernels[a.bin_size / lanes](run, a, lanes);
}

// kBinSize: a.bin_size, known at compile time, or 0 for any.
template <std::size_t kBinSize, class D, bool kResidue, bool kPending>
SelectResult select_bins_with(D d, const SelectArgs& a) {
  BinRun<D, kResidue, kPending> run(d, a);
  if constexpr (kBinSize != 0) return bins_of_size<kBinSize>(run, a, hn::Lanes(d));
  if (a.bin_size / hn::Lanes(d) <= kMaxShortVectors)
    return dispatch_short_bins(run, a, hn::Lanes(d), std::make_index_sequence<kMaxShortVectors + 1>());
  return long_bins(run, a);
}

template <std::size_t kBinSize, class D>
SelectResult select_bins_with(D d, const SelectArgs& a) {
  if (a.residue && a.pending) return select_bins_with<kBinSize, D, true, true>(d, a);
  if (a.residue) return select_bins_with<kBinSize, D, true, false>(d, a);
  return select_bins_with<kBinSize, D, false, false>(d, a);
}

SelectResult SelectBins(const SelectArgs& a) {
  // Short bins go through vectors of at most 8 lanes: a bin of 50 is 6 vectors and 2 lanes of 8,
  // where 16 lanes would take 3 and 2, wasting more of its last vector, and 16-lane operations
  // cost two 8-lane ones on some CPUs (AMD Zen 4) anyway. The default bin sizes (codec.cpp) have
  // their own instances.
  static_assert(50 < kShortBin && 500 >= kShortBin);
  if (a.bin_size == 50) return select_bins_with<50>(hn::CappedTag<float, 8>(), a);
  if (a.bin_size < kShortBin) return select_bins_with<0>(hn::CappedTag<float, 8>(), a);
  if (a.bin_size == 500) return select_bins_with<500>(hn::ScalableTag<float>(), a);
  return select_bins_with<0>(hn::ScalableTag<float>(), a);
}

}  // namespace adacomp::detail::HWY_NAMESPACE

HWY_AFTER_NAMESPACE();

#endif  // ADACOMP_CODEC_SELECT_BINS_INL_H_
