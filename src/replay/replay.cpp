#include "adacomp/replay.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/frame_stats.hpp"
#include "adacomp/metrics.hpp"
#include "adacomp/tensor_file.hpp"
#include "adacomp/wire.hpp"

namespace adacomp {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct DumpStep {
  std::uint64_t number = 0;
  fs::path dir;
  std::vector<fs::path> learner_files;  // index = learner
};

struct Dump {
  std::vector<DumpStep> steps;       // the replayed ones, in order
  std::size_t steps_in_dump = 0;     // all step directories, in the --steps range or not
  std::uint64_t first_step = 0, last_step = 0;  // of the whole dump
  std::optional<std::uint64_t> missing_step;    // the first gap in the dump's numbering
  std::optional<fs::path> init, final;
  fs::path meta_file;
  nlohmann::json meta;
};

std::string step_name(std::uint64_t step) {
  char text[32];
  std::snprintf(text, sizeof text, "step-%05llu", static_cast<unsigned long long>(step));
  return text;
}

// The entries of a directory; every failure (unreadable, vanished) is an I/O error naming it.
std::vector<fs::directory_entry> list_directory(const fs::path& dir) {
  std::vector<fs::directory_entry> entries;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) entries.push_back(*it);
  if (ec) fail_io(dir.string() + ": cannot read the directory: " + ec.message());
  return entries;
}

bool is_directory(const fs::directory_entry& entry) {
  std::error_code ec;
  const bool directory = entry.is_directory(ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    fail_io(entry.path().string() + ": cannot look at it: " + ec.message());
  return directory;
}

bool path_exists(const fs::path& path) {
  std::error_code ec;
  const bool found = fs::exists(path, ec);
  if (ec) fail_io(path.string() + ": cannot look at it: " + ec.message());
  return found;
}

// The decimal number of a step or learner name, which the pattern has already limited to digits.
std::uint64_t name_number(const std::string& digits, const fs::path& where) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size())
    fail_input(where.string() + ": the number " + digits + " does not fit in 64 bits");
  return value;
}

std::optional<fs::path> weights_file(const fs::path& dump, const std::string& stem) {
  for (const char* ext : {".npz", ".safetensors"})
    if (path_exists(dump / (stem + ext))) return dump / (stem + ext);
  return std::nullopt;
}

// Learner files of one step: learner-L.npz or .safetensors, L = 0..n-1 without gaps.
std::vector<fs::path> learner_files(const fs::path& dir) {
  static const std::regex pattern(R"(learner-(\d+)\.(npz|safetensors))");
  std::map<std::uint64_t, fs::path> found;
  for (const auto& entry : list_directory(dir)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, match, pattern)) continue;
    const std::uint64_t learner = name_number(match[1], entry.path());
    if (!found.emplace(learner, entry.path()).second)
      fail_input(dir.string() + ": learner " + std::to_string(learner) + " has both a .npz and a .safetensors file");
  }
  std::vector<fs::path> files;
  for (const auto& [learner, path] : found) {
    if (learner != files.size())
      fail_input(dir.string() + ": learner-" + std::to_string(files.size()) + " is missing (learner-" +
                 std::to_string(learner) + " exists)");
    files.push_back(path);
  }
  return files;
}

