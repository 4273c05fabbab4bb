#include "bench_harness.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <tuple>

#include <zstd.h>

#include "adacomp/codec.hpp"
#include "adacomp/error.hpp"
#include "adacomp/frame_stats.hpp"
#include "adacomp/residue.hpp"
#include "common/worker_pool.hpp"

namespace adacomp {

namespace {

using Clock = std::chrono::steady_clock;

// The median time of each measurement, taken in turns (a, b, c, a, b, c, ...) so that an
// operation, its reference and its other thread counts see the same machine: on shared machines
// memory bandwidth drifts by up to 2x within seconds, and a core's speed with its neighbours' load.
std::vector<double> interleaved_medians(unsigned repetitions,
                                        const std::vector<std::function<double()>>& measurements) {
  std::vector<std::vector<double>> times(measurements.size());
  for (unsigned i = 0; i < std::max(1u, repetitions); ++i)
    for (std::size_t k = 0; k < measurements.size(); ++k) times[k].push_back(measurements[k]());
  std::vector<double> medians;
  for (auto& t : times) {
    std::sort(t.begin(), t.end());
    medians.push_back(t[t.size() / 2]);
  }
  return medians;
}

template <typename F>
double timed(F&& work) {
  const auto start = Clock::now();
  work();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs work(begin, end) over [0, n) split in `threads` contiguous parts, on the codec's pooled
// threads, so that the references pay for threads what the codec pays.
template <typename F>
void parallel_ranges(std::size_t n, unsigned threads, F&& work) {
  auto part = [&](std::size_t t) { work(n * t / threads, n * (t + 1) / threads); };
  detail::run_pooled(threads, detail::PartWork(part));
}

// A one-frame stream of `sparse` as the encoder writes it (selection + entry coding + framing);
// `out` keeps its capacity from run to run, as an exchange buffer would.
wire::FrameInfo write_stream(const SparseTernary& sparse, wire::EntryLayout entries, std::vector<std::byte>& out,
                             unsigned threads = 1) {
  out.clear();
  wire::StreamWriter writer(out, {entries, nullptr, threads});
  wire::FrameInfo info = writer.add_compressed("bench", DType::f32, {sparse.element_count}, sparse, 0);
  writer.finish();
  return info;
}

// An encode parallel over tensors rather than bins: as many one-thread steps at once as threads,
// on equal runs of whole bins, each with a residue of its own (no shared state, no job queue, no
// merge). Where the cores run at unequal speeds it waits for the slowest, which the codec's jobs
// do not (compress.cpp).
class TensorSplit {
 public:
  TensorSplit(const BenchOptions& options, std::uint32_t bin_size, unsigned threads)
      : options_(options), bin_size_(bin_size) {
    const std::size_t bins = (options.gradient.size() + bin_size - 1) / bin_size;
    for (unsigned t = 0; t <= threads; ++t)
      bounds_.push_back(std::min(options.gradient.size(), bins * t / threads * bin_size));
    for (unsigned t = 0; t < threads; ++t) {
      Tensor start = make_tensor("bench", DType::f32, {bounds_[t + 1] - bounds_[t]});
      std::copy(options.residue.begin() + static_cast<std::ptrdiff_t>(bounds_[t]),
                options.residue.begin() + static_cast<std::ptrdiff_t>(bounds_[t + 1]), start.values.begin());
      prepared_.emplace_back(std::move(start));
      prepared_.back().step(part(t), bin_size, options.scale_factor, "bench", 1);
    }
    kept_ = prepared_;
    streams_.resize(threads);
  }

  double timed_step() {
    for (std::size_t t = 0; t < kept_.size(); ++t) kept_[t] = prepared_[t];
    auto step = [&](std::size_t t) {
      write_stream(kept_[t].step(part(t), bin_size_, options_.scale_factor, "bench", 1), options_.entries, streams_[t]);
    };
    return timed([&] { detail::run_pooled(kept_.size(), detail::PartWork(step)); });
  }

 private:
  std::span<const float> part(std::size_t t) const {
    return std::span<const float>(options_.gradient).subspan(bounds_[t], bounds_[t + 1] - bounds_[t]);
  }

  const BenchOptions& options_;
  std::uint32_t bin_size_;
  std::vector<std::size_t> bounds_;
  std::vector<Residue> prepared_, kept_;
  std::vector<std::vector<std::byte>> streams_;
};

}  // namespace

std::vector<float> synthetic_gradient(std::uint64_t elements, const std::string& distribution, double beta,
                                      double scale, std::uint64_t seed) {
  if (distribution != "laplace" && distribution != "gennorm") fail_usage("--distribution must be laplace or gennorm");
  if (!(beta > 0.0)) fail_usage("--beta must be positive");
  std::mt19937_64 rng(seed);
  std::vector<float> out(elements);
  if (distribution == "laplace") {
    std::exponential_distribution<double> exponential(1.0);
    for (auto& x : out) x = static_cast<float>((rng() & 1 ? 1.0 : -1.0) * scale * exponential(rng));
  } else {
    // |x| = scale * Gamma(1/beta, 1)^(1/beta) with a random sign: the generalized normal.
    std::gamma_distribution<double> gamma(1.0 / beta, 1.0);
    for (auto& x : out) x = static_cast<float>((rng() & 1 ? 1.0 : -1.0) * scale * std::pow(gamma(rng), 1.0 / beta));
  }
  return out;
}

ScatterList scatter_list(const SparseTernary& sparse) {
  ScatterList list;
  list.indices.reserve(sparse.entries.size());
  list.values.reserve(sparse.entries.size());
  for (std::size_t bin = 0, e = 0; bin < sparse.bin_counts.size(); ++bin)
    for (std::uint16_t c = 0; c < sparse.bin_counts[bin]; ++c, ++e) {
      list.indices.push_back(static_cast<std::uint32_t>(bin * sparse.bin_size + (sparse.entries[e] >> 2)));
      list.values.push_back((sparse.entries[e] & 3u) == kCodePositive ? sparse.scale : -sparse.scale);
    }
  return list;
}

BenchReport run_bench(const BenchOptions& options) {
  const std::size_t n = options.gradient.size();
  if (n == 0 || options.residue.size() != n) fail_usage("bench needs a non-empty gradient and a residue of its size");
  const double input_gb = static_cast<double>(n) * 4.0 / 1e9;
  BenchReport report;
  std::vector<float> residue(n), output(n);
  std::vector<std::byte> stream;

  for (std::uint32_t T : options.bin_sizes) {
    // encode: a training step on a kept residue, whose previous step (on the same gradient, from
    // options.residue) left its correction pending, so that every repetition does the same work.
    Tensor start = make_tensor("bench", DType::f32, {n});
    std::copy(options.residue.begin(), options.residue.end(), start.values.begin());
    Residue prepared(std::move(start));
    prepared.step(options.gradient, T, options.scale_factor, "bench", 1);
    Residue kept = prepared;
    // Every thread count's measurements in one round, so that speed-ups compare the same minutes.
    std::vector<std::function<double()>> encode_runs;
    std::vector<std::unique_ptr<TensorSplit>> splits;
    for (unsigned threads : options.threads) {
      if (threads > 1) {
        splits.push_back(std::make_unique<TensorSplit>(options, T, threads));
        encode_runs.push_back([&split = *splits.back()] { return split.timed_step(); });
      } else {
        encode_runs.push_back([] { return 0.0; });  // the one-thread step itself
      }
      encode_runs.push_back([&, threads] {
        kept = prepared;  // keeps its last result and working memory, as a training loop's residue does
        return timed([&] {
          write_stream(kept.step(options.gradient, T, options.scale_factor, "bench", threads), options.entries, stream,
                       threads);
        });
      });
      // one-shot: compress() on a plain residue, corrected in place by a second pass (a first
      // step, or `adacomp encode --residue`)
      encode_runs.push_back([&, threads] {
        std::memcpy(residue.data(), options.residue.data(), n * 4);
        return timed([&] {
          write_stream(compress(options.gradient, residue, T, options.scale_factor, "bench", threads), options.entries,
                       stream, threads);
        });
      });
      // the reference of both: read two float arrays, write one (the encoder's traffic)
      encode_runs.push_back([&, threads] {
        std::memcpy(residue.data(), options.residue.data(), n * 4);
        return timed([&] {
          parallel_ranges(n, threads, [&](std::size_t begin, std::size_t end) {
            const float* g = options.gradient.data();
            float* r = residue.data();
            for (std::size_t i = begin; i < end; ++i) r[i] = r[i] + g[i];
          });
        });
      });
    }
    const std::vector<double> encode_times = interleaved_medians(options.repetitions, encode_runs);

    // decode from the stream's bytes (parse, checksum, entries, validation, values), and its
    // reference: zero-fill the output and scatter the same entries (threads select the same entries)
    kept = prepared;
    const SparseTernary sparse = kept.step(options.gradient, T, options.scale_factor, "bench", 1);  // as timed
    const wire::FrameInfo frame_info = write_stream(sparse, options.entries, stream);
    const FrameStats figures = frame_stats(frame_info, nullptr);
    const ScatterList scatter = scatter_list(sparse);
    std::vector<std::function<double()>> decode_runs;
    for (unsigned threads : options.threads) {
      decode_runs.push_back([&, threads] {
        return timed([&] {
          MemoryInput input(stream, "bench");
          wire::StreamReader reader(input);
          while (auto frame = reader.next()) wire::decode_frame_into(*frame, output, "bench", threads);
        });
      });
      decode_runs.push_back([&, threads] {
        return timed([&] {
          parallel_ranges(n, threads, [&](std::size_t begin, std::size_t end) {
            std::fill(output.begin() + static_cast<std::ptrdiff_t>(begin),
                      output.begin() + static_cast<std::ptrdiff_t>(end), 0.0f);
          });
          parallel_ranges(scatter.indices.size(), threads, [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) output[scatter.indices[i]] = scatter.values[i];
          });
        });
      });
    }
    const std::vector<double> decode_times = interleaved_medians(options.repetitions, decode_runs);

    // Speed-ups against the same bin size's one-thread run, where there is one.
    const auto one_thread = std::find(options.threads.begin(), options.threads.end(), 1u);
    const std::size_t base = static_cast<std::size_t>(one_thread - options.threads.begin());
    for (std::size_t t = 0; t < options.threads.size(); ++t) {
      const double split = encode_times[4 * t], encode = encode_times[4 * t + 1], one_shot = encode_times[4 * t + 2];
      const double encode_reference = encode_times[4 * t + 3];
      const double decode = decode_times[2 * t], decode_reference = decode_times[2 * t + 1];
      for (const auto& [op, seconds, reference] :
           {std::tuple{"encode", encode, encode_reference}, std::tuple{"decode", decode, decode_reference}}) {
        BenchResult result;
        const bool encoding = op == std::string("encode");
        if (encoding) {
          result.one_shot_seconds = one_shot;
          result.one_shot_fraction = encode_reference / one_shot;
          result.tensor_split_seconds = options.threads[t] > 1 ? split : encode;
        }
        if (one_thread != options.threads.end()) {
          const double one = encoding ? encode_times[4 * base + 1] : decode_times[2 * base];
          const double one_reference = encoding ? encode_times[4 * base + 3] : decode_times[2 * base + 1];
          result.speedup = one / seconds;
          result.reference_speedup = one_reference / reference;
          result.speedup_bound = one / reference;
          if (encoding) result.tensor_split_speedup = one / result.tensor_split_seconds;
        }
        result.op = op;
        result.bin_size = T;
        result.threads = options.threads[t];
        result.elements = n;
        result.seconds = seconds;
        result.reference_seconds = reference;
        result.gbps = input_gb / seconds;
        result.reference_gbps = input_gb / reference;
        result.fraction = result.gbps / result.reference_gbps;
        result.elements_per_second = static_cast<double>(n) / seconds;
        result.entries = sparse.entries.size();
        result.density = static_cast<double>(sparse.entries.size()) / static_cast<double>(n);
        result.entry_layout = std::string(wire::entry_layout_name(options.entries));
        result.frame_bytes = figures.frame_bytes;
        result.entry_bound_ratio = figures.bound_ratio;
        report.results.push_back(result);
      }
    }
  }

  // What a user would reach for instead: lossless zstd on the same float32 bytes.
  const std::size_t bytes = n * 4;
  std::vector<char> packed(ZSTD_compressBound(bytes)), unpacked(bytes);
  for (int level : options.zstd_levels) {
    std::size_t size = 0;
    const double compress_time = interleaved_medians(
        std::min(3u, options.repetitions), {[&] {
          return timed(
              [&] { size = ZSTD_compress(packed.data(), packed.size(), options.gradient.data(), bytes, level); });
        }})[0];
    if (ZSTD_isError(size)) throw Error(ErrorKind::internal, std::string("zstd: ") + ZSTD_getErrorName(size));
    const double decompress_time = interleaved_medians(
        std::min(3u, options.repetitions),
        {[&] { return timed([&] { ZSTD_decompress(unpacked.data(), unpacked.size(), packed.data(), size); }); }})[0];
    report.zstd.push_back({level, static_cast<double>(bytes) / static_cast<double>(size), input_gb / compress_time,
                           input_gb / decompress_time});
  }
  return report;
}

}  // namespace adacomp
