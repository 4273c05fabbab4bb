// Replay reports as JSON and CSV; the fields are documented in format_spec/dump_layout.md.
#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "adacomp/replay.hpp"

namespace adacomp {

namespace {

using Json = nlohmann::ordered_json;

Json number(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }
Json optional_number(const std::optional<double>& value) { return value ? number(*value) : Json(nullptr); }

double step_density(const TensorStepStats& ts, const std::vector<std::uint64_t>& shape, std::size_t learners) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  return ts.compressed && n ? static_cast<double>(ts.entries) / static_cast<double>(n * learners) : 0.0;
}

Json summary_json(const TensorSummary& s, bool per_tensor) {
  Json out;
  out["name"] = s.name;
  if (per_tensor) {
    out["dtype"] = std::string(dtype_name(s.dtype));
    out["shape"] = s.shape;
    out["bin_size"] = s.bin_size;
  }
  out["raw_bytes"] = s.raw_bytes;
  out["wire_bytes"] = s.wire_bytes;
  out["ratio"] = number(s.ratio);
  out["mean_density"] = number(s.mean_density);
  out["entry_bits"] = s.entry_bits;
  out["bound_bits"] = number(s.bound_bits);
  out["bound_ratio"] = s.bound_bits > 0 ? number(static_cast<double>(s.entry_bits) / s.bound_bits) : Json(nullptr);
  out["framing_bytes_per_frame"] =
      s.frames ? number(static_cast<double>(s.framing_bytes) / static_cast<double>(s.frames)) : Json(nullptr);
  out["mean_update_rel_l2"] = number(s.mean_update_rel_l2);
  out["weight_drift"] = optional_number(s.weight_drift);
  out["baseline_vs_final"] = optional_number(s.baseline_vs_final);
  out["reduce_variance_retention"] = optional_number(s.reduce_variance_retention);
  out["reduce_rel_error"] = optional_number(s.reduce_rel_error);
  out["residue_rel_l2"] = optional_number(s.residue_rel_l2);
  out["residue_swamped_share"] = optional_number(s.residue_swamped_share);
  return out;
}

std::string csv_number(double value) {
  if (!std::isfinite(value)) return "";
  char text[64];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

std::string csv_text(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string replay_report_json(const ReplayResult& result, const ReplayOptions& options) {
  Json report;
  report["adacomp_replay_report"] = 1;
  report["dump"] = result.dump;
  report["learners"] = result.learners;
  report["lr"] = result.lr;
  report["momentum"] = result.momentum;
  report["warmup_steps"] = options.warmup_steps;
  report["scale_factor"] = options.settings.scale_factor;
  report["zstd_level"] = options.settings.zstd_level;
  report["entries"] = std::string(wire::entry_layout_name(options.settings.entries));
  report["layout_hash"] = options.settings.layout ? Json(wire::hex64(options.settings.layout->hash)) : Json(nullptr);
  report["exclude"] = options.settings.exclude;
  report["has_init"] = result.has_weights;
  report["has_final"] = result.has_final;
  report["final_comparison_skipped"] =
      result.final_comparison_skipped.empty() ? Json(nullptr) : Json(result.final_comparison_skipped);
  report["world_size"] = result.ranks.size();
  const PrecisionOptions& precision = options.precision;
  report["dump_learners"] = result.dump_learners;
  report["learners_cycled"] = result.learners > result.dump_learners;
  report["precision"] = {{"residue_dtype", precision.residue.name()},
                         {"residue_rounding", std::string(rounding_name(precision.residue_rounding))},
                         {"reduce_dtype", precision.reduce ? Json(precision.reduce->name()) : Json("exact")},
                         {"reduce_chunk", precision.reduce_chunk ? precision.reduce_chunk : result.learners},
                         {"reduce_rounding", std::string(rounding_name(precision.reduce_rounding))},
                         {"weights_dtype", precision.weights.name()},
                         {"weights_rounding", std::string(rounding_name(precision.weights_rounding))}};
  Json ranks = Json::array();
  for (const RankFigures& r : result.ranks)
    ranks.push_back({{"learners", r.learners},
                     {"read_s", r.read},
                     {"encode_s", r.encode},
                     {"exchange_s", r.exchange},
                     {"decode_s", r.decode},
                     {"average_s", r.average},
                     {"update_s", r.update},
                     {"wall_s", r.wall},
                     {"peak_rss_bytes", r.peak_rss_bytes}});
  report["ranks"] = std::move(ranks);
  Json network = Json::array();
  for (const NetworkProjection& n : result.network)
    network.push_back({{"network", n.network},
                       {"bandwidth_bytes_per_s", n.bandwidth},
                       {"latency_s", n.latency},
                       {"learners", n.learners},
                       {"measured", n.measured},
                       {"payload_bytes", number(n.payload_bytes)},
                       {"update_bytes", number(n.update_bytes)},
                       {"dense_allreduce_s", number(n.dense_allreduce)},
                       {"ring_allgather_s", number(n.ring_allgather)},
                       {"parameter_server_s", number(n.parameter_server)},
                       {"encode_s", number(n.encode)},
                       {"decode_s", number(n.decode)},
                       {"compressed_step_s", number(n.compressed_step)},
                       {"speedup", number(n.speedup)},
                       {"pays", n.pays},
                       {"breakeven_bandwidth_bytes_per_s", optional_number(n.breakeven_bandwidth)}});
  report["network"] = std::move(network);
  Json steps = Json::array();
  for (const auto& step : result.steps) {
    Json s;
    s["step"] = step.step;
    s["warmup"] = step.warmup;
    s["update_rel_l2"] = number(step.update_rel_l2);
    s["update_cosine"] = number(step.update_cosine);
    s["stream_overhead_bytes"] = step.stream_overhead_bytes;
    s["learner_stream_bytes"] = step.learner_stream_bytes;
    s["times"] = {{"read_s", step.times.read},       {"encode_s", step.times.encode}, {"decode_s", step.times.decode},
                  {"average_s", step.times.average}, {"update_s", step.times.update}, {"wall_s", step.times.wall}};
    Json tensors = Json::array();
    for (std::size_t t = 0; t < step.tensors.size(); ++t) {
      const auto& ts = step.tensors[t];
      tensors.push_back({{"name", result.tensors[t].name},
                         {"compressed", ts.compressed},
                         {"raw_bytes", ts.raw_bytes},
                         {"wire_bytes", ts.wire_bytes},
                         {"ratio", number(static_cast<double>(ts.raw_bytes) / static_cast<double>(ts.wire_bytes))},
                         {"density", number(step_density(ts, result.tensors[t].shape, result.learners))},
                         {"scale", number(ts.scale)},
                         {"entry_bits", ts.entry_bits},
                         {"bound_bits", number(ts.bound_bits)},
                         {"framing_bytes", ts.framing_bytes},
                         {"residue_l2", number(ts.residue_l2)},
                         {"update_rel_l2", number(ts.update_rel_l2)},
                         {"update_cosine", number(ts.update_cosine)},
                         {"update_nonzeros", ts.update_nonzeros},
                         {"reduce_variance_retention", number(ts.precision.variance_retention())},
                         {"reduce_rel_error", number(ts.precision.reduce_rel_error())},
                         {"residue_rel_l2", number(ts.precision.residue_rel_l2())},
                         {"residue_swamped_share", number(ts.precision.swamped_share())}});
    }
    s["tensors"] = std::move(tensors);
    steps.push_back(std::move(s));
  }
  report["steps"] = std::move(steps);
  Json tensors = Json::array();
  for (const auto& summary : result.tensors) tensors.push_back(summary_json(summary, true));
  report["tensors"] = std::move(tensors);
  report["total"] = summary_json(result.total, false);
  report["seed"] = options.seed;
  Json codecs = Json::array();
  for (const CodecSummary& c : result.codecs) {
    Json per_tensor = Json::array();
    for (const CodecTensorSummary& t : c.tensors)
      per_tensor.push_back({{"name", t.name},
                            {"payload_bytes", t.payload_bytes},
                            {"ratio_f32", number(t.ratio_f32)},
                            {"ratio_source", number(t.ratio_source)},
                            {"mean_update_rel_l2", number(t.mean_update_rel_l2)},
                            {"mean_update_cosine", number(t.mean_update_cosine)},
                            {"weight_drift", optional_number(t.weight_drift)}});
    codecs.push_back({{"codec", c.codec},
                      {"payload_bytes", c.payload_bytes},
                      {"step_bytes", c.step_bytes},
                      {"step_update_rel_l2", c.step_update_rel_l2},
                      {"f32_bytes", c.f32_bytes},
                      {"source_bytes", c.source_bytes},
                      {"ratio_f32", number(c.ratio_f32)},
                      {"ratio_source", number(c.ratio_source)},
                      {"mean_update_rel_l2", number(c.mean_update_rel_l2)},
                      {"mean_update_cosine", number(c.mean_update_cosine)},
                      {"weight_drift", optional_number(c.weight_drift)},
                      {"encode_ns_per_element", number(c.encode_ns_per_element)},
                      {"decode_ns_per_element", number(c.decode_ns_per_element)},
                      {"pareto", c.pareto},
                      {"note", c.note},
                      {"tensors", std::move(per_tensor)}});
  }
  report["codecs"] = std::move(codecs);
  return report.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string replay_report_csv(const ReplayResult& result) {
  std::ostringstream out;
  out << "step,tensor,compressed,raw_bytes,wire_bytes,ratio,density,scale,residue_l2,update_rel_l2,update_cosine,"
         "weight_drift,baseline_vs_final,codec\n";
  for (const auto& step : result.steps)
    for (std::size_t t = 0; t < step.tensors.size(); ++t) {
      const auto& ts = step.tensors[t];
      out << step.step << ',' << csv_text(result.tensors[t].name) << ',' << (ts.compressed ? 1 : 0) << ','
          << ts.raw_bytes << ',' << ts.wire_bytes << ','
          << csv_number(static_cast<double>(ts.raw_bytes) / static_cast<double>(ts.wire_bytes)) << ','
          << csv_number(step_density(ts, result.tensors[t].shape, result.learners)) << ',' << csv_number(ts.scale)
          << ',' << csv_number(ts.residue_l2) << ',' << csv_number(ts.update_rel_l2) << ','
          << csv_number(ts.update_cosine) << ",,,\n";
    }
  auto summary_row = [&](const TensorSummary& s) {
    out << "all," << csv_text(s.name) << ",," << s.raw_bytes << ',' << s.wire_bytes << ',' << csv_number(s.ratio) << ','
        << csv_number(s.mean_density) << ",,," << csv_number(s.mean_update_rel_l2) << ",,"
        << (s.weight_drift ? csv_number(*s.weight_drift) : "") << ','
        << (s.baseline_vs_final ? csv_number(*s.baseline_vs_final) : "") << ",\n";
  };
  for (const auto& s : result.tensors) summary_row(s);
  summary_row(result.total);
  // The codecs of --codec: per tensor and in total, the source bytes under raw_bytes and the
  // payload bytes under wire_bytes, their spec in the last column.
  auto codec_row = [&](const std::string& codec, const std::string& tensor, std::uint64_t source_bytes,
                       std::uint64_t payload_bytes, double ratio, double rel_l2, double cosine,
                       const std::optional<double>& drift) {
    out << "all," << csv_text(tensor) << ",," << source_bytes << ',' << payload_bytes << ',' << csv_number(ratio)
        << ",,,," << csv_number(rel_l2) << ',' << csv_number(cosine) << ',' << (drift ? csv_number(*drift) : "") << ",,"
        << csv_text(codec) << '\n';
  };
  for (const CodecSummary& c : result.codecs) {
    for (std::size_t t = 0; t < c.tensors.size(); ++t) {
      const CodecTensorSummary& ts = c.tensors[t];
      codec_row(c.codec, ts.name, result.tensors[t].raw_bytes, ts.payload_bytes, ts.ratio_source, ts.mean_update_rel_l2,
                ts.mean_update_cosine, ts.weight_drift);
    }
    codec_row(c.codec, "total", c.source_bytes, c.payload_bytes, c.ratio_source, c.mean_update_rel_l2,
              c.mean_update_cosine, c.weight_drift);
  }
  return out.str();
}

}  // namespace adacomp
