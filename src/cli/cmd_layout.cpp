// adacomp layout: write the layout file that the learners of a training run agree on once
// (format_spec/wire_format.md, section 13.4), from a tensor file or a dump's first gradients.
#include <memory>

#include "adacomp/encoder.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "adacomp/wire.hpp"
#include "cli_support.hpp"
#include "codec_options.hpp"
#include "commands.hpp"
#include "layout_option.hpp"
#include "output_file.hpp"
#include "path_policy.hpp"

namespace adacomp::cli {

namespace {

struct LayoutOptions {
  std::string input;
  std::string output = "-";
  bool force = false;
  CodecOptions codec;
};

int run_layout(LayoutOptions& options) {
  EncodeSettings settings = make_encode_settings(options.codec);
  const std::string source = tensor_source(options.input);
  refuse_terminal_input(source);
  IoPlan plan;
  plan.add_input(source, "input");
  plan.add_output(options.output, "-o");
  plan.check();
  OutputFile output(options.output, options.force);
  const wire::Layout layout = layout_for(read_tensor_file(source, {}), settings);
  output.write(wire::layout_file_bytes(layout));
  output.commit();
  return kExitSuccess;
}

}  // namespace

Command add_layout_command(CLI::App& parent) {
  auto options = std::make_shared<LayoutOptions>();
  CLI::App* app = parent.add_subcommand(
      "layout", "Write a layout file (tensor names, dtypes, shapes, bin sizes) for encode/replay --layout");
  app->add_option("input", options->input, "A .npy, .npz or .safetensors file, or a dump directory")->required();
  app->add_option("-o,--output", options->output, "Layout file ('-' or none: stdout)");
  app->add_flag("-f,--force", options->force, "Overwrite an existing output file");
  add_tensor_rule_options(*app, options->codec);
  return {app, [options] { return run_layout(*options); }};
}

}  // namespace adacomp::cli
