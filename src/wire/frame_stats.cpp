#include "adacomp/frame_stats.hpp"

#include "adacomp/metrics.hpp"

namespace adacomp {

FrameStats frame_stats(const wire::FrameInfo& info, const SparseTernary* sparse) {
  FrameStats stats;
  const bool compressed = info.kind == wire::FrameKind::compressed;
  const double n = static_cast<double>(info.element_count);
  stats.header_bytes = info.header_bytes;
  stats.payload_stored_bytes = info.payload_stored_bytes;
  stats.frame_bytes = info.frame_bytes();
  stats.framing_bytes = info.header_bytes + wire::kChecksumBytes;
  stats.source_bytes = info.element_count * dtype_size(info.dtype);
  if (compressed) {
    stats.bins = info.bin_count();
    const bool fixed = info.entry_layout == wire::EntryLayout::fixed;
    stats.bin_header_bytes = fixed ? stats.bins * info.index_width : 0;
    // a coded frame's entries section is its payload after the entry count and scale
    const std::uint64_t section = info.entry_count == 0 ? 0 : info.payload_raw_bytes - info.entries_offset;
    stats.entry_bytes = fixed ? info.entry_count * info.index_width : section;
    stats.entry_bits = 8 * (stats.bin_header_bytes + stats.entry_bytes);
    stats.bits_per_entry = ratio_or_nan(static_cast<double>(stats.entry_bits), static_cast<double>(info.entry_count));
    stats.bound_bits = entry_bound_bits(info.element_count, info.entry_count);
    stats.bound_ratio = ratio_or_nan(static_cast<double>(stats.entry_bits), stats.bound_bits);
    stats.density = ratio_or_nan(static_cast<double>(info.entry_count), n);
  } else {
    stats.data_bytes = info.payload_raw_bytes;
    stats.density = 1.0;
  }
  const double frame = static_cast<double>(stats.frame_bytes);
  stats.bits_per_element = ratio_or_nan(8.0 * frame, n);
  stats.ratio_source = static_cast<double>(stats.source_bytes) / frame;
  stats.ratio_f32 = n * 4.0 / frame;
  if (info.zstd)
    stats.zstd_gain = static_cast<double>(info.payload_raw_bytes) / static_cast<double>(info.payload_stored_bytes);
  if (sparse) {
    std::uint64_t empty = 0, full = 0;
    for (std::size_t b = 0; b < sparse->bin_counts.size(); ++b) {
      const std::uint16_t count = sparse->bin_counts[b];
      ++stats.entries_per_bin[count];
      const std::uint64_t length =
          std::min<std::uint64_t>(sparse->bin_size, sparse->element_count - b * sparse->bin_size);
      empty += count == 0;
      full += count == length;
    }
    stats.empty_bin_share = ratio_or_nan(static_cast<double>(empty), static_cast<double>(stats.bins));
    stats.full_bin_share = ratio_or_nan(static_cast<double>(full), static_cast<double>(stats.bins));
  }
  return stats;
}

}  // namespace adacomp
