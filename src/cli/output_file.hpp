#pragma once
// File policy for outputs (as zstd's fileio.c): a regular file is written to a temporary file in
// the same directory and renamed into place on commit, so a failure or an interrupt never leaves a
// partial or clobbered file; stdout, devices and FIFOs are written directly, never replaced.
#include <cstddef>
#include <span>
#include <string>

namespace adacomp::cli {

class OutputFile {
 public:
  // path "-" is stdout. Refuses (Error usage) an existing regular file unless `overwrite`, and
  // binary data to a terminal.
  OutputFile(std::string path, bool overwrite);
  ~OutputFile();  // removes the temporary file unless committed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(std::span<const std::byte> bytes);
  // Flushes and moves the temporary file into place. Throws Error(io) on failure.
  void commit();
  const std::string& path() const { return path_; }
  bool is_stdout() const { return path_ == "-"; }

 private:
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  int pending_slot_ = -1;  // index in the signal handler's list of files to remove
  bool direct_ = false;
  bool committed_ = false;
};

// Remove pending temporary files on SIGINT, SIGTERM and SIGHUP; ignore SIGPIPE so that a closed
// pipe is an ordinary write error.
void install_signal_handlers();

}  // namespace adacomp::cli
