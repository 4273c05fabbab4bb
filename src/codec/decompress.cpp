// Decoding one tensor: validation fused into the scatter. Each chunk of bins is zero-filled and
// receives its entries while it is still in cache, and every entry is checked on the way; at the
// first fault the plain validate() walk runs to name it, so messages are validate()'s.
#include <algorithm>
#include <bit>

#include "adacomp/codec.hpp"
#include "adacomp/error.hpp"
#include "codec_detail.hpp"
#include "common/parallel_parts.hpp"

namespace adacomp {

namespace {

constexpr std::size_t kFailed = static_cast<std::size_t>(-1);

// Bins [first, last) from entry `e`; returns the entry after the last bin, or kFailed at the first
// structural error. Nothing is written outside the bins' elements, even for a faulty entry.
std::size_t scatter_bins(const SparseTernary& sparse, std::span<float> out, std::size_t first, std::size_t last,
                         std::size_t e) {
  constexpr std::size_t kChunkElements = std::size_t{1} << 14;  // 64 KiB of output, in L2
  const std::size_t T = sparse.bin_size;
  const std::size_t bins_per_chunk = std::max<std::size_t>(1, kChunkElements / T);
  const std::uint32_t scale_bits = std::bit_cast<std::uint32_t>(sparse.scale);  // non-negative: checked
  const std::uint16_t* entries = sparse.entries.data();
  for (std::size_t chunk = first; chunk < last; chunk += bins_per_chunk) {
    const std::size_t chunk_last = std::min(last, chunk + bins_per_chunk);
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(chunk * T),
              out.begin() + static_cast<std::ptrdiff_t>(std::min(out.size(), chunk_last * T)), 0.0f);
    for (std::size_t bin = chunk; bin < chunk_last; ++bin) {
      const std::size_t length = std::min(T, out.size() - bin * T);
      const std::size_t count = sparse.bin_counts[bin];
      if (count > length || sparse.entries.size() - e < count) return kFailed;
      float* base = out.data() + bin * T;
      std::size_t previous = 0;  // offset + 1 of the previous entry
      bool faulty = false;
      for (std::size_t c = 0; c < count; ++c) {
        const std::uint32_t entry = entries[e + c];
        const std::size_t offset = entry >> 2;
        const std::uint32_t code = entry & 3u;
        faulty |= (code - 1u > 1u) | (offset >= length) | (offset + 1 <= previous);
        // code 1: +scale, code 2: -scale (the sign bit from the code's high bit)
        base[std::min(offset, length - 1)] = std::bit_cast<float>(scale_bits | ((code >> 1) << 31));
        previous = offset + 1;
      }
      if (faulty) return kFailed;
      e += count;
    }
  }
  return e;
}

}  // namespace

void decompress(const SparseTernary& sparse, std::span<float> out, const std::string& context, unsigned threads) {
  detail::validate_header(sparse, context);
  if (out.size() != sparse.element_count)
    fail_input(context + ": output has " + std::to_string(out.size()) + " elements, frame " +
               std::to_string(sparse.element_count));
  const std::size_t bins = sparse.bin_counts.size();
  const std::size_t parts = detail::thread_parts(out.size(), threads);
  std::vector<std::size_t> ends(parts);
  detail::run_parts(parts, [&](std::size_t p) {
    const std::size_t first = bins * p / parts;
    ends[p] = scatter_bins(sparse, out, first, bins * (p + 1) / parts, detail::first_entry_of(sparse, first));
  });
  const bool scattered = std::none_of(ends.begin(), ends.end(), [](std::size_t e) { return e == kFailed; });
  if (!scattered || ends.back() != sparse.entries.size()) {
    validate(sparse, context);  // names the first fault
    throw Error(ErrorKind::internal, context + ": the decoder refused a frame that validation accepts");
  }
}

}  // namespace adacomp
