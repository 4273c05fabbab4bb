#include <cmath>
#include <cstdio>
#include <memory>

#include "adacomp/bin_size_policy.hpp"
#include "adacomp/error.hpp"
#include "adacomp/frame_stats.hpp"
#include "adacomp/inspect.hpp"
#include "adacomp/metrics.hpp"
#include "adacomp/wire.hpp"
#include "cli_support.hpp"
#include "commands.hpp"
#include "layout_option.hpp"

namespace adacomp::cli {

namespace {

struct InspectCommandOptions {
  std::string input = "-";
  bool bins = false;
  std::vector<std::string> frames;
  bool json = false;
  std::string layout;
  Verbosity verbosity;
};

const char* kind_name(const wire::FrameInfo& info) {
  return info.kind == wire::FrameKind::compressed ? "compressed" : "passthrough";
}

// "fixed", "rans" or "rice" (coded), "-" for passthrough and for coded frames without entries
std::string entry_coding_name(const wire::FrameInfo& info) {
  if (info.kind != wire::FrameKind::compressed) return "-";
  if (info.entry_layout == wire::EntryLayout::fixed) return "fixed";
  if (info.entry_count == 0) return "coded";
  return info.entry_coding == EntryCoding::rans ? "rans" : "rice";
}

void print_header_row() {
  std::printf(
      "%5s %-28s %-11s %-5s %-14s %10s %6s %2s %-5s %11s %8s %9s %8s %10s %8s %8s %8s %7s %8s %9s %3s %6s %8s %10s "
      "%7s\n",
      "frame", "name", "kind", "dtype", "shape", "elements", "T", "W", "entry", "scale", "bins", "entries", "density",
      "bytes", "bits/el", "ratio", "ratio32", "header", "bin_hdr", "entry_b", "sum", "zstd", "bits/ent", "bound_bits",
      "/bound");
}

std::string general(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

// "-" where a figure does not apply or is undefined
std::string optional_figure(bool applies, double value, int decimals) {
  if (!applies || !std::isfinite(value)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

void print_frame_row(const wire::FrameInfo& info, const FrameStats& stats) {
  const bool compressed = info.kind == wire::FrameKind::compressed;
  const bool fixed = compressed && info.entry_layout == wire::EntryLayout::fixed;
  char zstd[32] = "-";
  if (stats.zstd_gain) std::snprintf(zstd, sizeof zstd, "%.2fx", *stats.zstd_gain);
  std::printf(
      "%5llu %-28s %-11s %-5s %-14s %10llu %6s %2s %-5s %11s %8s %9s %8.4f %10llu %8.3f %8.2f %8.2f %7llu %8llu %9llu "
      "%3llu %6s %8s %10s %7s\n",
      static_cast<unsigned long long>(info.index), info.name.c_str(), kind_name(info),
      std::string(dtype_name(info.dtype)).c_str(), shape_string(info.shape).c_str(),
      static_cast<unsigned long long>(info.element_count), compressed ? std::to_string(info.bin_size).c_str() : "-",
      fixed ? std::to_string(info.index_width).c_str() : "-", entry_coding_name(info).c_str(),
      compressed ? general(info.scale).c_str() : "-", compressed ? std::to_string(stats.bins).c_str() : "-",
      compressed ? std::to_string(info.entry_count).c_str() : "-", stats.density,
      static_cast<unsigned long long>(stats.frame_bytes), stats.bits_per_element, stats.ratio_source, stats.ratio_f32,
      static_cast<unsigned long long>(stats.header_bytes), static_cast<unsigned long long>(stats.bin_header_bytes),
      static_cast<unsigned long long>(compressed ? stats.entry_bytes : stats.data_bytes),
      static_cast<unsigned long long>(stats.checksum_bytes), zstd,
      optional_figure(compressed, stats.bits_per_entry, 3).c_str(),
      optional_figure(compressed, stats.bound_bits, 1).c_str(),
      optional_figure(compressed, stats.bound_ratio, 3).c_str());
}

void print_bins(const FrameStats& stats) {
  std::printf("      bins %llu: %.1f%% empty, %.1f%% full; bins per entry count:",
              static_cast<unsigned long long>(stats.bins), 100.0 * stats.empty_bin_share, 100.0 * stats.full_bin_share);
  for (const auto& [count, number] : stats.entries_per_bin)
    std::printf(" %u:%llu", count, static_cast<unsigned long long>(number));
  std::printf("\n");
}

std::string layout_note(const wire::StreamHeaderInfo& header) {
  if (!header.layout_hash) return "";
  return std::string(header.layout_inline ? ", layout " : ", agreed layout ") + wire::hex64(*header.layout_hash);
}

int run_inspect(InspectCommandOptions& options) {
  refuse_terminal_input(options.input);
  const auto layout = load_layout_option(options.layout);
  FileInput input(options.input);
  StreamInspection inspection(input, {options.bins, options.frames, layout ? &*layout : nullptr, options.json});
  const wire::StreamReader& reader = inspection.reader();
  if (!options.json) {
    std::printf("%s\n", input.name().c_str());
    print_header_row();
  }
  std::size_t streams_printed = 0;
  // Streams are listed before their first frame, and at the end those without frames.
  auto print_streams = [&] {
    for (; !options.json && streams_printed < reader.stream_headers().size(); ++streams_printed) {
      const auto& h = reader.stream_headers()[streams_printed];
      std::printf("# stream %zu at byte %llu: format %u.%u, flags 0x%04x%s\n", streams_printed,
                  static_cast<unsigned long long>(h.offset), h.major, h.minor, h.flags, layout_note(h).c_str());
    }
  };
  inspection.run(
      [&](const wire::FrameInfo& info, const FrameStats& stats, bool has_sparse) {
        if (options.json) return;
        print_frame_row(info, stats);
        if (options.bins && has_sparse) print_bins(stats);
      },
      print_streams);
  const InspectTotals& totals = inspection.totals();
  if (options.json) {
    std::printf("%s\n", inspection.json_text().c_str());
  } else {
    const double elements = static_cast<double>(totals.elements);
    const double frame_bytes = static_cast<double>(totals.frame_bytes);
    std::printf(
        "total: %llu frames, %llu elements, %llu entries, %llu raw bytes -> %llu frame bytes (ratio %.2f, "
        "%.3f bits/element); entries %llu bits, bound %.0f bits (ratio %.3f); %llu bytes read\n",
        static_cast<unsigned long long>(totals.frames), static_cast<unsigned long long>(totals.elements),
        static_cast<unsigned long long>(totals.entries), static_cast<unsigned long long>(totals.raw_bytes),
        static_cast<unsigned long long>(totals.frame_bytes), totals.raw_bytes / frame_bytes,
        8.0 * frame_bytes / elements, static_cast<unsigned long long>(totals.entry_bits), totals.bound_bits,
        ratio_or_nan(static_cast<double>(totals.entry_bits), totals.bound_bits),
        static_cast<unsigned long long>(reader.offset()));
  }
  std::fflush(stdout);
  if (inspection.failure()) throw *inspection.failure();
  return kExitSuccess;
}

}  // namespace

Command add_inspect_command(CLI::App& parent) {
  auto options = std::make_shared<InspectCommandOptions>();
  CLI::App* app = parent.add_subcommand("inspect", "List the frames of an adacomp stream with their sizes and figures");
  app->add_option("input", options->input, "Input stream ('-' or none: stdin)");
  app->add_flag("--bins", options->bins, "Per frame: histogram of entries per bin, shares of empty and full bins");
  app->add_option("--frame", options->frames, "Only frames whose name matches GLOB (repeatable)")
      ->type_name("GLOB")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app->add_flag("--json", options->json, "Print JSON (schema: format_spec/cli_json.md)");
  add_layout_read_option(*app, options->layout);
  add_verbosity_flags(*app, options->verbosity);
  return {app, [options] { return run_inspect(*options); }};
}

}  // namespace adacomp::cli
