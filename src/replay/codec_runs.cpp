#include "replay/codec_runs.hpp"

#include <algorithm>
#include <cstdio>

#include "adacomp/error.hpp"
#include "replay/timing.hpp"

namespace adacomp::replay_detail {

struct CodecRuns::Run {
  codecs::CodecSpec spec;
  codecs::Aggregation aggregation = codecs::Aggregation::mean;
  std::vector<std::vector<std::unique_ptr<codecs::TensorCodec>>> learners;       // [learner][tensor]
  std::vector<std::vector<std::unique_ptr<codecs::RoundCodec>>> round_learners;  // the same, for rounds codecs
  std::vector<bool> corrects_momentum;  // per tensor: the codec applies the momentum (DGC)
  SgdRun sgd;
  std::vector<std::uint64_t> step_bytes, tensor_bytes;
  std::vector<double> step_rel_l2, tensor_rel_l2_sum, tensor_cosine_sum;
  double rel_l2_sum = 0, cosine_sum = 0;
  double encode_seconds = 0, decode_seconds = 0;
  std::uint64_t coded_elements = 0;
};

namespace {

// `dgc:momentum=replay` becomes the replay's momentum, so that DGC's correction is the optimizer's.
codecs::CodecSpec resolved(codecs::CodecSpec spec, double momentum) {
  auto it = spec.values.find("momentum");
  if (it != spec.values.end() && it->second == "replay") {
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", momentum);
    it->second = text;
  }
  return spec;
}

struct Counters {
  double &encode_seconds, &decode_seconds;
  std::uint64_t &tensor_bytes, &step_bytes;
};

// One learner's payload from `send`, given to `receive`: timed, counted, its errors naming the
// codec, step and learner.
template <typename Send, typename Receive>
void transfer(const codecs::CodecSpec& spec, std::uint64_t step, std::size_t learner, Counters counters, Send send,
              Receive receive) {
  try {
    auto start = Clock::now();
    const std::vector<std::byte> payload = send();
    counters.encode_seconds += seconds_since(start);
    start = Clock::now();
    receive(payload);
    counters.decode_seconds += seconds_since(start);
    counters.tensor_bytes += payload.size();
    counters.step_bytes += payload.size();
  } catch (const Error& e) {
    throw Error(e.kind(), "--codec " + spec.text() + ", step " + std::to_string(step) + ", learner " +
                              std::to_string(learner) + ": " + e.what());
  }
}

}  // namespace

CodecRuns::CodecRuns(const ReplayOptions& options, const std::vector<Tensor>& layout, std::size_t learners,
                     const SgdRun* initial, double momentum)
    : options_(options), layout_(layout) {
  for (const codecs::CodecSpec& given : options.codecs) {
    if (given.name == "adacomp") continue;
    auto run = std::make_unique<Run>();
    run->spec = resolved(given, momentum);
    run->aggregation = codecs::codec_info(run->spec.name).aggregation;
    const bool rounds = run->aggregation == codecs::Aggregation::rounds;
    (rounds ? run->round_learners.resize(learners) : run->learners.resize(learners));
    for (std::size_t l = 0; l < learners; ++l)
      for (const Tensor& t : layout) {
        if (rounds)
          run->round_learners[l].push_back(codecs::make_round_codec(run->spec, t.name, t.shape()));
        else
          run->learners[l].push_back(codecs::make_tensor_codec(run->spec, t.name, t.shape()));
      }
    for (std::size_t t = 0; t < layout.size(); ++t)
      run->corrects_momentum.push_back(!rounds && learners > 0 && run->learners[0][t]->corrects_momentum());
    if (initial) run->sgd = *initial;
    run->tensor_bytes.assign(layout.size(), 0);
    run->tensor_rel_l2_sum.assign(layout.size(), 0.0);
    run->tensor_cosine_sum.assign(layout.size(), 0.0);
    runs_.push_back(std::move(run));
  }
}

CodecRuns::~CodecRuns() = default;

void CodecRuns::exchange(Run& run, std::size_t t, const std::vector<LearnerOutput>& outputs,
                         codecs::StepContext context, std::vector<double>& sum, std::uint64_t& step_bytes) {
  const std::size_t n = layout_[t].size();
  sum.assign(n, 0.0);
  decoded_.resize(n);
  for (std::size_t l = 0; l < outputs.size(); ++l) {
    const auto gradient = outputs[l].gradients[t].flat();
    context.learner = l;
    transfer(
        run.spec, context.step, l, {run.encode_seconds, run.decode_seconds, run.tensor_bytes[t], step_bytes},
        [&] { return run.learners[l][t]->encode(gradient, context); },
        [&](const std::vector<std::byte>& payload) { run.learners[l][t]->decode(payload, context, decoded_); });
    for (std::size_t i = 0; i < n; ++i) sum[i] += decoded_[i];
  }
}

void CodecRuns::exchange_rounds(Run& run, std::size_t t, const std::vector<LearnerOutput>& outputs,
                                codecs::StepContext context, std::vector<float>& update, std::uint64_t& step_bytes) {
  const std::size_t n = layout_[t].size();
  auto& codecs_of = run.round_learners;
  const std::size_t rounds = codecs_of.empty() ? 0 : codecs_of[0][t]->rounds();
  std::vector<double> previous, sum;
  for (std::size_t r = 0; r < rounds; ++r) {
    const std::size_t size = codecs_of[0][t]->round_size(r);
    sum.assign(size, 0.0);
    decoded_.resize(size);
    for (std::size_t l = 0; l < outputs.size(); ++l) {
      context.learner = l;
      transfer(
          run.spec, context.step, l, {run.encode_seconds, run.decode_seconds, run.tensor_bytes[t], step_bytes},
          [&] { return codecs_of[l][t]->send(r, outputs[l].gradients[t].flat(), previous, context); },
          [&](const std::vector<std::byte>& payload) { codecs_of[l][t]->receive(r, payload, decoded_); });
      for (std::size_t i = 0; i < size; ++i) sum[i] += decoded_[i];
    }
    previous.swap(sum);
  }
  update.resize(n);
  auto start = Clock::now();
  for (std::size_t l = 0; l < outputs.size(); ++l) {
    // every learner finishes from the same sums: its update is learner 0's, its memory its own
    decoded_.resize(n);
    codecs_of[l][t]->finish(previous, outputs.size(), l == 0 ? std::span<float>(update) : std::span<float>(decoded_));
  }
  run.decode_seconds += seconds_since(start);
}

void CodecRuns::step(const std::vector<LearnerOutput>& outputs, const std::vector<std::vector<float>>& exact,
                     std::uint64_t step_number, bool compress, float lr, float momentum) {
  std::vector<std::vector<float>> average(layout_.size());
  std::vector<double> sum;
  std::vector<float> momenta(layout_.size());
  for (auto& run : runs_) {
    std::uint64_t step_bytes = 0;
    ErrorStats step_error;
    for (std::size_t t = 0; t < layout_.size(); ++t) {
      const std::size_t n = layout_[t].size();
      const bool coded = compress && !options_.settings.excluded(layout_[t].name);
      const codecs::StepContext context{step_number, options_.seed, t, 0};
      momenta[t] = coded && run->corrects_momentum[t] ? 0.0f : momentum;
      average[t].resize(n);
      if (coded && run->aggregation == codecs::Aggregation::rounds) {
        exchange_rounds(*run, t, outputs, context, average[t], step_bytes);
        run->coded_elements += n * outputs.size();
      } else {
        if (coded) {
          exchange(*run, t, outputs, context, sum, step_bytes);
          run->coded_elements += n * outputs.size();
        } else {
          sum.assign(n, 0.0);
          for (const LearnerOutput& output : outputs) {
            const auto gradient = output.gradients[t].flat();
            for (std::size_t i = 0; i < n; ++i) sum[i] += gradient[i];
          }
          run->tensor_bytes[t] += 4 * n * outputs.size();  // sent as float32
          step_bytes += 4 * n * outputs.size();
        }
        // What is sent uncompressed (warm-up steps, excluded tensors) is averaged, whatever the codec.
        const auto aggregation = coded ? run->aggregation : codecs::Aggregation::mean;
        for (std::size_t i = 0; i < n; ++i) average[t][i] = codecs::aggregate(aggregation, sum[i], outputs.size());
      }
      ErrorStats error;
      error.add(average[t], exact[t]);
      run->tensor_rel_l2_sum[t] += error.rel_l2();
      run->tensor_cosine_sum[t] += error.cosine();
      step_error.merge(error);
    }
    run->rel_l2_sum += step_error.rel_l2();
    run->step_rel_l2.push_back(step_error.rel_l2());
    run->cosine_sum += step_error.cosine();
    run->step_bytes.push_back(step_bytes);
    if (!run->sgd.weights.empty()) run->sgd.step(average, lr, momenta);
  }
}

namespace {

std::optional<double> drift(const std::vector<Tensor>& weights, const SgdRun* baseline, std::optional<std::size_t> t) {
  if (!baseline || weights.empty()) return std::nullopt;
  ErrorStats stats;
  for (std::size_t i = 0; i < weights.size(); ++i)
    if (!t || *t == i) stats.add(weights[i].flat(), baseline->weights[i].flat());
  return stats.rel_l2();
}

}  // namespace

std::vector<CodecSummary> CodecRuns::summaries(const ReplayResult& result, const SgdRun* adacomp_run,
                                               const SgdRun* baseline) const {
  std::uint64_t f32_bytes = 0, source_bytes = 0;
  std::vector<std::uint64_t> tensor_f32(layout_.size()), tensor_source(layout_.size());
  for (std::size_t t = 0; t < layout_.size(); ++t) {
    tensor_f32[t] = 4 * layout_[t].size() * result.learners * result.steps.size();
    tensor_source[t] = result.tensors[t].raw_bytes;
    f32_bytes += tensor_f32[t];
    source_bytes += tensor_source[t];
  }
  const double steps = static_cast<double>(result.steps.size());
  std::vector<CodecSummary> out;
  auto run = runs_.begin();
  for (const codecs::CodecSpec& spec : options_.codecs) {
    CodecSummary s;
    s.codec = spec.text();
    s.f32_bytes = f32_bytes;
    s.source_bytes = source_bytes;
    if (spec.name == "adacomp") {
      for (const StepStats& step : result.steps) {
        std::uint64_t bytes = step.stream_overhead_bytes;
        for (const auto& ts : step.tensors) bytes += ts.wire_bytes;
        s.step_bytes.push_back(bytes);
        s.step_update_rel_l2.push_back(step.update_rel_l2);
        s.mean_update_rel_l2 += step.update_rel_l2 / steps;
        s.mean_update_cosine += step.update_cosine / steps;
        s.encode_ns_per_element += step.times.encode;
        s.decode_ns_per_element += step.times.decode;
      }
      s.payload_bytes = result.total.wire_bytes;
      std::uint64_t elements = 0;
      for (std::size_t t = 0; t < layout_.size(); ++t) {
        CodecTensorSummary ts;
        ts.name = layout_[t].name;
        ts.payload_bytes = result.tensors[t].wire_bytes;
        for (const StepStats& step : result.steps) {
          ts.mean_update_rel_l2 += step.tensors[t].update_rel_l2 / steps;
          ts.mean_update_cosine += step.tensors[t].update_cosine / steps;
          if (step.tensors[t].compressed) elements += layout_[t].size() * result.learners;
        }
        ts.weight_drift = adacomp_run ? drift(adacomp_run->weights, baseline, t) : std::nullopt;
        ts.ratio_f32 = ratio_or_nan(static_cast<double>(tensor_f32[t]), static_cast<double>(ts.payload_bytes));
        ts.ratio_source = ratio_or_nan(static_cast<double>(tensor_source[t]), static_cast<double>(ts.payload_bytes));
        s.tensors.push_back(std::move(ts));
      }
      // encode and decode are timed per learner stream: the whole stream's time over its coded elements
      s.encode_ns_per_element = elements ? 1e9 * s.encode_ns_per_element / static_cast<double>(elements) : 0.0;
      s.decode_ns_per_element = elements ? 1e9 * s.decode_ns_per_element / static_cast<double>(elements) : 0.0;
      s.weight_drift = adacomp_run ? drift(adacomp_run->weights, baseline, std::nullopt) : std::nullopt;
    } else {
      const Run& r = **run++;
      s.codec = r.spec.text();
      std::size_t uncorrected = 0;
      for (bool c : r.corrects_momentum) uncorrected += c;
      if (uncorrected)
        s.note = "the replay's SGD ran the " + std::to_string(uncorrected) +
                 " tensors this codec compresses without momentum: the codec applies it (momentum correction)";
      s.step_bytes = r.step_bytes;
      s.step_update_rel_l2 = r.step_rel_l2;
      for (auto b : r.step_bytes) s.payload_bytes += b;
      s.mean_update_rel_l2 = r.rel_l2_sum / steps;
      s.mean_update_cosine = r.cosine_sum / steps;
      const double elements = static_cast<double>(r.coded_elements);
      s.encode_ns_per_element = elements > 0 ? 1e9 * r.encode_seconds / elements : 0.0;
      s.decode_ns_per_element = elements > 0 ? 1e9 * r.decode_seconds / elements : 0.0;
      s.weight_drift = drift(r.sgd.weights, baseline, std::nullopt);
      for (std::size_t t = 0; t < layout_.size(); ++t) {
        CodecTensorSummary ts;
        ts.name = layout_[t].name;
        ts.payload_bytes = r.tensor_bytes[t];
        ts.mean_update_rel_l2 = r.tensor_rel_l2_sum[t] / steps;
        ts.mean_update_cosine = r.tensor_cosine_sum[t] / steps;
        ts.weight_drift = drift(r.sgd.weights, baseline, t);
        ts.ratio_f32 = ratio_or_nan(static_cast<double>(tensor_f32[t]), static_cast<double>(ts.payload_bytes));
        ts.ratio_source = ratio_or_nan(static_cast<double>(tensor_source[t]), static_cast<double>(ts.payload_bytes));
        s.tensors.push_back(std::move(ts));
      }
    }
    s.ratio_f32 = ratio_or_nan(static_cast<double>(f32_bytes), static_cast<double>(s.payload_bytes));
    s.ratio_source = ratio_or_nan(static_cast<double>(source_bytes), static_cast<double>(s.payload_bytes));
    out.push_back(std::move(s));
  }
  rank_codecs(out);
  return out;
}

void rank_codecs(std::vector<CodecSummary>& summaries) {
  std::stable_sort(summaries.begin(), summaries.end(),
                   [](const CodecSummary& a, const CodecSummary& b) { return a.ratio_source > b.ratio_source; });
  auto fidelity = [](const CodecSummary& s) { return s.weight_drift.value_or(s.mean_update_rel_l2); };
  for (auto& s : summaries) {
    s.pareto = true;
    for (const auto& other : summaries) {
      if (&other == &s) continue;
      const bool as_good = other.ratio_source >= s.ratio_source && fidelity(other) <= fidelity(s);
      const bool better = other.ratio_source > s.ratio_source || fidelity(other) < fidelity(s);
      if (as_good && better) s.pareto = false;
    }
  }
}

}  // namespace adacomp::replay_detail