Dump discover(const ReplayOptions& options) {
  const fs::path root = options.dump;
  std::error_code ec;
  const bool directory = fs::is_directory(root, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) fail_io(options.dump + ": cannot look at it: " + ec.message());
  if (!directory) fail_io(options.dump + ": not a directory");
  Dump dump;
  static const std::regex step_pattern(R"(step-(\d+))");
  std::vector<DumpStep> all;
  for (const auto& entry : list_directory(root)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, match, step_pattern) || !is_directory(entry)) continue;
    all.push_back({name_number(match[1], entry.path()), entry.path(), {}});
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
  for (std::size_t i = 1; i < all.size(); ++i) {
    if (all[i].number == all[i - 1].number)
      fail_input(options.dump + ": two directories for step " + std::to_string(all[i].number));
    if (!dump.missing_step && all[i].number != all[i - 1].number + 1) dump.missing_step = all[i - 1].number + 1;
  }
  dump.steps_in_dump = all.size();
  if (!all.empty()) dump.first_step = all.front().number, dump.last_step = all.back().number;
  for (DumpStep& step : all)
    if (step.number >= options.step_begin.value_or(0) && (!options.step_end || step.number < *options.step_end))
      dump.steps.push_back(std::move(step));
  if (dump.steps.empty()) fail_input(options.dump + ": no step-NNNNN directories (in the --steps range)");
  for (DumpStep& step : dump.steps) {
    step.learner_files = learner_files(step.dir);
    const auto& first = dump.steps.front();
    if (step.learner_files.size() != first.learner_files.size())
      fail_input(step.dir.string() + ": " + std::to_string(step.learner_files.size()) + " learners, but " +
                 first.dir.filename().string() + " has " + std::to_string(first.learner_files.size()));
    if (step.learner_files.empty()) fail_input(step.dir.string() + ": no learner-L.npz files");
  }
  dump.init = weights_file(root, "init");
  dump.final = weights_file(root, "final");
  dump.meta_file = root / "meta.json";
  if (path_exists(dump.meta_file)) {
    const auto bytes = read_all(dump.meta_file.string());
    try {
      dump.meta = nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                                        reinterpret_cast<const char*>(bytes.data()) + bytes.size());
    } catch (const nlohmann::json::exception& e) {
      fail_input(dump.meta_file.string() + ": not valid JSON: " + e.what());
    }
    if (!dump.meta.is_object()) fail_input(dump.meta_file.string() + ": not a JSON object");
  }
  return dump;
}

// meta.json's "parameters" (a list of {"name", "shape"}), when present, must describe the tensors
// of the learner files: a dump whose description disagrees with its data is not replayed.
void check_meta_parameters(const Dump& dump, const std::vector<Tensor>& layout, const fs::path& layout_file) {
  if (!dump.meta.is_object() || !dump.meta.contains("parameters")) return;
  const std::string meta = dump.meta_file.string();
  const nlohmann::json& parameters = dump.meta["parameters"];
  if (!parameters.is_array()) fail_input(meta + ": 'parameters' is not a list");
  std::map<std::string, std::vector<std::uint64_t>> described;
  for (const auto& parameter : parameters) {
    if (!parameter.is_object() || !parameter.contains("name") || !parameter["name"].is_string() ||
        !parameter.contains("shape") || !parameter["shape"].is_array())
      fail_input(meta + ": every entry of 'parameters' needs a string 'name' and a list 'shape'");
    std::vector<std::uint64_t> shape;
    for (const auto& dim : parameter["shape"]) {
      if (!dim.is_number_unsigned()) fail_input(meta + ": parameter '" + parameter["name"].get<std::string>() + "': shape holds a non-integer");
      shape.push_back(dim.get<std::uint64_t>());
    }
    described[parameter["name"].get<std::string>()] = std::move(shape);
  }
  for (const Tensor& t : layout) {
    const auto it = described.find(t.name);
    if (it == described.end())
      fail_input(meta + ": 'parameters' does not list tensor '" + t.name + "' of " + layout_file.string());
    if (it->second != t.shape())
      fail_input(meta + ": parameter '" + t.name + "' has shape " + shape_string(it->second) + " but " +
                 shape_string(t.shape()) + " in " + layout_file.string());
    described.erase(it);
  }
  if (!described.empty())
    fail_input(meta + ": parameter '" + described.begin()->first + "' is not in " + layout_file.string());
}

