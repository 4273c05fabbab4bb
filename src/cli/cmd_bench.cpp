#include <cstdio>
#include <memory>
#include <sstream>
#include <thread>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/kernels.hpp"
#include "adacomp/tensor_file.hpp"
#include "bench_harness.hpp"
#include "cli_support.hpp"
#include "codec_comparison.hpp"
#include "commands.hpp"
#include "io/json_output.hpp"
#include "option_checks.hpp"

namespace adacomp::cli {

namespace {

struct BenchCliOptions {
  std::string input;
  std::uint64_t elements = std::uint64_t{1} << 24;
  std::string distribution = "laplace";
  double beta = 1.0;
  std::uint64_t seed = 1;
  std::vector<std::uint32_t> bin_sizes;
  std::string threads = "1,2";
  unsigned repetitions = 5;
  bool json = false;
  std::string kernel = "auto";
  std::string entries = "coded";
  std::vector<std::string> codecs;
  Verbosity verbosity;
};

std::vector<unsigned> parse_threads(const std::string& text) {
  std::vector<unsigned> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(item.c_str(), &end, 10);
    if (item.empty() || *end || value < 1 || value > 256)
      fail_usage("--threads '" + text + "': expected a list such as 1,2");
    out.push_back(static_cast<unsigned>(value));
  }
  if (out.empty()) fail_usage("--threads: empty list");
  return out;
}

// `--codec`: the comparison codecs' encoders and decoders on the bench's tensors, nothing else.
int run_codec_bench_command(const BenchCliOptions& cli, const std::vector<float>& gradient, const std::string& source) {
  std::vector<codecs::CodecSpec> specs = codecs::parse_specs(cli.codecs);
  bool replay_momentum = false;
  for (codecs::CodecSpec& spec : specs) {
    auto it = spec.values.find("momentum");
    if (it != spec.values.end() && it->second == "replay") {
      it->second = "0.9";  // no replay here: the reference's default
      replay_momentum = true;
    }
  }
  std::vector<Tensor> tensors;
  if (!cli.input.empty()) {
    TensorReadOptions read_options;
    read_options.dtype = DType::bf16;
    tensors = read_tensor_file(cli.input, read_options);
  } else {
    // a matrix, as the codecs that see rows and columns (onebit, powersgd, dgc) expect of a layer
    const std::uint64_t n = gradient.size(), rows = n % 1024 == 0 && n >= 1024 ? 1024 : 1;
    Tensor t = make_tensor("synthetic", DType::f32, {rows, n / rows});
    std::copy(gradient.begin(), gradient.end(), t.flat().begin());
    tensors.push_back(std::move(t));
  }
  EncodeSettings settings;
  settings.entries = cli.entries == "fixed" ? wire::EntryLayout::fixed : wire::EntryLayout::coded;
  const std::vector<CodecBenchResult> results = run_codec_bench(specs, tensors, settings, cli.repetitions);
  if (cli.json) {
    Json out;
    out["adacomp_bench"] = 1;
    out["source"] = source;
    out["repetitions"] = cli.repetitions;
    Json rows = Json::array();
    for (const CodecBenchResult& r : results)
      rows.push_back({{"codec", r.codec},
                      {"elements", r.elements},
                      {"payload_bytes", r.payload_bytes},
                      {"ratio", r.ratio},
                      {"encode_seconds", r.encode_seconds},
                      {"decode_seconds", r.decode_seconds},
                      {"encode_ns_per_element", r.encode_ns_per_element},
                      {"decode_ns_per_element", r.decode_ns_per_element}});
    out["codecs"] = std::move(rows);
    std::printf("%s\n", json_text(out).c_str());
    return kExitSuccess;
  }
  std::printf("bench --codec: %s, %zu tensors, median of %u runs, one learner, the second step of fresh state\n",
              source.c_str(), tensors.size(), cli.repetitions);
  std::printf("%-44s %12s %14s %9s %11s %11s %13s %13s\n", "codec", "elements", "payload bytes", "ratio", "enc ns/el",
              "dec ns/el", "enc Mel/s", "dec Mel/s");
  for (const CodecBenchResult& r : results) {
    char ratio[32] = "-";  // nothing sent: no ratio
    if (r.payload_bytes) std::snprintf(ratio, sizeof ratio, "%.2f", r.ratio);
    std::printf("%-44s %12llu %14llu %9s %11.2f %11.2f %13.1f %13.1f\n", r.codec.c_str(),
                static_cast<unsigned long long>(r.elements), static_cast<unsigned long long>(r.payload_bytes), ratio,
                r.encode_ns_per_element, r.decode_ns_per_element,
                r.encode_seconds > 0 ? static_cast<double>(r.elements) / r.encode_seconds / 1e6 : 0.0,
                r.decode_seconds > 0 ? static_cast<double>(r.elements) / r.decode_seconds / 1e6 : 0.0);
  }
  if (replay_momentum) std::printf("dgc: momentum=replay runs with momentum 0.9 here (no replay)\n");
  if (std::any_of(specs.begin(), specs.end(), [](const codecs::CodecSpec& s) { return s.name == "adacomp"; }))
    std::printf("adacomp: the whole stream through the wire format (residues kept), decode included its checks\n");
  return kExitSuccess;
}

int run_bench_command(BenchCliOptions& cli) {
  BenchOptions options;
  options.threads = parse_threads(cli.threads);
  for (std::uint32_t T : cli.bin_sizes) {
    if (std::find(options.bin_sizes.begin(), options.bin_sizes.end(), T) == options.bin_sizes.end())
      options.bin_sizes.push_back(T);
  }
  options.repetitions = cli.repetitions;
  options.entries = cli.entries == "fixed" ? wire::EntryLayout::fixed : wire::EntryLayout::coded;
  select_kernel(cli.kernel);
  std::string source;
  if (!cli.input.empty()) {
    // A tensor file: all its tensors one after the other, with a zero residue.
    TensorReadOptions read_options;
    read_options.dtype = DType::bf16;
    for (const Tensor& t : read_tensor_file(cli.input, read_options))
      options.gradient.insert(options.gradient.end(), t.flat().begin(), t.flat().end());
    options.residue.assign(options.gradient.size(), 0.0f);
    source = cli.input;
  } else {
    options.gradient = synthetic_gradient(cli.elements, cli.distribution, cli.beta, 1e-3, cli.seed);
    options.residue = synthetic_gradient(cli.elements, cli.distribution, cli.beta, 5e-4, cli.seed + 1);
    source = "synthetic " + cli.distribution +
             (cli.distribution == "gennorm" ? " beta " + std::to_string(cli.beta) : "") + ", seed " +
             std::to_string(cli.seed);
  }
  if (!cli.codecs.empty()) return run_codec_bench_command(cli, options.gradient, source);
  const BenchReport report = run_bench(options);

  if (cli.json) {
    Json out;
    out["adacomp_bench"] = 1;
    out["source"] = source;
    out["elements"] = options.gradient.size();
    out["repetitions"] = options.repetitions;
    out["hardware_threads"] = std::thread::hardware_concurrency();
    out["kernel"] = active_kernel();
    out["entries"] = cli.entries;
    Json results = Json::array();
    for (const auto& r : report.results) {
      Json row = {{"op", r.op},
                  {"bin_size", r.bin_size},
                  {"threads", r.threads},
                  {"elements", r.elements},
                  {"gbps", r.gbps},
                  {"reference_gbps", r.reference_gbps},
                  {"fraction", r.fraction},
                  {"seconds", r.seconds},
                  {"reference_seconds", r.reference_seconds},
                  {"elements_per_second", r.elements_per_second},
                  {"entries", r.entries},
                  {"density", r.density},
                  {"frame_bytes", r.frame_bytes},
                  {"entry_bound_ratio", r.entry_bound_ratio}};
      if (r.speedup > 0) {
        row["speedup"] = r.speedup;
        row["reference_speedup"] = r.reference_speedup;
        row["speedup_bound"] = r.speedup_bound;
      }
      if (r.op == "encode") {
        row["one_shot_seconds"] = r.one_shot_seconds;
        row["one_shot_gbps"] = static_cast<double>(r.elements) * 4.0 / 1e9 / r.one_shot_seconds;
        row["one_shot_fraction"] = r.one_shot_fraction;
        row["tensor_split_seconds"] = r.tensor_split_seconds;
        if (r.speedup > 0) row["tensor_split_speedup"] = r.tensor_split_speedup;
      }
      results.push_back(std::move(row));
    }
    out["results"] = std::move(results);
    Json zstd = Json::array();
    for (const auto& z : report.zstd)
      zstd.push_back({{"level", z.level},
                      {"ratio", z.ratio},
                      {"compress_gbps", z.compress_gbps},
                      {"decompress_gbps", z.decompress_gbps}});
    out["zstd"] = std::move(zstd);
    std::printf("%s\n", json_text(out).c_str());
    return kExitSuccess;
  }
  std::printf("bench: %s, %zu elements, median of %u runs, kernel %s, %s entries\n", source.c_str(),
              options.gradient.size(), options.repetitions, active_kernel().c_str(), cli.entries.c_str());
  std::printf("%-7s %6s %7s %10s %14s %10s %9s %9s %9s %9s %12s %9s %9s\n", "op", "T", "threads", "GB/s", "Melements/s",
              "ref GB/s", "fraction", "speed-up", "tensors", "bound", "entries", "density", "one-shot");
  for (const auto& r : report.results) {
    std::printf("%-7s %6u %7u %10.3f %14.1f %10.3f %9.3f", r.op.c_str(), r.bin_size, r.threads, r.gbps,
                r.elements_per_second / 1e6, r.reference_gbps, r.fraction);
    if (r.speedup > 0 && r.op == "encode")
      std::printf(" %9.3f %9.3f %9.3f", r.speedup, r.tensor_split_speedup, r.speedup_bound);
    else if (r.speedup > 0)
      std::printf(" %9.3f %9s %9.3f", r.speedup, "-", r.speedup_bound);
    else
      std::printf(" %9s %9s %9s", "-", "-", "-");
    std::printf(" %12llu %9.4f", static_cast<unsigned long long>(r.entries), r.density);
    if (r.op == "encode")
      std::printf(" %9.3f\n", r.one_shot_fraction);
    else
      std::printf(" %9s\n", "-");
  }
  std::printf(
      "encode: a training step on a kept residue (the previous step's correction applied as it is read) and "
      "its frame written; one-shot: the fraction of compress() on a plain residue, corrected by a second pass, "
      "and its frame\n");
  std::printf("decode: from the stream's bytes: parse, checksum, entries, validation and values\n");
  if (!report.results.empty())
    std::printf("frame: %llu bytes at T = %u (entries %.3f of the log2 C(n,k) + k bound)\n",
                static_cast<unsigned long long>(report.results.front().frame_bytes), report.results.front().bin_size,
                report.results.front().entry_bound_ratio);
  std::printf(
      "reference: encode = r[i] += g[i] (reads two float arrays, writes one); decode = zero-fill + scatter of "
      "the same entries\n");
  std::printf(
      "speed-up: the one-thread median time over this one's; every thread count of a bin size is measured in "
      "the same interleaved rounds\n");
  std::printf(
      "tensors: the speed-up of threads each encoding a tensor of their own (equal parts of this one, each with "
      "a residue of its own) at once\n");
  std::printf(
      "bound: the one-thread median time over the reference's on these threads, the speed-up of an op as fast "
      "as its reference (this machine's memory allows no more)\n");
  for (const auto& z : report.zstd)
    std::printf("zstd -%d (lossless, same float32 bytes): ratio %.3f, compress %.3f GB/s, decompress %.3f GB/s\n",
                z.level, z.ratio, z.compress_gbps, z.decompress_gbps);
  return kExitSuccess;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto cli = std::make_shared<BenchCliOptions>();
  CLI::App* app = parent.add_subcommand("bench", "Measure encode and decode speed against in-run memory references");
  app->add_option("input", cli->input, "Tensor file to use (default: synthetic gradients)");
  app->add_option("--elements", cli->elements, "Synthetic tensor size")
      ->default_val(std::uint64_t{1} << 24)
      ->check(integer_from(1, std::uint64_t{1} << 31));
  app->add_option("--distribution", cli->distribution, "laplace or gennorm")
      ->check(CLI::IsMember({"laplace", "gennorm"}));
  app->add_option("--beta", cli->beta, "Shape of the generalized normal (1: Laplace, 2: normal)")
      ->check(number_from(0.05, 100));
  app->add_option("--seed", cli->seed, "Seed of the synthetic values")->check(integer_from(0));
  app->add_option("--bin-size", cli->bin_sizes, "Bin sizes besides 50 and 500 (repeatable)")
      ->check(integer_from(1, 16384))
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app->add_option("--threads", cli->threads, "Thread counts, comma-separated")->default_val("1,2");
  app->add_option("--repeat", cli->repetitions, "Repetitions per measurement (the median is reported)")
      ->default_val(5u)
      ->check(integer_from(1, 1000));
  app->add_flag("--json", cli->json, "Print JSON");
  app->add_option("--codec", cli->codecs,
                  "Measure this comparison codec's encoder and decoder instead: NAME[:KEY=VALUE,...] (repeatable; "
                  "'all': every codec; `adacomp codecs` lists them)");
  app->add_option("--entries", cli->entries, "Entry layout of the frames encoded and decoded: coded or fixed")
      ->check(CLI::IsMember({"coded", "fixed"}))
      ->default_val("coded");
  app->add_option("--kernel", cli->kernel,
                  "Encoder kernel: auto, reference (the plain C++ loop) or an instruction set "
                  "this CPU has (see `adacomp --version`)")
      ->default_val("auto");
  add_verbosity_flags(*app, cli->verbosity);
  return {app, [cli] { return run_bench_command(*cli); }};
}

}  // namespace adacomp::cli
