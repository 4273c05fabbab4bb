#pragma once
// The comparison codecs of `replay --codec` (replay-internal): each runs on the step's gradients
// with per-learner state, its payloads decoded and averaged, and its own SGD run, next to the
// replay's AdaComp run and baseline.
#include <memory>
#include <vector>

#include "adacomp/codecs.hpp"
#include "adacomp/metrics.hpp"
#include "adacomp/replay.hpp"
#include "replay/exchange.hpp"
#include "replay/training.hpp"

namespace adacomp::replay_detail {

class CodecRuns {
 public:
  // The codecs of `options` other than adacomp, each with fresh state per learner and tensor and
  // its own SGD run from `initial` (null: the dump has no weights); `momentum` is the replay's.
  CodecRuns(const ReplayOptions& options, const std::vector<Tensor>& layout, std::size_t learners,
            const SgdRun* initial, double momentum);
  ~CodecRuns();
  CodecRuns(const CodecRuns&) = delete;
  CodecRuns& operator=(const CodecRuns&) = delete;

  // One step: every codec on every learner's gradients (compressing only when `compress` and for
  // tensors not excluded), the mean of the decoded payloads against `exact`, and the SGD update.
  void step(const std::vector<LearnerOutput>& outputs, const std::vector<std::vector<float>>& exact,
            std::uint64_t step_number, bool compress, float lr, float momentum);

  // ReplayOptions::codecs in order, adacomp's from the replay's own figures, the others from their
  // runs; drifts against `baseline` (null: no weights).
  std::vector<CodecSummary> summaries(const ReplayResult& result, const SgdRun* adacomp_run,
                                      const SgdRun* baseline) const;

 private:
  struct Run;
  // Tensor t of one step through a codec of one round: the float64 sum of the decoded payloads.
  void exchange(Run& run, std::size_t t, const std::vector<LearnerOutput>& outputs, codecs::StepContext context,
                std::vector<double>& sum, std::uint64_t& step_bytes);
  // The same through a codec of all-reduce rounds: the update its last round stands for.
  void exchange_rounds(Run& run, std::size_t t, const std::vector<LearnerOutput>& outputs, codecs::StepContext context,
                       std::vector<float>& update, std::uint64_t& step_bytes);
  const ReplayOptions& options_;
  const std::vector<Tensor>& layout_;
  std::vector<std::unique_ptr<Run>> runs_;  // in the order of options.codecs, adacomp left out
  std::vector<float> decoded_;              // scratch: one learner's decoded payload
};

// Sorts by decreasing ratio_source and marks the Pareto front of ratio against drift (or, without
// weights, against the mean update error).
void rank_codecs(std::vector<CodecSummary>& summaries);

}  // namespace adacomp::replay_detail
