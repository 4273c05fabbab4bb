#include <cstdio>
#include <memory>

#include "adacomp/error.hpp"
#include "adacomp/wire.hpp"
#include "cli_support.hpp"
#include "commands.hpp"
#include "layout_option.hpp"

namespace adacomp::cli {

namespace {

struct VerifyOptions {
  std::vector<std::string> inputs;
  std::string layout;
  Verbosity verbosity;
};

// Every rule a decoder checks, without writing anything (as `zstd -t`).
void verify_one(const std::string& path, const wire::Layout* layout, const Verbosity& verbosity) {
  FileInput input(path);
  wire::StreamReader reader(input);
  reader.set_agreed_layout(layout);
  std::uint64_t entries = 0;
  while (auto frame = reader.next())
    if (frame->info.kind == wire::FrameKind::compressed)
      entries += wire::sparse_from_frame(*frame, input.name()).entries.size();
  if (verbosity.level() >= 1)
    std::printf("%s: OK (%llu frames in %llu streams, %llu entries, %llu bytes)\n", input.name().c_str(),
                static_cast<unsigned long long>(reader.frames_read()),
                static_cast<unsigned long long>(reader.streams_read()), static_cast<unsigned long long>(entries),
                static_cast<unsigned long long>(reader.offset()));
}

int run_verify(VerifyOptions& options) {
  const auto layout = load_layout_option(options.layout);
  int status = kExitSuccess;
  for (const auto& path : options.inputs) {
    try {
      if (path == "-") refuse_terminal_input(path);
      verify_one(path, layout ? &*layout : nullptr, options.verbosity);
    } catch (const std::exception& e) {
      std::fflush(stdout);
      const int code = report_error(e);
      if (status == kExitSuccess) status = code;
    }
  }
  return status;
}

}  // namespace

Command add_verify_command(CLI::App& parent) {
  auto options = std::make_shared<VerifyOptions>();
  CLI::App* app =
      parent.add_subcommand("verify", "Check streams (checksums and every decoder rule) without writing output");
  app->add_option("inputs", options->inputs, "Streams to check ('-': stdin)")->required();
  add_layout_read_option(*app, options->layout);
  add_verbosity_flags(*app, options->verbosity);
  return {app, [options] { return run_verify(*options); }};
}

}  // namespace adacomp::cli
