#include "adacomp/codec.hpp"

#include <cmath>
#include <string>

#include "adacomp/error.hpp"
#include "codec_detail.hpp"

namespace adacomp {

std::uint8_t index_width_for(std::uint32_t bin_size) noexcept { return bin_size <= kMaxNarrowBinSize ? 1 : 2; }

std::uint32_t default_bin_size(std::size_t rank) noexcept { return rank == 2 ? 500 : 50; }

void detail::validate_header(const SparseTernary& sparse, const std::string& context) {
  const std::uint32_t T = sparse.bin_size;
  if (T < 1 || T > kMaxBinSize) fail_input(context + ": bin size " + std::to_string(T) + " is outside 1..16384");
  if (sparse.bin_counts.size() != sparse.bin_count())
    fail_input(context + ": " + std::to_string(sparse.bin_counts.size()) + " bin headers for " +
               std::to_string(sparse.bin_count()) + " bins");
  if (!std::isfinite(sparse.scale) || sparse.scale < 0.0f) fail_input(context + ": scale is negative or not finite");
  if ((sparse.scale == 0.0f) != sparse.entries.empty())
    fail_input(context + ": scale " + std::to_string(sparse.scale) + " with " + std::to_string(sparse.entries.size()) +
               " entries (the scale is 0 exactly when there are none)");
}

void validate(const SparseTernary& sparse, const std::string& context) {
  detail::validate_header(sparse, context);
  const std::uint32_t T = sparse.bin_size;
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
        fail_input(context + ": entry " + std::to_string(e) + " offset " + std::to_string(offset) + " is beyond bin " +
                   std::to_string(bin) + " of " + std::to_string(length) + " elements");
      if (offset <= previous)
        fail_input(context + ": entry " + std::to_string(e) + " offset " + std::to_string(offset) + " in bin " +
                   std::to_string(bin) + " is not above the previous offset " + std::to_string(previous));
      previous = offset;
    }
  }
  if (e != sparse.entries.size())
    fail_input(context + ": " + std::to_string(sparse.entries.size()) + " entries but bin headers sum to " +
               std::to_string(e));
}

}  // namespace adacomp
