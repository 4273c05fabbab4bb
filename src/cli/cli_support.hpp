#pragma once
// What every subcommand shares: exit codes, verbosity, terminal checks, error reporting.
#include <string>

#include <CLI/CLI.hpp>

namespace adacomp::cli {

// Documented in README.md "Exit codes"; the same for every subcommand. Errors map from
// adacomp::ErrorKind, whose values are these codes.
enum ExitCode : int {
  kExitSuccess = 0,
  kExitDifferent = 1,  // diff: inputs differ (reserved for diff)
  kExitUsage = 2,
  kExitInvalidInput = 3,
  kExitIo = 4,
  kExitInternal = 5,
};

// The most threads a --threads option takes: far beyond any machine's use, far below a count
// whose thread stacks alone would exhaust memory.
inline constexpr unsigned kMaxThreads = 1024;

struct Verbosity {
  int verbose = 0;
  int quiet = 0;
  int level() const { return 1 + verbose - quiet; }  // 0 quiet, 1 default, 2+ verbose
};

void add_verbosity_flags(CLI::App& app, Verbosity& verbosity);

bool is_terminal(int fd);
// zstd's rule: binary data never goes to or comes from a terminal.
void refuse_terminal_input(const std::string& path);

// An existing output that is not a regular file (device, FIFO): written in place, and given the
// format stdout would get when its name has no extension to go by.
bool is_special_file(const std::string& path);

// The name given to the single tensor of a .npy or raw input: the file's stem, or "tensor".
std::string stem_of(const std::string& path);

// Prints "adacomp: <message>" on one line and returns the exit code for the exception.
int report_error(const std::exception& error);
// Whether report_error prints (the ranks of an MPI replay but rank 0 stay silent: every rank has
// the same error, and rank 0 says it once).
void print_errors(bool enabled);

}  // namespace adacomp::cli
