// Google Benchmark programs for the codec's hot paths, next to the loops that bound them.
// `adacomp bench` is the user-facing report; these are for developers working on a kernel:
// per-kernel and per-bin-size series, with counters in elements/s and bytes/s of float32 input.
//
//   build/bench/adacomp_benchmarks --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "adacomp/codec.hpp"
#include "adacomp/kernels.hpp"
#include "adacomp/residue.hpp"
#include "bench_harness.hpp"

namespace {

constexpr std::size_t kElements = std::size_t{1} << 24;  // the 16M-element tensor of the targets

const std::vector<float>& gradient() {
  static const std::vector<float> values = adacomp::synthetic_gradient(kElements, "laplace", 1.0, 1e-3, 1);
  return values;
}

const std::vector<float>& prior_residue() {
  static const std::vector<float> values = adacomp::synthetic_gradient(kElements, "laplace", 1.0, 5e-4, 2);
  return values;
}

// Generating the inputs takes longer than a run: done before any timing starts.
const bool inputs_ready = [] {
  gradient();
  prior_residue();
  return true;
}();

void set_rates(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kElements));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kElements * sizeof(float)));
}

// A training step's encode: a kept Residue whose previous step left its correction pending,
// restored outside the timed region. args: bin size, threads.
void encode_step(benchmark::State& state, const std::string& kernel) {
  adacomp::select_kernel(kernel);
  const auto bin_size = static_cast<std::uint32_t>(state.range(0));
  const auto threads = static_cast<unsigned>(state.range(1));
  adacomp::Tensor start = adacomp::make_tensor("bench", adacomp::DType::f32, {kElements});
  std::copy(prior_residue().begin(), prior_residue().end(), start.values.begin());
  adacomp::Residue prepared(std::move(start));
  prepared.step(gradient(), bin_size, 2.0f, "bench", threads);
  adacomp::Residue kept = prepared;
  for (auto _ : state) {
    state.PauseTiming();
    kept = prepared;
    state.ResumeTiming();
    benchmark::DoNotOptimize(kept.step(gradient(), bin_size, 2.0f, "bench", threads));
  }
  set_rates(state);
  adacomp::select_kernel("auto");
}

// A kept residue's steps on a tensor that stays in the L2 cache (32 Ki elements, as many a
// convolution layer): the selection's own speed, without the memory traffic of the 16M tensor.
// The gradient alternates in sign so that the residue stays bounded. args: bin size.
void encode_step_in_cache(benchmark::State& state, const std::string& kernel) {
  constexpr std::size_t kInCache = std::size_t{1} << 15;
  adacomp::select_kernel(kernel);
  const auto bin_size = static_cast<std::uint32_t>(state.range(0));
  const std::vector<float> plus(gradient().begin(), gradient().begin() + kInCache);
  std::vector<float> minus(plus);
  for (float& x : minus) x = -x;
  adacomp::Tensor start = adacomp::make_tensor("bench", adacomp::DType::f32, {kInCache});
  std::copy(prior_residue().begin(), prior_residue().begin() + kInCache, start.values.begin());
  adacomp::Residue kept(std::move(start));
  bool sign = false;
  for (auto _ : state) {
    benchmark::DoNotOptimize(kept.step(sign ? minus : plus, bin_size, 2.0f, "bench", 1));
    sign = !sign;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kInCache));
  adacomp::select_kernel("auto");
}

// compress() on a plain residue, which it corrects in a second pass; restored outside the
// timed region. args: bin size, threads.
void encode_one_shot(benchmark::State& state, const std::string& kernel) {
  adacomp::select_kernel(kernel);
  const auto bin_size = static_cast<std::uint32_t>(state.range(0));
  const auto threads = static_cast<unsigned>(state.range(1));
  std::vector<float> residue(kElements);
  for (auto _ : state) {
    state.PauseTiming();
    std::memcpy(residue.data(), prior_residue().data(), kElements * sizeof(float));
    state.ResumeTiming();
    benchmark::DoNotOptimize(adacomp::compress(gradient(), residue, bin_size, 2.0f, "bench", threads));
  }
  set_rates(state);
  adacomp::select_kernel("auto");
}

void encode_fresh(benchmark::State& state) {
  const auto bin_size = static_cast<std::uint32_t>(state.range(0));
  const auto threads = static_cast<unsigned>(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(adacomp::compress_fresh(gradient(), bin_size, 2.0f, "bench", threads));
  set_rates(state);
}

// The encoder's memory traffic and nothing else: read g and r, write r.
void encode_reference(benchmark::State& state) {
  std::vector<float> residue(prior_residue());
  const float* g = gradient().data();
  for (auto _ : state) {
    float* r = residue.data();
    for (std::size_t i = 0; i < kElements; ++i) r[i] = r[i] + g[i];
    benchmark::ClobberMemory();
  }
  set_rates(state);
}

void decode(benchmark::State& state) {
  const auto bin_size = static_cast<std::uint32_t>(state.range(0));
  const auto threads = static_cast<unsigned>(state.range(1));
  std::vector<float> residue(prior_residue());
  const adacomp::SparseTernary sparse = adacomp::compress(gradient(), residue, bin_size, 2.0f, "bench");
  std::vector<float> out(kElements);
  for (auto _ : state) {
    adacomp::decompress(sparse, out, "bench", threads);
    benchmark::ClobberMemory();
  }
  set_rates(state);
  state.counters["density"] = static_cast<double>(sparse.entries.size()) / kElements;
}

// The decoder's least work: zero-fill the output and scatter the same entries.
void decode_reference(benchmark::State& state) {
  const auto bin_size = static_cast<std::uint32_t>(state.range(0));
  std::vector<float> residue(prior_residue());
  const adacomp::SparseTernary sparse = adacomp::compress(gradient(), residue, bin_size, 2.0f, "bench");
  const auto [index, value] = adacomp::scatter_list(sparse);
  std::vector<float> out(kElements);
  for (auto _ : state) {
    std::memset(out.data(), 0, kElements * sizeof(float));
    for (std::size_t i = 0; i < index.size(); ++i) out[index[i]] = value[i];
    benchmark::ClobberMemory();
  }
  set_rates(state);
}

void bin_sizes_and_threads(benchmark::internal::Benchmark* b) {
  for (long bin_size : {50, 500})
    for (long threads : {1, 2}) b->Args({bin_size, threads});
  b->ArgNames({"T", "threads"})->Unit(benchmark::kMillisecond)->UseRealTime();
}

// One encode series per kernel this CPU runs, so a kernel change is seen against the others.
const bool kernels_registered = [] {
  for (const std::string& kernel : adacomp::available_kernels()) {
    benchmark::RegisterBenchmark(("encode_step/" + kernel).c_str(), encode_step, kernel)->Apply(bin_sizes_and_threads);
    benchmark::RegisterBenchmark(("encode_one_shot/" + kernel).c_str(), encode_one_shot, kernel)
        ->Apply(bin_sizes_and_threads);
    benchmark::RegisterBenchmark(("encode_step_in_cache/" + kernel).c_str(), encode_step_in_cache, kernel)
        ->Arg(50)
        ->Arg(500)
        ->ArgName("T")
        ->UseRealTime();
  }
  return true;
}();

}  // namespace

BENCHMARK(encode_fresh)->Apply(bin_sizes_and_threads);
BENCHMARK(encode_reference)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(decode)->Apply(bin_sizes_and_threads);
BENCHMARK(decode_reference)->Arg(50)->Arg(500)->ArgName("T")->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
