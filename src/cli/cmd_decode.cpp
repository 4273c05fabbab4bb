#include <memory>
#include <set>

#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "adacomp/wire.hpp"
#include "cli_support.hpp"
#include "commands.hpp"
#include "layout_option.hpp"
#include "output_file.hpp"
#include "path_policy.hpp"
#include "report_table.hpp"

namespace adacomp::cli {

namespace {

struct DecodeOptions {
  std::string input = "-";
  std::string output = "-";
  bool force = false;
  std::string format;
  std::string dtype;
  Verbosity verbosity;
  std::string layout;
};

// --format, else the output's extension, else (stdout) .npy for one tensor and .npz for several.
std::optional<TensorFormat> requested_format(const DecodeOptions& options) {
  if (!options.format.empty()) return format_from_name(options.format);
  if (options.output == "-") return std::nullopt;
  const auto format = format_from_extension(options.output);
  if (!format && !is_special_file(options.output))
    fail_usage(options.output +
               ": cannot tell the output format from the extension; use --format npy|npz|safetensors|raw");
  return format;
}

int run_decode(DecodeOptions& options) {
  const auto format = requested_format(options);
  refuse_terminal_input(options.input);
  IoPlan plan;
  plan.add_input(options.input, "input");
  plan.add_output(options.output, "-o");
  plan.check();
  OutputFile output(options.output, options.force);

  const auto layout = load_layout_option(options.layout);
  FileInput input(options.input);
  wire::StreamReader reader(input);
  reader.set_agreed_layout(layout ? &*layout : nullptr);
  std::vector<Tensor> tensors;
  std::vector<wire::FrameInfo> frames;
  std::set<std::string> names;
  while (auto frame = reader.next()) {
    Tensor tensor = wire::decode_frame(*frame, input.name());
    if (!names.insert(tensor.name).second && format != TensorFormat::raw)
      fail_usage(frame->info.describe(input.name()) +
                 ": tensor name appears twice in the stream "
                 "(only --format raw can hold both)");
    if (options.dtype == "f32") tensor.dtype = DType::f32;
    frames.push_back(frame->info);
    tensors.push_back(std::move(tensor));
  }
  const TensorFormat chosen = format.value_or(tensors.size() == 1 ? TensorFormat::npy : TensorFormat::npz);
  write_tensor_file(tensors, chosen, [&](std::span<const std::byte> piece) { output.write(piece); });
  output.commit();
  if (options.verbosity.level() >= 2) print_frame_table(frames, true, reader.offset());
  return kExitSuccess;
}

}  // namespace

Command add_decode_command(CLI::App& parent) {
  auto options = std::make_shared<DecodeOptions>();
  CLI::App* app = parent.add_subcommand("decode", "Decode an adacomp stream to tensors");
  app->add_option("input", options->input, "Input stream ('-' or none: stdin)");
  app->add_option("-o,--output", options->output, "Output file ('-' or none: stdout)");
  add_layout_read_option(*app, options->layout);
  app->add_flag("-f,--force", options->force, "Overwrite an existing output file");
  app->add_option("--format", options->format, "Output format (default: by the output's extension)")
      ->check(CLI::IsMember({"npy", "npz", "safetensors", "raw"}));
  app->add_option("--dtype", options->dtype,
                  "Write f32 instead of each tensor's source dtype (values are rounded to it otherwise)")
      ->check(CLI::IsMember({"f32"}));
  add_verbosity_flags(*app, options->verbosity);
  return {app, [options] { return run_decode(*options); }};
}

}  // namespace adacomp::cli
