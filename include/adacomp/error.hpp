#pragma once
#include <stdexcept>
#include <string>

namespace adacomp {

// One error type for the whole library. The category decides the process exit code
// (documented in README.md, "Exit codes"); the message is one line naming the file,
// tensor or byte offset and what is wrong.
enum class ErrorKind {
  usage = 2,          // the command line asks for something impossible or unsafe
  invalid_input = 3,  // input data is malformed, corrupt, truncated or unsupported
  io = 4,             // a file could not be opened, read or written
  internal = 5,       // a bug or resource exhaustion in adacomp itself
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }
  int exit_code() const noexcept { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void fail_input(const std::string& message) { throw Error(ErrorKind::invalid_input, message); }
[[noreturn]] inline void fail_io(const std::string& message) { throw Error(ErrorKind::io, message); }
[[noreturn]] inline void fail_usage(const std::string& message) { throw Error(ErrorKind::usage, message); }

}  // namespace adacomp
