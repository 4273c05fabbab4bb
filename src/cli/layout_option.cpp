#include "layout_option.hpp"

#include <sys/stat.h>

#include <filesystem>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "output_file.hpp"

namespace adacomp::cli {

namespace fs = std::filesystem;

void add_layout_read_option(CLI::App& app, std::string& path) {
  app.add_option("--layout", path, "Layout file of streams that refer to an agreed layout (encode --layout)")
      ->type_name("FILE");
}

std::optional<wire::Layout> load_layout_option(const std::string& path) {
  if (path.empty()) return std::nullopt;
  FileInput input(path);
  return wire::read_layout(input);
}

namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

AgreedLayout agree_layout(const std::string& path, std::span<const TensorView> tensors,
                          const EncodeSettings& settings) {
  if (exists(path)) return {*load_layout_option(path), nullptr};
  AgreedLayout agreed{layout_for(tensors, settings), std::make_unique<OutputFile>(path, false)};
  agreed.file->write(wire::layout_file_bytes(agreed.layout));
  return agreed;
}

void plan_layout(IoPlan& plan, const std::string& path) {
  if (path.empty()) return;
  if (exists(path))
    plan.add_input(path, "--layout");
  else
    plan.add_output(path, "--layout");
}

std::string tensor_source(const std::string& input) {
  std::error_code ec;
  if (!fs::is_directory(input, ec)) return input;
  for (const char* extension : {".npz", ".safetensors"}) {
    const fs::path file = fs::path(input) / "step-00000" / (std::string("learner-0") + extension);
    if (fs::is_regular_file(file, ec)) return file.string();
  }
  fail_input(input + ": a directory without step-00000/learner-0.npz or .safetensors is not a dump");
}

}  // namespace adacomp::cli
