#include "report_table.hpp"

#include <cstdio>
#include <string>

#include "adacomp/frame_stats.hpp"

namespace adacomp::cli {

void print_frame_table(const std::vector<wire::FrameInfo>& frames, bool per_frame, std::uint64_t stream_bytes) {
  std::uint64_t raw_total = 0;
  if (per_frame)
    std::fprintf(stderr, "%-32s %-16s %-5s %-16s %6s %9s %8s %10s %10s %8s\n", "tensor", "kind", "dtype", "shape", "T",
                 "entries", "density", "raw_bytes", "frame_bytes", "ratio");
  for (const auto& frame : frames) {
    const FrameStats stats = frame_stats(frame, nullptr);
    raw_total += stats.source_bytes;
    if (!per_frame) continue;
    const bool compressed = frame.kind == wire::FrameKind::compressed;
    const std::string kind = std::string(compressed ? "compressed" : "passthrough") + (frame.zstd ? "+zstd" : "");
    std::fprintf(stderr, "%-32s %-16s %-5s %-16s %6u %9llu %8.4f %10llu %10llu %8.2f\n", frame.name.c_str(),
                 kind.c_str(), std::string(dtype_name(frame.dtype)).c_str(), shape_string(frame.shape).c_str(),
                 compressed ? frame.bin_size : 0, static_cast<unsigned long long>(frame.entry_count), stats.density,
                 static_cast<unsigned long long>(stats.source_bytes),
                 static_cast<unsigned long long>(stats.frame_bytes), stats.ratio_source);
  }
  std::fprintf(stderr, "%zu tensors: %llu raw bytes -> %llu stream bytes (ratio %.2f)\n", frames.size(),
               static_cast<unsigned long long>(raw_total), static_cast<unsigned long long>(stream_bytes),
               stream_bytes ? static_cast<double>(raw_total) / stream_bytes : 0.0);
}

}  // namespace adacomp::cli
