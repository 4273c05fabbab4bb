#pragma once
// Replay of a gradient dump (format_spec/dump_layout.md): every learner's gradients go through
// the real wire bytes, the decoded tensors are averaged and applied with PyTorch-style SGD, next to
// an uncompressed baseline, and every cost and fidelity figure is recorded.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adacomp/codecs.hpp"
#include "adacomp/collective.hpp"
#include "adacomp/encoder.hpp"
#include "adacomp/precision.hpp"
#include "adacomp/tensor.hpp"

namespace adacomp {

// A network of the what-if: `BW[,LAT]`, e.g. "10Gbit,5us".
struct NetworkSetting {
  std::string text;      // as given
  double bandwidth = 0;  // bytes per second
  double latency = 0;    // seconds per message
};

// Throws Error(usage) naming the text for what is not BW[,LAT] (BW: a number with Kbit, Mbit,
// Gbit or Tbit, or KB, MB, GB or TB, per second; LAT: a number with ns, us, ms or s).
NetworkSetting parse_network(std::string_view text);

// The precision what-if (format_spec/dump_layout.md, "Precision what-if"): formats of the
// compressed run's residues, reduction and weights. The baseline stays float32 with exact sums.
// The defaults are the replay without the what-if, bit for bit.
struct PrecisionOptions {
  NumberFormat residue;  // each learner's residue, rounded after every step's update
  Rounding residue_rounding = Rounding::nearest;
  // The sum of the learners' decoded tensors accumulated in this format, learner by learner in
  // order; none: the exact (binary64) sum rounded once to float32, as without the what-if.
  std::optional<NumberFormat> reduce;
  std::size_t reduce_chunk = 0;  // partial sums of this many learners, then the sum of the partials; 0: one
  Rounding reduce_rounding = Rounding::nearest;
  NumberFormat weights;  // the compressed run's weights, rounded after every SGD update
  Rounding weights_rounding = Rounding::nearest;
  bool residue_active() const noexcept { return !residue.is_f32(); }
  bool active() const noexcept { return residue_active() || reduce || !weights.is_f32(); }
};

struct ReplayOptions {
  std::string dump;                         // the dump directory
  std::optional<std::size_t> learners;      // first N learners of each step; default all
  std::optional<std::uint64_t> step_begin;  // step numbers [begin, end)
  std::optional<std::uint64_t> step_end;
  EncodeSettings settings;
  std::uint64_t warmup_steps = 0;  // the first N replayed steps go uncompressed
  std::optional<double> lr;        // default: meta.json
  std::optional<double> momentum;  // default: meta.json, else 0
  unsigned threads = 1;
  std::string stream_dir;  // when set, DIR/step-NNNNN/learner-L.adc are written
  // Codecs compared side by side on the same steps, learners and SGD (`--codec`); "adacomp" is the
  // replay's own run. Stochastic codecs draw from `seed`.
  std::vector<codecs::CodecSpec> codecs;
  std::uint64_t seed = 0;
  std::function<void(std::size_t done, std::size_t total)> progress;
  // The ranks the learners are spread over (format_spec/dump_layout.md, "Replay on MPI"); null:
  // this process alone. Every rank gets the same result.
  Collective* collective = nullptr;
  bool check_consistency = false;  // compare the ranks' weights after every step, not only the last
  // Network what-if (format_spec/dump_layout.md, "Network what-if"): the exchange's time projected
  // for each setting, for the dump's learners and for each count of `project_learners`.
  std::vector<NetworkSetting> network;
  std::vector<std::size_t> project_learners;
  PrecisionOptions precision;  // stochastic roundings draw from `seed`
  // Simulate this many learners by cycling the dump's (learner l reads the dump's learner
  // l mod N), each with its own residue; 0: the dump's learners.
  std::size_t learners_scale = 0;
};

// One tensor's precision figures of one step (sums over its elements and the learners), from
// which the report's ratios are formed (format_spec/dump_layout.md, "Precision what-if").
struct PrecisionStepStats {
  std::uint64_t elements = 0;                           // of the reduction (the tensor's)
  double low_sum = 0, low_square_sum = 0;               // of the low-precision sums
  double exact_sum = 0, exact_square_sum = 0;           // of the exact sums
  double average_error_square = 0, average_square = 0;  // reduced average - exact average; exact average
  double residue_error_square = 0, residue_square = 0;  // low-precision residue - float32 shadow; shadow
  double swamped_mass = 0, gradient_mass = 0;           // sum |g| of swamped updates; of all
  // Var(low sums) / Var(exact sums) over the elements; NaN when the exact sums do not vary.
  double variance_retention() const noexcept;
  double reduce_rel_error() const noexcept;  // ||avg_low - avg_exact|| / ||avg_exact||; NaN without
  double residue_rel_l2() const noexcept;    // ||r_low - r_shadow|| / ||r_shadow||; NaN without
  double swamped_share() const noexcept;     // swamped_mass / gradient_mass; NaN without
  void merge(const PrecisionStepStats& other) noexcept;
};

struct TensorStepStats {
  bool compressed = false;            // false: passthrough (excluded or warm-up)
  std::uint64_t raw_bytes = 0;        // over the learners, in the source dtype
  std::uint64_t wire_bytes = 0;       // frame bytes over the learners
  std::uint64_t entries = 0;          // over the learners
  std::uint64_t entry_bits = 0;       // positions and signs as stored, over the learners
  double bound_bits = 0.0;            // log2 C(n, k) + k of each frame, summed over the learners
  std::uint64_t framing_bytes = 0;    // frame bytes besides payloads, over the learners
  double scale = 0.0;                 // mean over the learners
  double residue_l2 = 0.0;            // mean over the learners of ||r|| after the step
  double update_rel_l2 = 0.0;         // ||avg_compressed - avg_exact|| / ||avg_exact||
  double update_cosine = 1.0;         // cosine(avg_compressed, avg_exact)
  std::uint64_t update_nonzeros = 0;  // of avg_compressed (counted with --network only)
  PrecisionStepStats precision;       // with ReplayOptions::precision only
};

struct StepTimes {
  double read = 0, encode = 0, decode = 0, average = 0, update = 0, wall = 0;  // seconds
};

struct StepStats {
  std::uint64_t step = 0;
  bool warmup = false;
  std::vector<TensorStepStats> tensors;             // in tensor order
  std::uint64_t stream_overhead_bytes = 0;          // stream headers and end records, over the learners
  std::vector<std::uint64_t> learner_stream_bytes;  // each learner's whole stream
  double update_rel_l2 = 0.0;                       // over all tensors together
  double update_cosine = 1.0;                       // over all tensors together
  StepTimes times;
};

struct TensorSummary {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::uint64_t> shape;
  std::uint32_t bin_size = 0;  // 0 when excluded
  std::uint64_t raw_bytes = 0, wire_bytes = 0;
  std::uint64_t entry_bits = 0, frames = 0, framing_bytes = 0;  // compressed frames; all frames
  double bound_bits = 0;
  double ratio = 0, mean_density = 0, mean_update_rel_l2 = 0;
  std::optional<double> weight_drift;       // ||w_c - w_b|| / ||w_b||
  std::optional<double> baseline_vs_final;  // ||w_b - w_final|| / ||w_final||
  // Precision what-if, means over the compressed steps (dump_layout.md, "Precision what-if").
  std::optional<double> reduce_variance_retention, reduce_rel_error;  // with a reduce format
  std::optional<double> residue_rel_l2, residue_swamped_share;        // with a residue format
};

// One codec of ReplayOptions::codecs over the whole replay (format_spec/dump_layout.md, "codecs").
struct CodecTensorSummary {
  std::string name;
  std::uint64_t payload_bytes = 0;  // over the learners and steps
  double ratio_f32 = 0, ratio_source = 0, mean_update_rel_l2 = 0, mean_update_cosine = 0;
  std::optional<double> weight_drift;  // ||w_codec - w_b|| / ||w_b|| after the last step
};

struct CodecSummary {
  std::string codec;                       // its spec, every parameter included
  std::vector<std::uint64_t> step_bytes;   // payload bytes of each step, over the learners
  std::vector<double> step_update_rel_l2;  // each step's update error (over all tensors together)
  std::uint64_t payload_bytes = 0, f32_bytes = 0, source_bytes = 0;
  double ratio_f32 = 0, ratio_source = 0, mean_update_rel_l2 = 0, mean_update_cosine = 0;
  std::optional<double> weight_drift;
  double encode_ns_per_element = 0, decode_ns_per_element = 0;  // elements of compressed tensors
  bool pareto = false;  // no other codec has a ratio as high and a drift (else update error) as low
  std::string note;     // how the codec changed the replay's own rules (DGC's momentum), else empty
  std::vector<CodecTensorSummary> tensors;
};

// A baseline replay further than this (relative L2) from final.npz does not reproduce the recorded
// run: the dump's lr, momentum or steps do not match what meta.json says.
inline constexpr double kFinalMismatchWarning = 1e-4;

// One rank's share of a replay over ranks: its phases summed over the steps (read, encode and
// decode of its own learners; exchange: sending and receiving streams and the baseline's sum;
// decode also of the other ranks' streams), in seconds, and its peak resident set.
struct RankFigures {
  double read = 0, encode = 0, exchange = 0, decode = 0, average = 0, update = 0, wall = 0;
  std::uint64_t peak_rss_bytes = 0, learners = 0;
};

// One setting of the network what-if for one learner count, per compressed step (seconds).
struct NetworkProjection {
  std::string network;  // the setting as given
  double bandwidth = 0, latency = 0;
  std::size_t learners = 0;
  bool measured = false;                      // the dump's own learners (else projected from their mean)
  double payload_bytes = 0;                   // all learners' streams of a step
  double update_bytes = 0;                    // the averaged update as a parameter server sends it back
  double dense_allreduce = 0;                 // float32 ring all-reduce: the baseline
  double ring_allgather = 0;                  // of the learners' streams
  double parameter_server = 0;                // every stream up, the averaged update down to every learner
  double encode = 0, decode = 0;              // one learner's encode; its decode of every stream
  double compressed_step = 0;                 // ring_allgather + encode + decode
  double speedup = 0;                         // dense_allreduce / compressed_step
  std::string pays;                           // "below", "above", "always" or "never" (against the bandwidth)
  std::optional<double> breakeven_bandwidth;  // bytes/s where it changes ("below", "above")
};

struct ReplayResult {
  std::string dump;
  std::size_t learners = 0;
  std::size_t dump_learners = 0;   // the dump's learners replayed (cycled when learners > dump_learners)
  std::vector<RankFigures> ranks;  // in rank order; one for a replay in one process
  double lr = 0, momentum = 0;
  bool has_weights = false, has_final = false;
  std::string final_file;  // final.npz (or .safetensors) when has_final
  // Why baseline_vs_final is not computed although final weights exist: only part of the dump
  // was replayed (learners, steps) or its steps have gaps. Empty when it is computed.
  std::string final_comparison_skipped;
  std::vector<StepStats> steps;
  std::vector<TensorSummary> tensors;
  TensorSummary total;                     // name "total"; drift figures over all tensors together
  std::vector<CodecSummary> codecs;        // ReplayOptions::codecs, by decreasing ratio_source
  std::vector<NetworkProjection> network;  // per setting, the dump's learners then each projected count
  std::vector<Tensor> weights;             // compressed replay (when init.npz exists)
  std::vector<Tensor> baseline;            // uncompressed replay
};

ReplayResult replay(const ReplayOptions& options);

// Machine-readable reports (format_spec/dump_layout.md, "Replay report").
std::string replay_report_json(const ReplayResult& result, const ReplayOptions& options);
std::string replay_report_csv(const ReplayResult& result);
// A self-contained HTML page (no script, no network) of the codecs side by side: the table, ratio
// against drift per codec and the update error over the steps, drawn as inline SVG.
std::string replay_report_html(const ReplayResult& result);

}  // namespace adacomp
