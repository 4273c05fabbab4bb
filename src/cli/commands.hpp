#pragma once
#include <functional>

#include <CLI/CLI.hpp>

namespace adacomp::cli {

// A subcommand: its CLI11 parser and the function run after a successful parse.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_encode_command(CLI::App& parent);
Command add_decode_command(CLI::App& parent);
Command add_replay_command(CLI::App& parent);
Command add_inspect_command(CLI::App& parent);
Command add_diff_command(CLI::App& parent);
Command add_verify_command(CLI::App& parent);
Command add_bench_command(CLI::App& parent);
Command add_layout_command(CLI::App& parent);
Command add_codecs_command(CLI::App& parent);

}  // namespace adacomp::cli
