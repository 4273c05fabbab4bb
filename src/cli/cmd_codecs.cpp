// adacomp codecs: the codecs `replay --codec` compares, with their parameters and defaults
// (format_spec/codecs.md).
#include <cstdio>

#include "adacomp/codecs.hpp"
#include "cli_support.hpp"
#include "commands.hpp"

namespace adacomp::cli {

namespace {

int run_codecs() {
  for (const codecs::CodecInfo& info : codecs::catalogue()) {
    std::printf("%s: %s (%s)\n", info.name.c_str(), info.summary.c_str(), info.source.c_str());
    for (const codecs::Parameter& p : info.parameters)
      std::printf("    %s=%s  %s\n", p.name.c_str(), p.default_value.c_str(), p.help.c_str());
  }
  std::printf("replay --codec NAME[:KEY=VALUE,...] (repeatable), --codec all for every codec with its defaults\n");
  return kExitSuccess;
}

}  // namespace

Command add_codecs_command(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand("codecs", "List the codecs replay --codec compares, with their parameters");
  return {app, [] { return run_codecs(); }};
}

}  // namespace adacomp::cli
