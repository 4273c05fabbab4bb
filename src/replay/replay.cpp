#include "adacomp/replay.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "adacomp/error.hpp"
#include "replay/codec_runs.hpp"
#include "replay/dump.hpp"
#include "replay/exchange.hpp"
#include "replay/summary.hpp"
#include "replay/timing.hpp"
#include "replay/training.hpp"

namespace adacomp {

// The steps of the dump in order: the learners' exchange, their average and the SGD update of
// both runs, then the summaries (replay/: dump, exchange, training, summary).
ReplayResult replay(const ReplayOptions& options) {
  using namespace replay_detail;
  const Dump dump = discover(options);
  const std::size_t available = dump.steps.front().learner_files.size();
  const std::size_t learners = options.learners.value_or(available);
  if (learners < 1 || learners > available)
    fail_usage("--learners " + std::to_string(learners) + ": the dump has " + std::to_string(available) + " learners");

  ReplayResult result;
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

  std::vector<ResidueMap> residues(learners);
  std::vector<Tensor> layout;
  fs::path layout_file;
  SgdRun compressed, baseline;
  const unsigned threads = std::max(1u, std::min<unsigned>(options.threads, static_cast<unsigned>(learners)));
  const float lr = static_cast<float>(result.lr), momentum = static_cast<float>(result.momentum);
  StepAverages averages;
  std::optional<CodecRuns> codec_runs;  // with --codec, once the layout is known

  for (std::size_t s = 0; s < dump.steps.size(); ++s) {
    const DumpStep& dump_step = dump.steps[s];
    const auto step_start = Clock::now();
    StepExchange step{&dump_step.learner_files, dump_step.number, s >= options.warmup_steps, nullptr, {}};
    std::vector<LearnerOutput> outputs(learners);
    // Learner 0 of the first step defines the layout; the others are checked against it.
    std::size_t first = 0;
    if (layout.empty()) {
      exchange_learners(step, 0, 1, 1, residues, options, outputs);
      if (outputs[0].error) std::rethrow_exception(outputs[0].error);
      layout_file = dump_step.learner_files[0];
      for (const Tensor& t : outputs[0].gradients) layout.push_back(make_tensor(t.name, t.dtype, t.shape()));
      check_meta_parameters(dump, layout, layout_file);
      if (dump.init) {
        compressed = SgdRun(read_weights(*dump.init, layout));
        baseline = compressed;
      }
      if (!options.codecs.empty())
        codec_runs.emplace(options, layout, learners, dump.init ? &compressed : nullptr, result.momentum);
      first = 1;
    }
    step.layout = &layout;
    step.layout_file = layout_file;
    exchange_learners(step, first, learners, threads, residues, options, outputs);
    for (const auto& out : outputs)
      if (out.error) std::rethrow_exception(out.error);

    StepStats stats;
    stats.step = dump_step.number;
    stats.warmup = !step.compress;
    stats.tensors.resize(layout.size());
    add_exchange_figures(outputs, layout, stats);

    const auto average_start = Clock::now();
    average_learners(outputs, layout, threads, stats, averages);
    stats.times.average = seconds_since(average_start);

    const auto update_start = Clock::now();
    if (dump.init) {
      compressed.step(averages.compressed, lr, momentum);
      baseline.step(averages.exact, lr, momentum);
    }
    stats.times.update = seconds_since(update_start);
    stats.times.wall = seconds_since(step_start);
    // After the wall time: the comparison codecs are not part of the replay's own exchange.
    if (codec_runs) codec_runs->step(outputs, averages.exact, dump_step.number, step.compress, lr, momentum);
    result.steps.push_back(std::move(stats));
    if (options.progress) options.progress(s + 1, dump.steps.size());
  }

  std::vector<Tensor> final_weights;
  if (dump.final && dump.init) final_weights = read_weights(*dump.final, layout);
  result.has_final = !final_weights.empty();
  if (result.has_final) result.final_file = dump.final->string();
  const bool compare_final = result.has_final && result.final_comparison_skipped.empty();
  summarize(options, layout, dump.init ? &compressed : nullptr, dump.init ? &baseline : nullptr,
            compare_final ? &final_weights : nullptr, result);
  if (codec_runs)
    result.codecs = codec_runs->summaries(result, dump.init ? &compressed : nullptr, dump.init ? &baseline : nullptr);
  result.weights = std::move(compressed.weights);
  result.baseline = std::move(baseline.weights);
  return result;
}

}  // namespace adacomp
