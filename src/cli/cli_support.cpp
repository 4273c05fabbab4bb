#include "cli_support.hpp"

#include <filesystem>
#include <ios>
#include <iostream>
#include <new>
#include <system_error>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

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

namespace {
bool errors_printed = true;
}  // namespace

void print_errors(bool enabled) { errors_printed = enabled; }

int report_error(const std::exception& error) {
  int code = kExitInternal;
  std::string message = error.what();
  if (const auto* e = dynamic_cast<const Error*>(&error)) {
    code = e->exit_code();
  } else if (const auto* e = dynamic_cast<const std::filesystem::filesystem_error*>(&error)) {
    code = kExitIo;
    message = (e->path1().empty() ? std::string("file system") : e->path1().string()) + ": " + e->code().message();
  } else if (dynamic_cast<const std::ios_base::failure*>(&error)) {
    code = kExitIo;
    message = std::string("I/O error: ") + error.what();
  } else if (const auto* e = dynamic_cast<const std::system_error*>(&error)) {
    code = kExitIo;  // the system refused a resource: a thread, a file descriptor
    message = std::string("system error: ") + e->what();
  } else if (dynamic_cast<const std::bad_alloc*>(&error)) {
    code = kExitIo;
    message = "out of memory";
  } else if (dynamic_cast<const nlohmann::json::exception*>(&error)) {
    code = kExitInvalidInput;
    message = std::string("invalid JSON content: ") + error.what();
  } else {
    message = std::string("internal error (a bug in adacomp; please report it): ") + error.what();
  }
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  if (errors_printed) std::cerr << "adacomp: " << message << '\n';
  return code;
}

}  // namespace adacomp::cli
