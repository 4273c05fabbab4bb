#pragma once
// A gradient dump on disk (format_spec/dump_layout.md), found and checked (replay-internal): its
// steps and learner files, init/final weights and meta.json, and the checks that every learner
// file and meta.json agree with the first learner file.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adacomp/replay.hpp"
#include "adacomp/tensor.hpp"

namespace adacomp::replay_detail {

namespace fs = std::filesystem;

struct DumpStep {
  std::uint64_t number = 0;
  fs::path dir;
  std::vector<fs::path> learner_files;  // index = learner
};

struct Dump {
  std::vector<DumpStep> steps;                  // the replayed ones, in order
  std::size_t steps_in_dump = 0;                // all step directories, in the --steps range or not
  std::uint64_t first_step = 0, last_step = 0;  // of the whole dump
  std::optional<std::uint64_t> missing_step;    // the first gap in the dump's numbering
  std::optional<fs::path> init, final;
  fs::path meta_file;
  nlohmann::json meta;
};

// The dump's steps in the --steps range, with their learner files; meta.json parsed. With
// `local_part` (a rank of a replay over ranks), the learner files this machine has, gaps allowed
// (empty paths): merge_learner_files (replay/ranks.hpp) completes and checks them.
Dump discover(const ReplayOptions& options, bool local_part = false);

// "step-NNNNN", as --save-stream names its directories.
std::string step_name(std::uint64_t step);

// A learner file's tensors (bfloat16 dumps hold 2-byte V2 arrays: dump_layout.md).
std::vector<Tensor> read_gradients(const fs::path& file);

// Every learner file must hold the same tensors, in the same order, with the same shapes and
// dtypes as the first one (`reference`, read from `reference_file`).
void check_layout(const std::vector<Tensor>& tensors, const fs::path& file, const std::vector<Tensor>& reference,
                  const fs::path& reference_file);

// meta.json's "parameters" (a list of {"name", "shape"}), when present, must describe the tensors
// of the learner files: a dump whose description disagrees with its data is not replayed.
void check_meta_parameters(const Dump& dump, const std::vector<Tensor>& layout, const fs::path& layout_file);

// Weights from init/final, in the gradient tensors' order, as float32.
std::vector<Tensor> read_weights(const fs::path& file, const std::vector<Tensor>& layout);

// A number of meta.json, if it has one under `key`; Error(invalid_input) if it is not a number.
std::optional<double> meta_number(const Dump& dump, const char* key);

// Why the baseline cannot be held against final.npz, or empty: final.npz is the end of the whole
// recorded run, so only a replay of every learner over every step, without gaps, should reach it.
std::string final_comparison_skipped(const Dump& dump, std::size_t learners, std::size_t available);

}  // namespace adacomp::replay_detail
