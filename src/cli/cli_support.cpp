#include "cli_support.hpp"

#include <iostream>
#include <new>

#include <sys/stat.h>
#include <unistd.h>

#include "adacomp/error.hpp"

namespace adacomp::cli {

void add_verbosity_flags(CLI::App& app, Verbosity& verbosity) {
  app.add_flag("-v,--verbose", verbosity.verbose, "More output on stderr (repeatable)");
  app.add_flag("-q,--quiet", verbosity.quiet, "Less output on stderr: errors only");
}

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

bool is_special_file(const std::string& path) {
  struct stat st;
  return path != "-" && ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

void refuse_terminal_input(const std::string& path) {
  if (path == "-" && is_terminal(STDIN_FILENO))
    fail_usage("refusing to read binary data from a terminal (give an input file or redirect stdin)");
}

std::string stem_of(const std::string& path) {
  if (path == "-") return "tensor";
  const auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const auto dot = base.rfind('.');
  if (dot != std::string::npos && dot > 0) base.resize(dot);
  return base.empty() ? "tensor" : base;
}

int report_error(const std::exception& error) {
  int code = kExitInternal;
  if (const auto* e = dynamic_cast<const Error*>(&error)) code = e->exit_code();
  else if (dynamic_cast<const std::bad_alloc*>(&error)) code = kExitInternal;
  std::string message = error.what();
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  if (dynamic_cast<const std::bad_alloc*>(&error)) message = "out of memory";
  std::cerr << "adacomp: " << message << '\n';
  return code;
}

}  // namespace adacomp::cli
