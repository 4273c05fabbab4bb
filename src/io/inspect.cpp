#include "adacomp/inspect.hpp"

#include "adacomp/bin_size_policy.hpp"
#include "adacomp/metrics.hpp"
#include "io/json_output.hpp"

namespace adacomp {

namespace {

const char* kind_name(const wire::FrameInfo& info) {
  return info.kind == wire::FrameKind::compressed ? "compressed" : "passthrough";
}

// "rans" or "rice"; null for passthrough frames, fixed entries and coded frames without entries
Json entry_coding_json(const wire::FrameInfo& info) {
  if (info.kind != wire::FrameKind::compressed || info.entry_layout == wire::EntryLayout::fixed) return nullptr;
  if (info.entry_count == 0) return nullptr;
  return info.entry_coding == EntryCoding::rans ? "rans" : "rice";
}

Json frame_json(const wire::FrameInfo& info, const FrameStats& stats, bool bins) {
  const bool compressed = info.kind == wire::FrameKind::compressed;
  const bool fixed = compressed && info.entry_layout == wire::EntryLayout::fixed;
  Json out;
  out["index"] = info.index;
  out["offset"] = info.offset;
  out["name"] = info.name;
  out["kind"] = kind_name(info);
  out["dtype"] = std::string(dtype_name(info.dtype));
  out["shape"] = info.shape;
  out["elements"] = info.element_count;
  out["bin_size"] = compressed ? Json(info.bin_size) : Json(nullptr);
  out["index_width"] = fixed ? Json(info.index_width) : Json(nullptr);
  out["format"] = std::to_string(info.format_major) + "." + std::to_string(info.format_minor);
  out["layout_index"] = info.layout_index ? Json(*info.layout_index) : Json(nullptr);
  out["entry_layout"] = compressed ? Json(std::string(wire::entry_layout_name(info.entry_layout))) : Json(nullptr);
  out["entry_coding"] = entry_coding_json(info);
  out["entry_bits"] = compressed ? Json(stats.entry_bits) : Json(nullptr);
  out["bits_per_entry"] = compressed ? json_number(stats.bits_per_entry) : Json(nullptr);
  out["bound_bits"] = compressed ? json_number(stats.bound_bits) : Json(nullptr);
  out["bound_ratio"] = compressed ? json_number(stats.bound_ratio) : Json(nullptr);
  out["framing_bytes"] = stats.framing_bytes;
  out["scale"] = compressed ? Json(info.scale) : Json(nullptr);
  out["bins"] = compressed ? Json(stats.bins) : Json(nullptr);
  out["entries"] = compressed ? Json(info.entry_count) : Json(nullptr);
  out["density"] = json_number(stats.density);
  out["frame_bytes"] = stats.frame_bytes;
  out["bits_per_element"] = json_number(stats.bits_per_element);
  out["ratio_source"] = json_number(stats.ratio_source);
  out["ratio_f32"] = json_number(stats.ratio_f32);
  out["bytes"] = {{"header", stats.header_bytes},
                  {"bin_headers", stats.bin_header_bytes},
                  {"entries", stats.entry_bytes},
                  {"data", stats.data_bytes},
                  {"payload_stored", stats.payload_stored_bytes},
                  {"checksum", stats.checksum_bytes}};
  out["zstd"] = info.zstd;
  out["zstd_gain"] = json_number(stats.zstd_gain);
  if (bins && compressed) {
    Json histogram = Json::object();
    for (const auto& [count, number] : stats.entries_per_bin) histogram[std::to_string(count)] = number;
    out["entries_per_bin"] = std::move(histogram);
    out["empty_bin_share"] = json_number(stats.empty_bin_share);
    out["full_bin_share"] = json_number(stats.full_bin_share);
  }
  return out;
}

}  // namespace

struct StreamInspection::Document {
  Json frames = Json::array();
};

StreamInspection::StreamInspection(ByteInput& input, InspectOptions options)
    : input_(input), options_(std::move(options)), reader_(input), document_(std::make_unique<Document>()) {
  reader_.set_agreed_layout(options_.layout);
}

StreamInspection::~StreamInspection() = default;

void StreamInspection::run(const FrameCallback& on_frame, const std::function<void()>& on_streams) {
  try {
    while (auto frame = reader_.next()) {
      if (on_streams) on_streams();
      const wire::FrameInfo& info = frame->info;
      if (!options_.frames.empty() && !matches_any_glob(options_.frames, info.name)) continue;
      std::optional<SparseTernary> sparse;
      if (info.kind == wire::FrameKind::compressed) sparse = wire::sparse_from_frame(*frame, input_.name());
      const FrameStats stats = frame_stats(info, sparse ? &*sparse : nullptr);
      ++totals_.frames;
      totals_.elements += info.element_count;
      totals_.entries += sparse ? info.entry_count : 0;
      totals_.raw_bytes += info.element_count * dtype_size(info.dtype);
      totals_.frame_bytes += stats.frame_bytes;
      totals_.entry_bits += stats.entry_bits;
      totals_.bound_bits += stats.bound_bits;
      if (options_.json) document_->frames.push_back(frame_json(info, stats, options_.bins));
      if (on_frame) on_frame(info, stats, sparse.has_value());
    }
    if (on_streams) on_streams();
  } catch (const Error& e) {
    failure_ = e;
  }
}

std::string StreamInspection::json_text() const {
  const double elements = static_cast<double>(totals_.elements);
  const double frame_bytes = static_cast<double>(totals_.frame_bytes);
  Json out;
  out["adacomp_inspect"] = 1;
  out["source"] = input_.name();
  Json streams = Json::array();
  for (const auto& h : reader_.stream_headers())
    streams.push_back({{"offset", h.offset},
                       {"major", h.major},
                       {"minor", h.minor},
                       {"flags", h.flags},
                       {"layout_hash", h.layout_hash ? Json(wire::hex64(*h.layout_hash)) : Json(nullptr)},
                       {"layout_inline", h.layout_inline}});
  out["streams"] = std::move(streams);
  out["frames"] = document_->frames;
  out["totals"] = {
      {"frames", totals_.frames},
      {"elements", totals_.elements},
      {"entries", totals_.entries},
      {"raw_bytes", totals_.raw_bytes},
      {"frame_bytes", totals_.frame_bytes},
      {"bytes_read", reader_.offset()},
      {"ratio_source", json_number(totals_.raw_bytes / frame_bytes)},
      {"ratio_f32", json_number(elements * 4.0 / frame_bytes)},
      {"bits_per_element", json_number(8.0 * frame_bytes / elements)},
      {"entry_bits", totals_.entry_bits},
      {"bound_bits", json_number(totals_.bound_bits)},
      {"bound_ratio", json_number(ratio_or_nan(static_cast<double>(totals_.entry_bits), totals_.bound_bits))}};
  out["error"] =
      failure_ ? Json{{"message", failure_->what()}, {"frame", reader_.frames_read()}, {"offset", reader_.offset()}}
               : Json(nullptr);
  return adacomp::json_text(out);
}

}  // namespace adacomp
