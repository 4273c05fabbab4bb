#include "adacomp/replay.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "adacomp/error.hpp"
#include "replay/codec_runs.hpp"
#include "replay/dump.hpp"
#include "replay/exchange.hpp"
#include "replay/network.hpp"
#include "replay/precision.hpp"
#include "replay/ranks.hpp"
#include "replay/summary.hpp"
#include "replay/timing.hpp"
#include "replay/training.hpp"

namespace adacomp {

// The steps of the dump in order: the learners' exchange, their average and the SGD update of
// both runs, then the summaries (replay/: dump, exchange, training, summary). Over several ranks
// (replay/ranks), each rank runs its block of learners, the streams go to every rank, and every
// rank averages and updates the same way; every step that can fail on one rank is agreed on.
ReplayResult replay(const ReplayOptions& options) {
  using namespace replay_detail;
  LocalCollective local;
  Collective& world = options.collective ? *options.collective : local;
  const std::size_t ranks = world.size(), rank = world.rank();
  Dump dump;
  ReplayResult result;
  std::size_t learners = 0;
  std::vector<std::vector<bool>> local_files;  // over ranks: [step][learner] on this rank's disk
  on_every_rank(world, [&] { dump = discover(options, ranks > 1); });
  if (ranks > 1) on_every_rank(world, [&] { merge_learner_files(world, dump, local_files); });
  on_every_rank(world, [&] {
    const std::size_t available = dump.steps.front().learner_files.size();
    learners = options.learners.value_or(available);
    if (learners < 1 || learners > available)
      fail_usage("--learners " + std::to_string(learners) + ": the dump has " + std::to_string(available) +
                 " learners");
    result.dump_learners = learners;
    if (options.learners_scale) {
      if (options.learners_scale < learners)
        fail_usage("--learners-scale " + std::to_string(options.learners_scale) + ": must be at least the " +
                   std::to_string(learners) + " learners replayed (use --learners for fewer)");
      if (!options.codecs.empty())
        fail_usage(
            "--learners-scale cannot be combined with --codec: the comparison codecs replay the dump's learners");
      learners = options.learners_scale;
    }
    if (options.precision.active() && !options.codecs.empty())
      fail_usage("the precision what-if cannot be combined with --codec: it changes only AdaComp's run");
    if (ranks > 1 && (options.precision.active() || options.learners_scale))
      fail_usage("the precision what-if and --learners-scale run in one process (run without mpirun)");
    if (options.precision.reduce_chunk > 0 && !options.precision.reduce)
      fail_usage("--reduce-chunk applies to --reduce-dtype: give a reduce format too");
    if (ranks > learners)
      fail_usage(std::to_string(ranks) + " ranks for " + std::to_string(learners) +
                 " learners: every rank replays at least one learner (use at most " + std::to_string(learners) +
                 " ranks)");
    if (ranks > 1 && !options.codecs.empty())
      fail_usage(
          "--codec runs in one process: the comparison codecs need every learner's gradients (run without "
          "mpirun)");
    result.dump = options.dump;
    result.learners = learners;
    result.has_weights = dump.init.has_value();
    const auto meta_lr = meta_number(dump, "lr");
    const auto meta_momentum = meta_number(dump, "momentum");
    if (meta_lr && !options.lr && !(std::isfinite(*meta_lr) && *meta_lr > 0))
      fail_input(dump.meta_file.string() + ": 'lr' must be a number above 0 (or give --lr)");
    if (meta_momentum && !options.momentum && !(*meta_momentum >= 0 && *meta_momentum < 1))
      fail_input(dump.meta_file.string() + ": 'momentum' must be from 0 up to (not including) 1 (or give --momentum)");
    if (options.lr && !(std::isfinite(*options.lr) && *options.lr > 0))
      fail_usage("--lr must be a finite number above 0");
    if (options.momentum && !(*options.momentum >= 0 && *options.momentum < 1))
      fail_usage("--momentum must be a number from 0 up to (not including) 1");
    result.lr = options.lr.value_or(meta_lr.value_or(0.0));
    result.momentum = options.momentum.value_or(meta_momentum.value_or(0.0));
    if (dump.init && !options.lr && !meta_lr)
      fail_usage(options.dump +
                 ": init weights are present but the learning rate is unknown: meta.json has no "
                 "'lr' and --lr is not given");
    result.final_comparison_skipped = final_comparison_skipped(dump, learners, available);
  });

  std::vector<LearnerBlock> blocks;
  for (std::size_t r = 0; r < ranks; ++r) blocks.push_back(learner_block(learners, ranks, r));
  const LearnerBlock own = blocks[rank];
  if (ranks > 1) on_every_rank(world, [&] { check_own_files(dump, local_files, own, rank); });
  std::vector<ResidueMap> residues(learners), shadows(learners);
  std::vector<Tensor> layout;
  fs::path layout_file;
  SgdRun compressed, baseline;
  const unsigned threads =
      std::max(1u, std::min<unsigned>(options.threads, static_cast<unsigned>(own.last - own.first)));
  const float lr = static_cast<float>(result.lr), momentum = static_cast<float>(result.momentum);
  StepAverages averages;
  std::optional<CodecRuns> codec_runs;  // with --codec, once the layout is known
  std::vector<double> exact_sum;        // over ranks: the baseline's sum, carried through the ranks
  RankFigures figures;
  figures.learners = own.last - own.first;

  for (std::size_t s = 0; s < dump.steps.size(); ++s) {
    const DumpStep& dump_step = dump.steps[s];
    const auto step_start = Clock::now();
    // --learners-scale: learner l reads the dump's learner l mod dump_learners
    std::vector<fs::path> cycled;
    for (std::size_t l = 0; options.learners_scale && l < learners; ++l)
      cycled.push_back(dump_step.learner_files[l % result.dump_learners]);
    StepExchange step{options.learners_scale ? &cycled : &dump_step.learner_files,
                      dump_step.number,
                      s >= options.warmup_steps,
                      nullptr,
                      {},
                      ranks > 1};
    std::vector<LearnerOutput> outputs(learners);
    // Learner 0 of the first step defines the layout; the others are checked against it.
    std::size_t first = own.first;
    if (layout.empty()) {
      on_every_rank(world, [&] {
        if (rank != 0) return;
        exchange_learners(step, 0, 1, 1, residues, shadows, options, outputs);
        if (outputs[0].error) std::rethrow_exception(outputs[0].error);
      });
      const auto shared = world.all_gather(rank == 0 ? layout_bytes(outputs[0].gradients) : std::vector<std::byte>{});
      layout = layout_from_bytes(shared[0]);
      layout_file = dump_step.learner_files[0];
      on_every_rank(world, [&] {
        check_meta_parameters(dump, layout, layout_file);
        if (dump.init) {
          compressed = SgdRun(read_weights(*dump.init, layout));
          baseline = compressed;
          compressed.store_in(options.precision.weights, options.precision.weights_rounding, options.seed);
        }
        if (!options.codecs.empty())
          codec_runs.emplace(options, layout, learners, dump.init ? &compressed : nullptr, result.momentum);
      });
      if (rank == 0) first = 1;
    }
    step.layout = &layout;
    step.layout_file = layout_file;
    on_every_rank(world, [&] {
      exchange_learners(step, first, own.last, threads, residues, shadows, options, outputs);
      for (std::size_t l = own.first; l < own.last; ++l)
        if (outputs[l].error) std::rethrow_exception(outputs[l].error);
    });
    for (std::size_t l = own.first; l < own.last; ++l) {
      figures.read += outputs[l].read;
      figures.encode += outputs[l].encode;
      figures.decode += outputs[l].decode;
    }
    if (ranks > 1) {
      on_every_rank(world, [&] {
        share_learners(world, blocks, options, dump_step.number, outputs, figures.exchange, figures.decode);
      });
      std::size_t total = 0;
      for (const Tensor& t : layout) total += t.size();
      exact_sum.resize(total);
      const auto start = Clock::now();
      world.ordered_sum(exact_sum, [&](std::span<double> sum) {
        for (std::size_t l = own.first; l < own.last; ++l) {
          std::size_t offset = 0;
          for (const Tensor& g : outputs[l].gradients) {
            const auto values = g.flat();
            for (std::size_t i = 0; i < values.size(); ++i) sum[offset + i] += values[i];
            offset += values.size();
          }
        }
      });
      figures.exchange += seconds_since(start);
    }

    StepStats stats;
    stats.step = dump_step.number;
    stats.warmup = !step.compress;
    stats.tensors.resize(layout.size());
    add_exchange_figures(outputs, layout, stats);

    const auto average_start = Clock::now();
    average_learners(outputs, layout, threads, stats, averages, ranks > 1 ? &exact_sum : nullptr);
    stats.times.average = seconds_since(average_start);
    // The what-if after the timed phases: it is not the exchange's cost.
    if (options.precision.reduce) reduce_in_format(outputs, layout, options.precision, stats, averages.compressed);
    for (const auto& out : outputs)
      for (std::size_t t = 0; t < out.precision.size(); ++t) stats.tensors[t].precision.merge(out.precision[t]);
    if (!options.network.empty())  // what a parameter server would send back
      for (std::size_t t = 0; t < layout.size(); ++t)
        stats.tensors[t].update_nonzeros = static_cast<std::uint64_t>(std::count_if(
            averages.compressed[t].begin(), averages.compressed[t].end(), [](float v) { return v != 0.0f; }));

    const auto update_start = Clock::now();
    if (dump.init) {
      compressed.step(averages.compressed, lr, momentum, dump_step.number);
      baseline.step(averages.exact, lr, momentum);
    }
    stats.times.update = seconds_since(update_start);
    stats.times.wall = seconds_since(step_start);
    figures.average += stats.times.average;
    figures.update += stats.times.update;
    figures.wall += stats.times.wall;
    if (options.check_consistency) {
      on_every_rank(world, [&] {
        check_weights_agree(world, compressed.weights, "after step " + std::to_string(dump_step.number));
      });
    }
    // After the wall time: the comparison codecs are not part of the replay's own exchange.
    if (codec_runs) codec_runs->step(outputs, averages.exact, dump_step.number, step.compress, lr, momentum);
    result.steps.push_back(std::move(stats));
    if (options.progress) options.progress(s + 1, dump.steps.size());
  }
  on_every_rank(world, [&] { check_weights_agree(world, compressed.weights, "after the last step"); });

  std::vector<Tensor> final_weights;
  on_every_rank(world, [&] {
    if (dump.final && dump.init) final_weights = read_weights(*dump.final, layout);
  });
  result.has_final = !final_weights.empty();
  if (result.has_final) result.final_file = dump.final->string();
  const bool compare_final = result.has_final && result.final_comparison_skipped.empty();
  summarize(options, layout, dump.init ? &compressed : nullptr, dump.init ? &baseline : nullptr,
            compare_final ? &final_weights : nullptr, result);
  if (codec_runs)
    result.codecs = codec_runs->summaries(result, dump.init ? &compressed : nullptr, dump.init ? &baseline : nullptr);
  if (!options.network.empty()) {
    const NetworkInputs inputs = network_inputs(result);
    if (!inputs.learner_bytes.empty())
      for (const NetworkSetting& setting : options.network) {
        result.network.push_back(project_network(setting, inputs, learners, true));
        for (std::size_t w : options.project_learners)
          if (w != learners) result.network.push_back(project_network(setting, inputs, w, false));
      }
  }
  figures.peak_rss_bytes = peak_rss_bytes();
  result.ranks = gather_rank_figures(world, figures);
  result.weights = std::move(compressed.weights);
  result.baseline = std::move(baseline.weights);
  return result;
}

}  // namespace adacomp
