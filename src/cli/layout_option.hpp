#pragma once
// --layout FILE: the layout file a training run agrees on once, so that its streams carry only
// the layout's hash (format_spec/wire_format.md, section 13.4).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "adacomp/encoder.hpp"
#include "adacomp/wire.hpp"
#include "output_file.hpp"
#include "path_policy.hpp"

namespace adacomp::cli {

// For readers: --layout FILE, for streams that refer to a layout by its hash.
void add_layout_read_option(CLI::App& app, std::string& path);
// For readers: the layout in FILE, or nothing when `path` is empty.
std::optional<wire::Layout> load_layout_option(const std::string& path);

// For writers: the layout in FILE when it exists (`tensors` must then fit it, which the writer
// checks frame by frame), else the layout of `tensors` under `settings`, with `file` holding it
// ready to be committed together with the command's other outputs.
struct AgreedLayout {
  wire::Layout layout;
  std::unique_ptr<OutputFile> file;  // set when FILE is new
};
AgreedLayout agree_layout(const std::string& path, std::span<const TensorView> tensors, const EncodeSettings& settings);

// The tensors that describe a dump or a tensor file: a dump's are its first learner's first step.
std::string tensor_source(const std::string& input);

// Declares --layout FILE in the plan: read when it exists, else written.
void plan_layout(IoPlan& plan, const std::string& path);

}  // namespace adacomp::cli
