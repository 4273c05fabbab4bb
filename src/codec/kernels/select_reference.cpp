// The reference selection loop: plain C++, one element at a time, no branch per element.
#include <bit>
#include <cmath>

#include "codec/kernels/select_kernel.hpp"

namespace adacomp::detail {

namespace {
constexpr std::uint32_t kAbsMask = 0x7fffffffu;
constexpr std::uint32_t kInfinityBits = 0x7f800000u;
constexpr std::uint16_t kPositive = 0b01, kNegative = 0b10;

// r of element i as the kernel sees it: as stored, or with the pending correction applied.
float residue_at(const SelectArgs& a, std::size_t i) {
  return a.residue ? with_pending(a.residue[i], a.pending, a.pending_scale, i) : 0.0f;
}

}  // namespace

SelectResult select_bins_reference(const SelectArgs& a) {
  const float k = a.scale_factor;
  std::uint16_t* out = a.entries;
  BitAppender selection(a.selection, a.residue ? a.first_bin * a.bin_size : 0);
  for (std::size_t bin = a.first_bin; bin < a.last_bin; ++bin) {
    const std::size_t begin = bin * a.bin_size;
    const std::size_t length = std::min<std::size_t>(a.bin_size, a.element_count - begin);
    const float* g = a.gradient + begin;
    float* r = a.residue ? a.residue + begin : nullptr;
    // Pass 1: max |G| as bits (|x| of finite floats orders like its bit pattern), and the largest
    // |G| or |H| bits, which say whether anything is non-finite (NaN bits lie above infinity's).
    std::uint32_t gmax_bits = 0, worst_bits = 0;
    for (std::size_t i = 0; i < length; ++i) {
      const float ri = residue_at(a, begin + i);
      const float G = ri + g[i];
      const float H = ri + k * g[i];
      const std::uint32_t gb = std::bit_cast<std::uint32_t>(G) & kAbsMask;
      const std::uint32_t hb = std::bit_cast<std::uint32_t>(H) & kAbsMask;
      gmax_bits = gmax_bits > gb ? gmax_bits : gb;
      const std::uint32_t both = gb > hb ? gb : hb;
      worst_bits = worst_bits > both ? worst_bits : both;
    }
    if (worst_bits >= kInfinityBits) {
      if (r) selection.finish();
      return {static_cast<std::size_t>(out - a.entries), bin, bin * a.bin_size};
    }
    // Pass 2: write G, select |H| >= gmax and G != 0; every candidate is stored and the write
    // position advances only when it is selected.
    float* magnitudes = reinterpret_cast<float*>(a.scratch);
    std::size_t count = 0;
    for (std::size_t i = 0; i < length; ++i) {
      const float ri = residue_at(a, begin + i);
      const float G = ri + g[i];
      const float H = ri + k * g[i];
      if (r) r[i] = G;
      const std::uint32_t gbits = std::bit_cast<std::uint32_t>(G);
      const std::uint32_t hb = std::bit_cast<std::uint32_t>(H) & kAbsMask;
      const bool selected = (hb >= gmax_bits) & ((gbits & kAbsMask) != 0);
      out[count] = static_cast<std::uint16_t>((i << 2) | (gbits >> 31 ? kNegative : kPositive));
      magnitudes[count] = std::fabs(G);
      count += selected;
      if (r) selection.append(selected, 1);
    }
    double sum = 0.0;
    for (std::size_t e = 0; e < count; ++e) sum += static_cast<double>(magnitudes[e]);
    a.counts[bin - a.first_bin] = static_cast<std::uint16_t>(count);
    a.sums[bin - a.first_bin] = sum;
    out += count;
  }
  if (a.residue) selection.finish();
  return {static_cast<std::size_t>(out - a.entries), a.last_bin, 0};
}

}  // namespace adacomp::detail