// Why the baseline cannot be held against final.npz, or empty: final.npz is the end of the whole
// recorded run, so only a replay of every learner over every step, without gaps, should reach it.
std::string final_comparison_skipped(const Dump& dump, std::size_t learners, std::size_t available) {
  if (learners < available)
    return "only " + std::to_string(learners) + " of the " + std::to_string(available) + " learners were replayed";
  if (dump.steps.size() < dump.steps_in_dump)
    return "only steps " + std::to_string(dump.steps.front().number) + "-" + std::to_string(dump.steps.back().number) +
           " of the dump's " + std::to_string(dump.first_step) + "-" + std::to_string(dump.last_step) + " were replayed";
  if (dump.missing_step) return "the dump has no step " + std::to_string(*dump.missing_step);
  return {};
}

std::vector<Tensor> read_tensors(const fs::path& file) {
  TensorReadOptions read_options;
  read_options.dtype = DType::bf16;  // dumps store bfloat16 as 2-byte V2 arrays (dump_layout.md)
  return read_tensor_file(file.string(), read_options);
}

// Every learner file must hold the same tensors, in the same order, with the same shapes and
// dtypes as the first one.
void check_layout(const std::vector<Tensor>& tensors, const fs::path& file, const std::vector<Tensor>& reference,
                  const fs::path& reference_file) {
  const std::string ref = reference_file.string();
  auto has = [](const std::vector<Tensor>& list, const std::string& name) {
    return std::any_of(list.begin(), list.end(), [&](const Tensor& t) { return t.name == name; });
  };
  for (const Tensor& r : reference)
    if (!has(tensors, r.name)) fail_input(file.string() + ": tensor '" + r.name + "' is missing (" + ref + " has it)");
  for (const Tensor& t : tensors)
    if (!has(reference, t.name)) fail_input(file.string() + ": tensor '" + t.name + "' is not in " + ref);
  if (tensors.size() != reference.size())
    fail_input(file.string() + ": " + std::to_string(tensors.size()) + " tensors but " +
               std::to_string(reference.size()) + " in " + ref + " (a name appears twice)");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    const Tensor& r = reference[i];
    if (t.name != r.name)
      fail_input(file.string() + ": tensor " + std::to_string(i) + " is '" + t.name + "' but in " + ref + " it is '" +
                 r.name + "'");
    if (t.shape() != r.shape())
      fail_input(file.string() + ": tensor '" + t.name + "' has shape " + shape_string(t.shape()) + " but " +
                 shape_string(r.shape()) + " in " + ref);
    if (t.dtype != r.dtype)
      fail_input(file.string() + ": tensor '" + t.name + "' is " + std::string(dtype_name(t.dtype)) + " but " +
                 std::string(dtype_name(r.dtype)) + " in " + ref);
  }
}

// Weights from init/final, reordered to the gradient tensors' order.
std::vector<Tensor> read_weights(const fs::path& file, const std::vector<Tensor>& layout) {
  std::map<std::string, Tensor> by_name;
  for (Tensor& t : read_tensors(file)) {
    const std::string name = t.name;
    by_name.emplace(name, std::move(t));
  }
  std::vector<Tensor> out;
  for (const Tensor& g : layout) {
    auto it = by_name.find(g.name);
    if (it == by_name.end()) fail_input(file.string() + ": no weights for tensor '" + g.name + "'");
    if (it->second.shape() != g.shape())
      fail_input(file.string() + ": tensor '" + g.name + "' has shape " + shape_string(it->second.shape()) +
                 " but the gradients have " + shape_string(g.shape()));
    Tensor w = std::move(it->second);
    w.dtype = DType::f32;
    out.push_back(std::move(w));
    by_name.erase(it);
  }
  if (!by_name.empty())
    fail_input(file.string() + ": tensor '" + by_name.begin()->first + "' has no gradient in the dump");
  return out;
}

std::optional<double> meta_number(const Dump& dump, const char* key) {
  const nlohmann::json& meta = dump.meta;
  if (!meta.is_object() || !meta.contains(key)) return std::nullopt;
  if (!meta[key].is_number()) fail_input(dump.meta_file.string() + ": '" + key + "' is not a number");
  return meta[key].get<double>();
}

