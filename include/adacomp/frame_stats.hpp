#pragma once
// Figures of one frame, as `adacomp inspect` shows them (definitions: format_spec/wire_format.md
// section 11 and format_spec/cli_json.md); the one place they are computed, for inspect, encode -v
// and replay alike.
#include <cstdint>
#include <map>
#include <optional>

#include "adacomp/wire.hpp"

namespace adacomp {

struct FrameStats {
  std::uint64_t bins = 0;
  std::uint64_t header_bytes = 0;      // tag through payload size field
  std::uint64_t bin_header_bytes = 0;  // raw, before the zstd stage (fixed entries)
  std::uint64_t entry_bytes = 0;       // raw: entries (fixed) or the entries section (coded)
  std::uint64_t data_bytes = 0;        // passthrough: raw element bytes
  std::uint64_t payload_stored_bytes = 0;
  std::uint64_t checksum_bytes = wire::kChecksumBytes;
  std::uint64_t frame_bytes = 0;
  std::uint64_t source_bytes = 0;  // elements * sizeof(source dtype): the tensor uncompressed
  double density = 0;              // entries / elements (1 for passthrough)
  double bits_per_element = 0;
  double ratio_source = 0;          // elements * sizeof(source dtype) / frame bytes
  double ratio_f32 = 0;             // elements * 4 / frame bytes
  std::optional<double> zstd_gain;  // raw payload / stored payload, when the stage is on
  // compressed frames: what the positions and signs cost against log2 C(n, k) + k
  std::uint64_t entry_bits = 0;     // 8 * (bin headers + entries), or 8 * the entries section
  double bits_per_entry = 0;        // entry_bits / entries (NaN without entries)
  double bound_bits = 0;            // log2 C(elements, entries) + entries
  double bound_ratio = 0;           // entry_bits / bound_bits (NaN when the bound is 0)
  std::uint64_t framing_bytes = 0;  // frame bytes besides the payload: record header and checksum
  // compressed frames: number of bins holding each entry count; and the empty / full shares
  std::map<std::uint32_t, std::uint64_t> entries_per_bin;
  double empty_bin_share = 0, full_bin_share = 0;
};

// `sparse` is the frame's validated content (compressed frames), or null: passthrough frames, or
// when the per-bin figures are not wanted.
FrameStats frame_stats(const wire::FrameInfo& info, const SparseTernary* sparse);

}  // namespace adacomp
