#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include <unistd.h>

#include "adacomp/byte_io.hpp"
#include "adacomp/collective.hpp"
#include "adacomp/error.hpp"
#include "adacomp/precision.hpp"
#include "adacomp/replay.hpp"
#include "adacomp/tensor_file.hpp"
#include "adacomp/wire.hpp"
#include "cli_support.hpp"
#include "codec_options.hpp"
#include "commands.hpp"
#include "layout_option.hpp"
#include "option_checks.hpp"
#include "output_directory.hpp"
#include "output_file.hpp"
#include "path_policy.hpp"
#include "progress_bar.hpp"
#ifdef ADACOMP_WITH_MPI
#include "mpi/mpi_collective.hpp"
#endif

namespace adacomp::cli {

namespace {

struct ReplayCliOptions {
  std::string dump;
  std::optional<std::size_t> learners;
  std::string steps;
  CodecOptions codec;
  std::uint64_t warmup_steps = 0;
  std::optional<double> lr, momentum;
  unsigned threads = 1;
  std::vector<std::string> codecs;
  std::uint64_t seed = 0;
  std::string report, save_weights, save_baseline, save_stream;
  bool force = false;
  bool progress = false, no_progress = false, check_consistency = false;
  std::vector<std::string> network;
  std::vector<std::size_t> project_learners;
  // the precision what-if
  std::string residue_dtype = "f32", residue_rounding = "nearest";
  std::string reduce_dtype, reduce_rounding = "nearest";
  std::size_t reduce_chunk = 0;
  std::string weights_dtype = "f32", weights_rounding = "nearest";
  std::size_t learners_scale = 0;
  Verbosity verbosity;
};

PrecisionOptions precision_options(const ReplayCliOptions& cli) {
  PrecisionOptions p;
  p.residue = parse_number_format(cli.residue_dtype, "f32,f16,bf16", "--residue-dtype");
  p.residue_rounding = parse_rounding(cli.residue_rounding, "nearest,stochastic", "--residue-rounding");
  if (!cli.reduce_dtype.empty())
    p.reduce = parse_number_format(cli.reduce_dtype, "f32,f16,bf16,f8e5m2", "--reduce-dtype");
  p.reduce_chunk = cli.reduce_chunk;
  p.reduce_rounding = parse_rounding(cli.reduce_rounding, "nearest,truncate", "--reduce-rounding");
  p.weights = parse_number_format(cli.weights_dtype, "f32,f16,bf16,fixed", "--weights-dtype");
  p.weights_rounding = parse_rounding(cli.weights_rounding, "nearest,stochastic", "--weights-rounding");
  return p;
}

void parse_steps(const std::string& text, ReplayOptions& options) {
  const auto colon = text.find(':');
  auto number = [&](const std::string& part) -> std::optional<std::uint64_t> {
    if (part.empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(part.c_str(), &end, 10);
    if (errno || *end || part[0] == '-') fail_usage("--steps '" + text + "': expected A:B with step numbers");
    return value;
  };
  if (colon == std::string::npos) fail_usage("--steps '" + text + "': expected A:B (either side may be empty)");
  options.step_begin = number(text.substr(0, colon));
  options.step_end = number(text.substr(colon + 1));
  if (options.step_begin && options.step_end && *options.step_end <= *options.step_begin)
    fail_usage("--steps '" + text + "': the range is empty");
}

enum class ReportKind { json, csv, html };

// By the extension; a device or FIFO without one gets JSON. nullopt: not a report file name.
std::optional<ReportKind> report_kind(const std::string& path) {
  auto ends_with = [&](const char* suffix) {
    const std::size_t n = std::strlen(suffix);
    return path.size() > n && path.compare(path.size() - n, n, suffix) == 0;
  };
  if (ends_with(".csv")) return ReportKind::csv;
  if (ends_with(".html")) return ReportKind::html;
  if (ends_with(".json") || is_special_file(path)) return ReportKind::json;
  return std::nullopt;
}

TensorFormat weights_format(const std::string& path, const char* option) {
  const auto format = format_from_extension(path);
  if (format != TensorFormat::npz && format != TensorFormat::safetensors)
    fail_usage(std::string(option) + " '" + path + "': the file must end in .npz or .safetensors");
  return *format;
}

std::string fixed(double value, int precision) {
  if (!std::isfinite(value)) return "-";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", precision, value);
  return text;
}

std::string sci(const std::optional<double>& value) {
  if (!value || !std::isfinite(*value)) return "-";
  char text[64];
  std::snprintf(text, sizeof text, "%.3e", *value);
  return text;
}

void print_summary(const ReplayResult& result) {
  std::size_t warmup = 0;
  for (const auto& step : result.steps) warmup += step.warmup;
  std::printf("replay of %s: %zu learners, %zu steps (%zu warm-up), lr %g, momentum %g\n", result.dump.c_str(),
              result.learners, result.steps.size(), warmup, result.lr, result.momentum);
  std::printf("%-28s %-14s %6s %12s %11s %8s %8s %10s %10s\n", "tensor", "shape", "T", "raw_bytes", "wire_bytes",
              "ratio", "density", "update_err", "drift");
  auto row = [&](const TensorSummary& s, const std::string& shape, const std::string& T) {
    std::printf("%-28s %-14s %6s %12llu %11llu %8s %8s %10s %10s\n", s.name.c_str(), shape.c_str(), T.c_str(),
                static_cast<unsigned long long>(s.raw_bytes), static_cast<unsigned long long>(s.wire_bytes),
                fixed(s.ratio, 2).c_str(), fixed(s.mean_density, 4).c_str(), sci(s.mean_update_rel_l2).c_str(),
                sci(s.weight_drift).c_str());
  };
  for (const auto& s : result.tensors) row(s, shape_string(s.shape), s.bin_size ? std::to_string(s.bin_size) : "pass");
  row(result.total, "", "");
  std::printf(
      "update_err: mean over steps of ||avg decoded - avg exact|| / ||avg exact||; drift: ||w - w_baseline|| / "
      "||w_baseline|| after the last step%s\n",
      result.has_weights ? "" : " (no init weights in the dump: no drift)");
  if (result.learners > result.dump_learners)
    std::printf(
        "learners: %zu simulated by cycling the dump's %zu (learner l reads learner l mod %zu's gradients, with a "
        "residue of its own)\n",
        result.learners, result.dump_learners, result.dump_learners);
  if (result.has_final && result.final_comparison_skipped.empty())
    std::printf("baseline replay vs final weights of the dump: %s (relative L2)\n",
                sci(result.total.baseline_vs_final).c_str());
  else if (result.has_final)
    std::printf("baseline replay vs final weights of the dump: not compared, %s\n",
                result.final_comparison_skipped.c_str());
  StepTimes total;
  for (const auto& step : result.steps) {
    total.read += step.times.read;
    total.encode += step.times.encode;
    total.decode += step.times.decode;
    total.average += step.times.average;
    total.update += step.times.update;
    total.wall += step.times.wall;
  }
  const TensorSummary& all = result.total;
  std::printf(
      "entries: %llu bits, bound log2 C(n,k) + k %.0f bits (ratio %.3f); framing %.1f bytes per frame, "
      "stream overhead included in wire_bytes\n",
      static_cast<unsigned long long>(all.entry_bits), all.bound_bits,
      all.bound_bits > 0 ? static_cast<double>(all.entry_bits) / all.bound_bits : 0.0,
      all.frames ? static_cast<double>(all.framing_bytes) / static_cast<double>(all.frames) : 0.0);
  const double codec_share = total.wall > 0 ? (total.encode + total.decode) / total.wall : 0.0;
  std::printf(
      "time over all steps: read %.1f ms, encode %.1f ms, exchange/decode %.1f ms, average %.1f ms, "
      "update %.1f ms, wall %.1f ms (codec %.0f%% of wall; per step in --report)\n",
      total.read * 1e3, total.encode * 1e3, total.decode * 1e3, total.average * 1e3, total.update * 1e3,
      total.wall * 1e3, codec_share * 100);
  if (result.codecs.empty()) return;
  std::printf("\ncodecs side by side (same steps, learners and SGD; by ratio; * on the Pareto front of ratio vs %s):\n",
              result.has_weights ? "drift" : "update_err");
  std::printf("  %-44s %12s %9s %9s %10s %8s %10s %9s %9s\n", "codec", "bytes/step", "ratio_f32", "ratio_src",
              "update_err", "cosine", "drift", "enc_ns/el", "dec_ns/el");
  for (const CodecSummary& c : result.codecs) {
    const double per_step =
        result.steps.empty() ? 0.0 : static_cast<double>(c.payload_bytes) / static_cast<double>(result.steps.size());
    std::printf("%s %-44s %12.0f %9s %9s %10s %8s %10s %9s %9s\n", c.pareto ? "*" : " ", c.codec.c_str(), per_step,
                fixed(c.ratio_f32, 2).c_str(), fixed(c.ratio_source, 2).c_str(), sci(c.mean_update_rel_l2).c_str(),
                fixed(c.mean_update_cosine, 4).c_str(), sci(c.weight_drift).c_str(),
                fixed(c.encode_ns_per_element, 2).c_str(), fixed(c.decode_ns_per_element, 2).c_str());
  }
  for (const CodecSummary& c : result.codecs)
    if (!c.note.empty()) std::printf("  note, %s: %s\n", c.codec.c_str(), c.note.c_str());
}

void print_precision(const ReplayResult& result, const PrecisionOptions& precision) {
  if (!precision.active()) return;
  std::printf("\nprecision what-if: residue %s (%s), reduce %s (chunks of %zu, %s), weights %s (%s):\n",
              precision.residue.name().c_str(), std::string(rounding_name(precision.residue_rounding)).c_str(),
              precision.reduce ? precision.reduce->name().c_str() : "exact",
              precision.reduce_chunk ? precision.reduce_chunk : result.learners,
              std::string(rounding_name(precision.reduce_rounding)).c_str(), precision.weights.name().c_str(),
              std::string(rounding_name(precision.weights_rounding)).c_str());
  std::printf("  %-28s %10s %10s %10s %11s %10s\n", "tensor", "drift", "VRR", "reduce_err", "residue_err", "swamped");
  auto row = [](const TensorSummary& s) {
    std::printf("  %-28s %10s %10s %10s %11s %10s\n", s.name.c_str(), sci(s.weight_drift).c_str(),
                s.reduce_variance_retention ? fixed(*s.reduce_variance_retention, 6).c_str() : "-",
                sci(s.reduce_rel_error).c_str(), sci(s.residue_rel_l2).c_str(),
                s.residue_swamped_share ? fixed(*s.residue_swamped_share, 4).c_str() : "-");
  };
  for (const auto& s : result.tensors) row(s);
  row(result.total);
  std::printf(
      "  drift: ||w - w_baseline|| / ||w_baseline||, the baseline float32 with exact sums; VRR: Var(low-precision "
      "sums) / Var(exact sums); reduce_err: ||avg - avg_exact|| / ||avg_exact||; residue_err: ||r - r_float32 "
      "shadow|| / ||r_shadow||; swamped: share of |g| below half the residue's spacing; means over steps\n");
}

void print_network(const ReplayResult& result) {
  if (result.network.empty()) return;
  std::printf(
      "\nnetwork what-if (alpha-beta models, per compressed step, ms; * projected from the dump's mean per "
      "learner):\n");
  std::printf("  %-18s %8s %12s %12s %12s %12s %12s %9s  %s\n", "network", "learners", "dense_ring", "allgather",
              "param_server", "codec", "compressed", "speed-up", "compression pays");
  for (const NetworkProjection& n : result.network) {
    std::string pays = n.pays;
    if (n.breakeven_bandwidth) {
      char text[64];
      std::snprintf(text, sizeof text, " %.3g Gbit/s", *n.breakeven_bandwidth * 8 / 1e9);
      pays += text;
    }
    std::printf("  %-18s %7zu%s %12.3f %12.3f %12.3f %12.3f %12.3f %9.2f  %s\n", n.network.c_str(), n.learners,
                n.measured ? " " : "*", n.dense_allreduce * 1e3, n.ring_allgather * 1e3, n.parameter_server * 1e3,
                (n.encode + n.decode) * 1e3, n.compressed_step * 1e3, n.speedup, pays.c_str());
  }
}

int run_replay(ReplayCliOptions& cli) {
  ReplayOptions options;
  options.dump = cli.dump;
  options.learners = cli.learners;
  if (!cli.steps.empty()) parse_steps(cli.steps, options);
  options.settings = make_encode_settings(cli.codec);
  options.warmup_steps = cli.warmup_steps;
  options.lr = cli.lr;
  options.momentum = cli.momentum;
  options.threads = cli.threads;
  options.codecs = codecs::parse_specs(cli.codecs);
  options.seed = cli.seed;
  options.check_consistency = cli.check_consistency;
  for (const std::string& text : cli.network) options.network.push_back(parse_network(text));
  if (!cli.project_learners.empty() && options.network.empty())
    fail_usage("--project-learners projects the exchange of --network: give --network BW[,LAT] too");
  options.project_learners = cli.project_learners;
  options.precision = precision_options(cli);
  options.learners_scale = cli.learners_scale;

#ifdef ADACOMP_WITH_MPI
  // Under mpirun every rank runs this; a world of one is a replay in one process.
  std::optional<MpiWorld> mpi;
  if (launched_by_mpi()) mpi.emplace();
  if (mpi && mpi->size() > 1) options.collective = &*mpi;
#endif
  LocalCollective alone;
  Collective& world = options.collective ? *options.collective : alone;
  const bool lead = world.rank() == 0;  // rank 0 prints and writes; the others write nothing
  if (!lead) print_errors(false);

  // Every output is checked before the work and written only when all of it succeeded; none may
  // be an input, another output, or lie inside the dump. Over ranks, rank 0 does it and the others
  // learn whether it failed.
  AgreedLayout layout;
  std::unique_ptr<OutputFile> report, weights, baseline;
  std::optional<OutputDirectory> streams;
  // Over ranks every rank has the same error (on_every_rank): rank 0 says it, and no rank leaves
  // before it has (mpirun ends the job as soon as one rank exits with an error).
  auto leave_together = [&world](const Error& e) {
    const int code = report_error(e);
    world.all_gather({});
    return code;
  };
  try {
    on_every_rank(world, [&] {
      if (!lead) return;
      IoPlan plan;
      plan.add_input_tree(cli.dump, "the dump");
      if (!cli.report.empty()) plan.add_output(cli.report, "--report");
      if (!cli.save_weights.empty()) plan.add_output(cli.save_weights, "--save-weights");
      if (!cli.save_baseline.empty()) plan.add_output(cli.save_baseline, "--save-baseline");
      if (!cli.save_stream.empty()) plan.add_output_tree(cli.save_stream, "--save-stream");
      plan_layout(plan, cli.codec.layout);
      plan.check();
      if (!cli.codec.layout.empty()) {
        if (options.warmup_steps > 0)
          fail_usage(
              "--layout cannot be combined with --warmup-steps: warm-up frames are passthrough frames, which "
              "the layout does not describe");
        layout =
            agree_layout(cli.codec.layout, views_of(read_tensor_file(tensor_source(cli.dump), {})), options.settings);
        options.settings.layout = &layout.layout;
      }
      if (!cli.report.empty()) {
        if (report_kind(cli.report) == std::nullopt)
          fail_usage("--report '" + cli.report + "': the file must end in .json, .csv or .html");
        report = std::make_unique<OutputFile>(cli.report, cli.force);
      }
      if (!cli.save_weights.empty()) {
        weights_format(cli.save_weights, "--save-weights");
        weights = std::make_unique<OutputFile>(cli.save_weights, cli.force);
      }
      if (!cli.save_baseline.empty()) {
        weights_format(cli.save_baseline, "--save-baseline");
        baseline = std::make_unique<OutputFile>(cli.save_baseline, cli.force);
      }
      streams.emplace(cli.save_stream, cli.force, "--save-stream");
      options.stream_dir = streams->temp();  // rank 0 writes every learner's stream there
    });
    // Rank 0 agreed the layout from learner 0's file; the other ranks encode with the same one.
    if (world.size() > 1 && !cli.codec.layout.empty()) {
      const auto shared = world.all_gather(lead ? wire::layout_file_bytes(layout.layout) : std::vector<std::byte>{});
      if (!lead) {
        MemoryInput input(shared[0], cli.codec.layout + " (from rank 0)");
        layout.layout = wire::read_layout(input);
        options.settings.layout = &layout.layout;
      }
    }
  } catch (const Error& e) {
    if (world.size() < 2) throw;
    return leave_together(e);
  }

  const bool show_progress =
      lead && !cli.no_progress && cli.verbosity.level() >= 1 && (cli.progress || is_terminal(STDERR_FILENO));
  ProgressBar bar("replay", show_progress);
  options.progress = [&bar](std::size_t done, std::size_t total) { bar.update(done, total); };

  ReplayResult result;
  try {
    result = replay(options);
  } catch (const Error& e) {
    if (world.size() < 2) throw;
    return leave_together(e);
  }
  if (!lead) return kExitSuccess;

  if ((weights || baseline) && !result.has_weights)
    fail_usage(cli.dump + ": the dump has no init.npz, so there are no weights to save");
  if (report) {
    const std::string text = *report_kind(cli.report) == ReportKind::csv    ? replay_report_csv(result)
                             : *report_kind(cli.report) == ReportKind::html ? replay_report_html(result)
                                                                            : replay_report_json(result, options);
    report->write({reinterpret_cast<const std::byte*>(text.data()), text.size()});
  }
  auto write_to = [](OutputFile& file) { return [&file](std::span<const std::byte> piece) { file.write(piece); }; };
  if (weights) write_tensor_file(result.weights, weights_format(cli.save_weights, ""), write_to(*weights));
  if (baseline) write_tensor_file(result.baseline, weights_format(cli.save_baseline, ""), write_to(*baseline));
  commit_together({layout.file.get(), report.get(), weights.get(), baseline.get(), &*streams});
  if (cli.verbosity.level() >= 1) {
    print_summary(result);
    print_precision(result, options.precision);
    print_network(result);
    std::fflush(stdout);
    const auto& reproduction = result.total.baseline_vs_final;
    if (reproduction && !(*reproduction <= kFinalMismatchWarning))
      std::fprintf(stderr,
                   "adacomp: warning: %s: the baseline replay ends %.3e (relative L2) from %s, above %g: the "
                   "dump's lr, momentum or steps do not match meta.json (or --lr, --momentum)\n",
                   cli.dump.c_str(), *reproduction, result.final_file.c_str(), kFinalMismatchWarning);
  }
  return kExitSuccess;
}

}  // namespace

Command add_replay_command(CLI::App& parent) {
  auto cli = std::make_shared<ReplayCliOptions>();
  CLI::App* app = parent.add_subcommand(
      "replay", "Replay a gradient dump through the real wire format: bytes and fidelity of AdaComp vs exact SGD");
  app->add_option("dump", cli->dump, "Dump directory (format_spec/dump_layout.md)")->required();
  app->add_option("--learners", cli->learners, "Use the first N learners of each step (default: all)")
      ->check(integer_from(1));
  app->add_option("--steps", cli->steps, "Replay step numbers A to B-1 (A:B, either side may be empty)");
  add_codec_options(*app, cli->codec);
  app->add_option("--warmup-steps", cli->warmup_steps, "Send the first N replayed steps uncompressed")
      ->check(integer_from(0));
  app->add_option("--lr", cli->lr, "Learning rate (default: meta.json)")->check(number_above(0));
  app->add_option("--momentum", cli->momentum, "Momentum, from 0 up to 1 (default: meta.json, else 0)")
      ->check(number_from(0, 1, true));
  app->add_option("--threads", cli->threads, "Learners processed in parallel (results are identical)")
      ->default_val(1u)
      ->check(integer_from(1, kMaxThreads));
  app->add_option("--codec", cli->codecs,
                  "Compare this codec side by side: NAME[:KEY=VALUE,...] (repeatable; 'all': every codec; "
                  "`adacomp codecs` lists them)");
  app->add_option("--seed", cli->seed, "Seed of the stochastic codecs and roundings (default 0)");
  app->add_option("--report", cli->report,
                  "Write every figure to FILE (.json or .csv), or the codecs side by side as a page (.html)");
  app->add_option("--save-weights", cli->save_weights,
                  "Write the compressed replay's final weights (.npz/.safetensors)");
  app->add_option("--save-baseline", cli->save_baseline, "Write the baseline's final weights (.npz/.safetensors)");
  app->add_option("--save-stream", cli->save_stream, "Write every exchanged stream as DIR/step-NNNNN/learner-L.adc");
  app->add_flag("-f,--force", cli->force, "Replace existing output files");
  app->add_flag("--progress", cli->progress, "Show the progress bar even when stderr is not a terminal");
  app->add_flag("--no-progress", cli->no_progress, "Never show the progress bar");
  app->add_option("--network", cli->network,
                  "Project the exchange's time on a network of BW[,LAT], e.g. 10Gbit,5us (repeatable): ring "
                  "allgather, parameter server and a dense all-reduce (format_spec/dump_layout.md)");
  app->add_option("--project-learners", cli->project_learners,
                  "Learner counts to project --network for besides the dump's own (comma-separated)")
      ->delimiter(',')
      ->check(CLI::Range(std::size_t{2}, std::size_t{1} << 24));
  app->add_option("--residue-dtype", cli->residue_dtype,
                  "Precision what-if: keep each learner's residue in f32|f16|bf16 (rounded after every step)")
      ->capture_default_str();
  app->add_option("--residue-rounding", cli->residue_rounding, "nearest|stochastic (seeded by --seed)")
      ->capture_default_str();
  app->add_option("--reduce-dtype", cli->reduce_dtype,
                  "Accumulate the learners' sum in f32|f16|bf16|f8e5m2, learner by learner (default: exact)");
  app->add_option("--reduce-chunk", cli->reduce_chunk,
                  "Partial sums of N learners, then the sum of the partials (default: one chunk)")
      ->check(integer_from(1));
  app->add_option("--reduce-rounding", cli->reduce_rounding, "nearest|truncate")->capture_default_str();
  app->add_option("--weights-dtype", cli->weights_dtype,
                  "Store the compressed run's weights in f32|f16|bf16|fixed:IL.FL (rounded after every update)")
      ->capture_default_str();
  app->add_option("--weights-rounding", cli->weights_rounding, "nearest|stochastic (seeded by --seed)")
      ->capture_default_str();
  app->add_option("--learners-scale", cli->learners_scale,
                  "Simulate M learners by cycling the dump's, each with its own residue")
      ->check(integer_from(1));
  app->add_flag("--check-consistency", cli->check_consistency,
                "Under mpirun: compare the ranks' weights after every step (always after the last)");
  add_verbosity_flags(*app, cli->verbosity);
  return {app, [cli] { return run_replay(*cli); }};
}

}  // namespace adacomp::cli