// What one learner produces in one step.
struct LearnerOutput {
  std::vector<Tensor> gradients;
  std::vector<Tensor> decoded;
  std::vector<wire::FrameInfo> frames;
  std::uint64_t stream_bytes = 0;
  double read = 0, encode = 0, decode = 0;
  std::exception_ptr error;
};

void write_stream_file(const fs::path& path, const std::vector<std::byte>& bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fail_io(path.string() + ": write error");
}

// Read, check, encode to wire bytes and decode them back: the learner's side of the exchange.
void run_learner(const fs::path& file, std::size_t learner, std::uint64_t step, bool compress_step,
                 const std::vector<Tensor>* layout, const fs::path& layout_file, ResidueMap& residues,
                 const ReplayOptions& options, LearnerOutput& out) {
  try {
    auto start = Clock::now();
    out.gradients = read_tensors(file);
    if (layout) check_layout(out.gradients, file, *layout, layout_file);
    out.read = seconds_since(start);

    start = Clock::now();
    EncodeSettings settings = options.settings;
    if (!compress_step) settings.exclude = {"*"};
    std::vector<std::byte> stream;
    try {
      out.frames = encode_stream(out.gradients, residues, settings, stream);
    } catch (const Error& e) {
      throw Error(e.kind(), file.string() + ": " + e.what());
    }
    out.stream_bytes = stream.size();
    out.encode = seconds_since(start);
    if (!options.stream_dir.empty())
      write_stream_file(fs::path(options.stream_dir) / step_name(step) / ("learner-" + std::to_string(learner) + ".adc"),
                        stream);

    start = Clock::now();
    MemoryInput input(stream, file.string() + " (exchanged stream)");
    wire::StreamReader reader(input);
    while (auto frame = reader.next()) out.decoded.push_back(wire::decode_frame(*frame, input.name()));
    out.decode = seconds_since(start);
  } catch (...) {
    out.error = std::current_exception();
  }
}

void sgd_step(std::vector<Tensor>& weights, std::vector<Tensor>& velocity, const std::vector<std::vector<float>>& update,
              float lr, float momentum) {
  // PyTorch SGD (no dampening, no Nesterov, no weight decay): v = momentum*v + a; w = w - lr*v
  for (std::size_t t = 0; t < weights.size(); ++t) {
    auto w = weights[t].flat();
    auto v = velocity[t].flat();
    const auto& a = update[t];
    for (std::size_t i = 0; i < w.size(); ++i) {
      v[i] = momentum * v[i] + a[i];
      w[i] = w[i] + (-lr) * v[i];
    }
  }
}

}  // namespace

