#include <sys/stat.h>
#include <charconv>
#include <cstdio>
#include <memory>

#include "adacomp/encoder.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "adacomp/wire.hpp"
#include "cli_support.hpp"
#include "codec_options.hpp"
#include "commands.hpp"
#include "layout_option.hpp"
#include "option_checks.hpp"
#include "output_file.hpp"
#include "path_policy.hpp"
#include "report_table.hpp"
#include "residue_lock.hpp"

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
  double lock_timeout = 60;
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

// A residue is a regular file or nothing yet: a device or FIFO cannot be replaced atomically.
void check_residue_path(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    fail_usage("--residue '" + path + "': not a regular file");
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
  settings.threads = options.threads;
  const bool keeps_residue = !options.residue.empty();
  if (keeps_residue) {
    residue_format(options.residue);
    check_residue_path(options.residue);
  }

  TensorReadOptions read_options;
  if (!options.dtype.empty()) {
    read_options.dtype = dtype_from_name(options.dtype);
    if (!read_options.dtype) fail_usage("--dtype must be one of " + std::string(dtype_names()));
  }
  if (!options.shape.empty()) read_options.raw_shape = parse_shape(options.shape);
  read_options.single_name = options.name.empty() ? stem_of(options.input) : options.name;

  refuse_terminal_input(options.input);
  IoPlan plan;
  plan.add_input(options.input, "input");
  plan.add_output(options.output, "-o");
  if (keeps_residue) plan.add_updated(options.residue, "--residue");
  plan_layout(plan, options.codec.layout);
  plan.check();
  OutputFile output(options.output, options.force);
  // Held from before the residue is read until after its successor has replaced it.
  std::unique_ptr<ResidueLock> lock;
  if (keeps_residue) lock = std::make_unique<ResidueLock>(options.residue, options.lock_timeout);

  const InputTensors input = read_input_tensors(options.input, read_options);
  const std::span<const TensorView> tensors = input.views();
  AgreedLayout layout;
  if (!options.codec.layout.empty()) {
    layout = agree_layout(options.codec.layout, tensors, settings);
    settings.layout = &layout.layout;
  }

  ResidueMap residues;
  if (keeps_residue) {
    residues = load_residues(options.residue);
    if (!residues.empty()) check_residues(residues, tensors, settings, options.residue);
  }

  std::vector<std::byte> stream;
  const auto frames = keeps_residue ? encode_stream(tensors, residues, settings, stream)
                                    : encode_stream_fresh(tensors, settings, stream);

  std::unique_ptr<OutputFile> residue_output;
  if (keeps_residue) {
    std::vector<Tensor> ordered;
    for (const TensorView& tensor : tensors)
      if (!settings.excluded(tensor.name)) ordered.push_back(residues.at(tensor.name).take());
    residue_output = std::make_unique<OutputFile>(options.residue, true);
    // Straight from the residue's memory to the file: no serialized copy of it is made.
    write_tensor_file(ordered, residue_format(options.residue),
                      [&](std::span<const std::byte> piece) { residue_output->write(piece); });
  }
  // The end record goes out last, with the residue already in place: a stream on stdout is
  // complete only for an update that was kept, and if it cannot be finished the residue is put
  // back.
  const std::span<const std::byte> bytes(stream);
  const std::size_t end_record = wire::end_record_bytes(settings.entries, frames.size());
  output.write(bytes.first(bytes.size() - end_record));
  output.write_at_commit(bytes.last(end_record));
  commit_together({layout.file.get(), residue_output.get(), &output});

  if (options.verbosity.level() >= 2 || (options.verbosity.level() == 1 && is_terminal(2)))
    print_frame_table(frames, options.verbosity.level() >= 2, stream.size());
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
  app->add_option("--dtype", options->dtype,
                  "Element type of raw input; bf16 for .npy 'V2' arrays, f8e5m2|f8e4m3|f8e4m3b11 for 'V1'")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "f8e5m2", "f8e4m3", "f8e4m3b11"}));
  app->add_option("--name", options->name, "Tensor name for .npy and raw input (default: the file's stem)");
  app->add_option("--threads", options->threads, "Threads per tensor (the output is identical)")
      ->default_val(1u)
      ->check(integer_from(1, kMaxThreads));
  app->add_option("--lock-timeout", options->lock_timeout,
                  "Seconds to wait for another encode holding the same --residue (default 60)")
      ->check(number_from(0, 86400));
  add_verbosity_flags(*app, options->verbosity);
  return {app, [options] { return run_encode(*options); }};
}

}  // namespace adacomp::cli
