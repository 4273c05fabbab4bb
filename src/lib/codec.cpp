#include "adacomp/codec.hpp"

#include <cmath>
#include <string>

#include "adacomp/error.hpp"
#include "parallel_parts.hpp"

namespace adacomp {

std::uint8_t index_width_for(std::uint32_t bin_size) noexcept {
  return bin_size <= kMaxNarrowBinSize ? 1 : 2;
}

std::uint32_t default_bin_size(std::size_t rank) noexcept { return rank == 2 ? 500 : 50; }

void validate(const SparseTernary& sparse, const std::string& context) {
  const std::uint32_t T = sparse.bin_size;
  if (T < 1 || T > kMaxBinSize) fail_input(context + ": bin size " + std::to_string(T) + " is outside 1..16384");
  if (sparse.bin_counts.size() != sparse.bin_count())
    fail_input(context + ": " + std::to_string(sparse.bin_counts.size()) + " bin headers for " +
               std::to_string(sparse.bin_count()) + " bins");
  if (!std::isfinite(sparse.scale) || sparse.scale < 0.0f)
    fail_input(context + ": scale is negative or not finite");
  if ((sparse.scale == 0.0f) != sparse.entries.empty())
    fail_input(context + ": scale " + std::to_string(sparse.scale) + " with " +
               std::to_string(sparse.entries.size()) + " entries (the scale is 0 exactly when there are none)");
  std::size_t e = 0;
  for (std::size_t bin = 0; bin < sparse.bin_counts.size(); ++bin) {
    const std::uint64_t begin = static_cast<std::uint64_t>(bin) * T;
    const std::uint64_t length = std::min<std::uint64_t>(T, sparse.element_count - begin);
    const std::uint16_t count = sparse.bin_counts[bin];
    if (count > length)
      fail_input(context + ": bin " + std::to_string(bin) + " declares " + std::to_string(count) +
                 " entries but holds " + std::to_string(length) + " elements");
    if (sparse.entries.size() - e < count)
      fail_input(context + ": bin headers declare more entries than the frame holds");
    int previous = -1;
    for (std::uint16_t c = 0; c < count; ++c, ++e) {
      const std::uint16_t entry = sparse.entries[e];
      const int offset = entry >> 2;
      const unsigned code = entry & 3u;
      if (code != kCodePositive && code != kCodeNegative)
        fail_input(context + ": entry " + std::to_string(e) + " (bin " + std::to_string(bin) +
                   ") has reserved ternary code " + std::to_string(code));
      if (static_cast<std::uint64_t>(offset) >= length)
        fail_input(context + ": entry " + std::to_string(e) + " offset " + std::to_string(offset) +
                   " is beyond bin " + std::to_string(bin) + " of " + std::to_string(length) + " elements");
      if (offset <= previous)
        fail_input(context + ": entry " + std::to_string(e) + " offset " + std::to_string(offset) +
                   " in bin " + std::to_string(bin) + " is not above the previous offset " +
                   std::to_string(previous));
      previous = offset;
    }
  }
  if (e != sparse.entries.size())
    fail_input(context + ": " + std::to_string(sparse.entries.size()) + " entries but bin headers sum to " +
               std::to_string(e));
}

void decompress(const SparseTernary& sparse, std::span<float> out, const std::string& context, unsigned threads) {
  validate(sparse, context);
  if (out.size() != sparse.element_count)
    fail_input(context + ": output has " + std::to_string(out.size()) + " elements, frame " +
               std::to_string(sparse.element_count));
  const std::size_t bins = sparse.bin_counts.size();
  const std::size_t parts = detail::thread_parts(out.size(), threads);
  // Each part zero-fills its elements and scatters its bins' entries.
  auto run_part = [&](std::size_t p) {
    const std::size_t first = bins * p / parts, last = bins * (p + 1) / parts;
    std::size_t e = 0;
    for (std::size_t bin = 0; bin < first; ++bin) e += sparse.bin_counts[bin];
    const std::size_t begin = first * sparse.bin_size;
    const std::size_t end = std::min<std::size_t>(out.size(), last * static_cast<std::size_t>(sparse.bin_size));
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(begin), out.begin() + static_cast<std::ptrdiff_t>(end), 0.0f);
    for (std::size_t bin = first; bin < last; ++bin) {
      float* base = out.data() + bin * static_cast<std::size_t>(sparse.bin_size);
      for (std::uint16_t c = 0; c < sparse.bin_counts[bin]; ++c, ++e) {
        const std::uint16_t entry = sparse.entries[e];
        base[entry >> 2] = (entry & 3u) == kCodePositive ? sparse.scale : -sparse.scale;
      }
    }
  };
  detail::run_parts(parts, run_part);
}

}  // namespace adacomp
