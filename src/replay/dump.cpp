#include "replay/dump.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <regex>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"

namespace adacomp::replay_detail {

namespace {

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

// Learner files of one step: learner-L.npz or .safetensors, L = 0..n-1 without gaps; with
// `gaps`, the files this machine has (an empty path for each learner it lacks below the largest).
std::vector<fs::path> learner_files(const fs::path& dir, bool gaps) {
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
    if (gaps) {
      files.resize(learner + 1);
      files[learner] = path;
      continue;
    }
    if (learner != files.size())
      fail_input(dir.string() + ": learner-" + std::to_string(files.size()) + " is missing (learner-" +
                 std::to_string(learner) + " exists)");
    files.push_back(path);
  }
  return files;
}

}  // namespace

std::string step_name(std::uint64_t step) {
  char text[32];
  std::snprintf(text, sizeof text, "step-%05llu", static_cast<unsigned long long>(step));
  return text;
}

Dump discover(const ReplayOptions& options, bool local_part) {
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
    step.learner_files = learner_files(step.dir, local_part);
    if (local_part) continue;  // merge_learner_files checks the whole
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
      if (!dim.is_number_unsigned())
        fail_input(meta + ": parameter '" + parameter["name"].get<std::string>() + "': shape holds a non-integer");
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

std::string final_comparison_skipped(const Dump& dump, std::size_t learners, std::size_t available) {
  if (learners < available)
    return "only " + std::to_string(learners) + " of the " + std::to_string(available) + " learners were replayed";
  if (dump.steps.size() < dump.steps_in_dump)
    return "only steps " + std::to_string(dump.steps.front().number) + "-" + std::to_string(dump.steps.back().number) +
           " of the dump's " + std::to_string(dump.first_step) + "-" + std::to_string(dump.last_step) +
           " were replayed";
  if (dump.missing_step) return "the dump has no step " + std::to_string(*dump.missing_step);
  return {};
}

std::vector<Tensor> read_gradients(const fs::path& file) {
  TensorReadOptions read_options;
  read_options.dtype = DType::bf16;  // dumps store bfloat16 as 2-byte V2 arrays (dump_layout.md)
  return read_tensor_file(file.string(), read_options);
}

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

std::vector<Tensor> read_weights(const fs::path& file, const std::vector<Tensor>& layout) {
  std::map<std::string, Tensor> by_name;
  for (Tensor& t : read_gradients(file)) {
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

}  // namespace adacomp::replay_detail
