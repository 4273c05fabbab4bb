#include <charconv>
#include <cstdio>
#include <memory>
#include <sys/stat.h>

#include "adacomp/encoder.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "cli_support.hpp"
#include "codec_options.hpp"
#include "commands.hpp"
#include "output_file.hpp"
#include "report_table.hpp"

namespace adacomp::cli {

namespace {

struct EncodeOptions {
  std::string input = "-";
  std::string output = "-";
  bool force = false;
  std::string residue;
  CodecOptions codec;
  std::string shape;
  std::string dtype;
  std::string name;
  unsigned threads = 1;
  Verbosity verbosity;
};

std::vector<std::uint64_t> parse_shape(const std::string& text) {
  std::vector<std::uint64_t> shape;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find_first_of(",x", start), text.size());
    std::uint64_t dim = 0;
    const auto [end, ec] = std::from_chars(text.data() + start, text.data() + comma, dim);
    if (ec != std::errc() || end != text.data() + comma)
      fail_usage("--shape '" + text + "': expected dimensions separated by commas, such as 128,512");
    shape.push_back(dim);
    start = comma + 1;
  }
  return shape;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

TensorFormat residue_format(const std::string& path) {
  const auto format = format_from_extension(path);
  if (format != TensorFormat::npz && format != TensorFormat::safetensors)
    fail_usage("--residue '" + path + "': the residue file must end in .npz or .safetensors");
  return *format;
}

ResidueMap load_residues(const std::string& path) {
  ResidueMap residues;
  if (!file_exists(path)) return residues;
  for (Tensor& tensor : read_tensor_file(path, {})) {
    const std::string name = tensor.name;
    if (!residues.emplace(name, Residue(std::move(tensor))).second)
      fail_input(path + ": residue holds tensor '" + name + "' twice");
  }
  return residues;
}

int run_encode(EncodeOptions& options) {
  EncodeSettings settings = make_encode_settings(options.codec);
  if (options.threads < 1) fail_usage("--threads must be at least 1");
  settings.threads = options.threads;
  if (options.residue.size()) residue_format(options.residue);

  TensorReadOptions read_options;
  if (!options.dtype.empty()) {
    read_options.dtype = dtype_from_name(options.dtype);
    if (!read_options.dtype) fail_usage("--dtype must be f32, f16 or bf16");
  }
  if (!options.shape.empty()) read_options.raw_shape = parse_shape(options.shape);
  read_options.single_name = options.name.empty() ? stem_of(options.input) : options.name;

  refuse_terminal_input(options.input);
  OutputFile output(options.output, options.force);

  const std::vector<Tensor> tensors = read_tensor_file(options.input, read_options);

  ResidueMap residues;
  if (!options.residue.empty()) {
    residues = load_residues(options.residue);
    if (!residues.empty()) check_residues(residues, tensors, settings, options.residue);
  }

  std::vector<std::byte> stream;
  const auto frames = options.residue.empty() ? encode_stream_fresh(tensors, settings, stream)
                                              : encode_stream(tensors, residues, settings, stream);

  std::unique_ptr<OutputFile> residue_output;
  if (!options.residue.empty()) {
    std::vector<Tensor> ordered;
    for (const Tensor& tensor : tensors)
      if (!settings.excluded(tensor.name)) ordered.push_back(residues.at(tensor.name).take());
    residue_output = std::make_unique<OutputFile>(options.residue, true);
    residue_output->write(serialize_tensor_file(ordered, residue_format(options.residue)));
  }
  output.write(stream);
  // Both files are complete before either replaces its predecessor.
  output.commit();
  if (residue_output) residue_output->commit();

  if (options.verbosity.level() >= 2 || (options.verbosity.level() == 1 && is_terminal(2)))
    print_frame_table(frames, options.verbosity.level() >= 2);
  return kExitSuccess;
}

}  // namespace

Command add_encode_command(CLI::App& parent) {
  auto options = std::make_shared<EncodeOptions>();
  CLI::App* app = parent.add_subcommand("encode", "Compress gradient tensors into an adacomp stream");
  app->add_option("input", options->input, "Input .npy, .npz, .safetensors or raw file ('-' or none: stdin)");
  app->add_option("-o,--output", options->output, "Output stream ('-' or none: stdout)");
  app->add_flag("-f,--force", options->force, "Overwrite an existing output file");
  app->add_option("--residue", options->residue,
                  "Residue state file (.npz or .safetensors): read if it exists, written back on success");
  add_codec_options(*app, options->codec);
  app->add_option("--shape", options->shape, "Read raw little-endian input of this shape, e.g. 128,512");
  app->add_option("--dtype", options->dtype, "Element type of raw input, or bf16 for .npy 'V2' arrays")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}));
  app->add_option("--name", options->name, "Tensor name for .npy and raw input (default: the file's stem)");
  app->add_option("--threads", options->threads, "Threads per tensor (the output is identical)")->default_val(1u);
  add_verbosity_flags(*app, options->verbosity);
  return {app, [options] { return run_encode(*options); }};
}

}  // namespace adacomp::cli