ReplayResult replay(const ReplayOptions& options) {
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
  if (options.lr && !(std::isfinite(*options.lr) && *options.lr > 0)) fail_usage("--lr must be a finite number above 0");
  if (options.momentum && !(*options.momentum >= 0 && *options.momentum < 1))
    fail_usage("--momentum must be a number from 0 up to (not including) 1");
  result.lr = options.lr.value_or(meta_lr.value_or(0.0));
  result.momentum = options.momentum.value_or(meta_momentum.value_or(0.0));
  if (dump.init && !options.lr && !meta_lr)
    fail_usage(options.dump + ": init weights are present but the learning rate is unknown: meta.json has no "
               "'lr' and --lr is not given");
  result.final_comparison_skipped = final_comparison_skipped(dump, learners, available);

  std::vector<ResidueMap> residues(learners);
  std::vector<Tensor> layout;
  fs::path layout_file;
  std::vector<Tensor> weights, baseline, velocity, baseline_velocity;
  std::vector<std::vector<float>> avg_compressed, avg_exact;
  const unsigned threads = std::max(1u, std::min<unsigned>(options.threads, static_cast<unsigned>(learners)));

  for (std::size_t s = 0; s < dump.steps.size(); ++s) {
    const DumpStep& step = dump.steps[s];
    const auto step_start = Clock::now();
    const bool compress_step = s >= options.warmup_steps;
    std::vector<LearnerOutput> outputs(learners);
    // Learner 0 of the first step defines the layout; the others are checked against it.
    if (layout.empty()) {
      run_learner(step.learner_files[0], 0, step.number, compress_step, nullptr, {}, residues[0], options, outputs[0]);
      if (outputs[0].error) std::rethrow_exception(outputs[0].error);
      layout_file = step.learner_files[0];
      for (const Tensor& t : outputs[0].gradients) {
        Tensor shape_only = make_tensor(t.name, t.dtype, t.shape());
        layout.push_back(std::move(shape_only));
      }
      check_meta_parameters(dump, layout, layout_file);
      if (dump.init) {
        weights = read_weights(*dump.init, layout);
        baseline = weights;
        for (const Tensor& w : weights) {
          Tensor v = make_tensor(w.name, DType::f32, w.shape());
          v.values.fill(0.0f);
          velocity.push_back(v);
          baseline_velocity.push_back(std::move(v));
        }
      }
    }
    const std::size_t first = s == 0 ? 1 : 0;
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (std::size_t l = first + t; l < learners; l += threads)
          run_learner(step.learner_files[l], l, step.number, compress_step, &layout, layout_file, residues[l], options,
                      outputs[l]);
      });
    }
    for (auto& thread : pool) thread.join();
    for (const auto& out : outputs)
      if (out.error) std::rethrow_exception(out.error);

    StepStats stats;
    stats.step = step.number;
    stats.warmup = !compress_step;
    stats.tensors.resize(layout.size());
    for (const auto& out : outputs) {
      stats.times.read += out.read;
      stats.times.encode += out.encode;
      stats.times.decode += out.decode;
      std::uint64_t frame_total = 0;
      for (std::size_t t = 0; t < layout.size(); ++t) {
        const auto& frame = out.frames[t];
        const FrameStats figures = frame_stats(frame, nullptr);
        TensorStepStats& ts = stats.tensors[t];
        ts.compressed = frame.kind == wire::FrameKind::compressed;
        ts.raw_bytes += figures.source_bytes;
        ts.wire_bytes += figures.frame_bytes;
        ts.entries += frame.entry_count;
        ts.scale += frame.scale / static_cast<double>(learners);
        frame_total += figures.frame_bytes;
      }
      stats.stream_overhead_bytes += out.stream_bytes - frame_total;
    }
    for (std::size_t l = 0; l < learners; ++l)
      for (std::size_t t = 0; t < layout.size(); ++t) {
        const auto it = residues[l].find(layout[t].name);
        if (it != residues[l].end()) stats.tensors[t].residue_l2 += it->second.l2_norm() / static_cast<double>(learners);
      }

    // Average over learners: summed in float64 in learner order, rounded once to float32.
    const auto average_start = Clock::now();
    ErrorStats step_error;
    avg_compressed.assign(layout.size(), {});
    avg_exact.assign(layout.size(), {});
    for (std::size_t t = 0; t < layout.size(); ++t) {
      const std::size_t n = layout[t].size();
      std::vector<double> sum_c(n, 0.0), sum_e(n, 0.0);
      for (const auto& out : outputs) {
        const auto c = out.decoded[t].flat();
        const auto e = out.gradients[t].flat();
        for (std::size_t i = 0; i < n; ++i) {
          sum_c[i] += c[i];
          sum_e[i] += e[i];
        }
      }
      avg_compressed[t].resize(n);
      avg_exact[t].resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        avg_compressed[t][i] = static_cast<float>(sum_c[i] / static_cast<double>(learners));
        avg_exact[t][i] = static_cast<float>(sum_e[i] / static_cast<double>(learners));
      }
      ErrorStats error;
      error.add(avg_compressed[t], avg_exact[t]);
      stats.tensors[t].update_rel_l2 = error.rel_l2();
      stats.tensors[t].update_cosine = error.cosine();
      step_error.merge(error);
    }
    stats.update_rel_l2 = step_error.rel_l2();
    stats.times.average = seconds_since(average_start);

    const auto update_start = Clock::now();
    if (dump.init) {
      sgd_step(weights, velocity, avg_compressed, static_cast<float>(result.lr), static_cast<float>(result.momentum));
      sgd_step(baseline, baseline_velocity, avg_exact, static_cast<float>(result.lr),
               static_cast<float>(result.momentum));
    }
    stats.times.update = seconds_since(update_start);
    stats.times.wall = seconds_since(step_start);
    result.steps.push_back(std::move(stats));
    if (options.progress) options.progress(s + 1, dump.steps.size());
  }

  // Summaries per tensor and in total.
  std::vector<Tensor> final_weights;
  if (dump.final && dump.init) final_weights = read_weights(*dump.final, layout);
  result.has_final = !final_weights.empty();
  if (result.has_final) result.final_file = dump.final->string();
  const bool compare_final = result.has_final && result.final_comparison_skipped.empty();
  TensorSummary& total = result.total;
  total.name = "total";
  std::uint64_t total_entries = 0, total_compressed_elements = 0;
  ErrorStats total_drift, total_reproduction;
  for (std::size_t t = 0; t < layout.size(); ++t) {
    TensorSummary summary;
    summary.name = layout[t].name;
    summary.dtype = layout[t].dtype;
    summary.shape = layout[t].shape();
    summary.bin_size = options.settings.excluded(summary.name)
                           ? 0
                           : options.settings.bin_sizes.bin_size_for(summary.name, summary.shape.size());
    std::uint64_t entries = 0, compressed_elements = 0;
    double update_error_sum = 0.0;
    for (const auto& step : result.steps) {
      const auto& ts = step.tensors[t];
      update_error_sum += ts.update_rel_l2;
      summary.raw_bytes += ts.raw_bytes;
      summary.wire_bytes += ts.wire_bytes;
      if (ts.compressed) {
        entries += ts.entries;
        compressed_elements += layout[t].size() * learners;
      }
    }
    summary.ratio = ratio_or_nan(static_cast<double>(summary.raw_bytes), static_cast<double>(summary.wire_bytes));
    summary.mean_density = ratio_or_nan(static_cast<double>(entries), static_cast<double>(compressed_elements));
    summary.mean_update_rel_l2 = update_error_sum / static_cast<double>(result.steps.size());
    if (dump.init) {
      ErrorStats drift;
      drift.add(weights[t].flat(), baseline[t].flat());
      summary.weight_drift = drift.rel_l2();
      total_drift.merge(drift);
      if (compare_final) {
        ErrorStats reproduction;
        reproduction.add(baseline[t].flat(), final_weights[t].flat());
        summary.baseline_vs_final = reproduction.rel_l2();
        total_reproduction.merge(reproduction);
      }
    }
    total.raw_bytes += summary.raw_bytes;
    total.wire_bytes += summary.wire_bytes;
    total_entries += entries;
    total_compressed_elements += compressed_elements;
    result.tensors.push_back(std::move(summary));
  }
  for (const auto& step : result.steps) total.wire_bytes += step.stream_overhead_bytes;
  total.ratio = ratio_or_nan(static_cast<double>(total.raw_bytes), static_cast<double>(total.wire_bytes));
  total.mean_density = ratio_or_nan(static_cast<double>(total_entries), static_cast<double>(total_compressed_elements));
  for (const auto& step : result.steps) total.mean_update_rel_l2 += step.update_rel_l2;
  total.mean_update_rel_l2 /= static_cast<double>(result.steps.size());
  if (dump.init) total.weight_drift = total_drift.rel_l2();
  if (compare_final) total.baseline_vs_final = total_reproduction.rel_l2();
  result.weights = std::move(weights);
  result.baseline = std::move(baseline);
  return result;
}

}  // namespace adacomp
