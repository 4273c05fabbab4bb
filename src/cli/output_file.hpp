#pragma once
// File policy for outputs (as zstd's fileio.c): a regular file is written to a temporary file in
// the same directory and renamed into place on commit, so a failure or an interrupt never leaves a
// partial or clobbered file; stdout, devices and FIFOs are written directly, never replaced.
// Which paths may be outputs at all is path_policy.hpp's IoPlan.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "commit_group.hpp"
#include "pending_removal.hpp"

namespace adacomp::cli {

class OutputFile : public GroupOutput {
 public:
  // path "-" is stdout. Refuses (Error usage) an existing regular file unless `overwrite`, a
  // directory, and binary data to a terminal.
  OutputFile(std::string path, bool overwrite);
  ~OutputFile() override;  // removes the temporary file unless committed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(std::span<const std::byte> bytes);
  // Bytes written only at commit, last: a stream's end record, held back so that a stream on
  // stdout is not complete (and no decoder accepts it) until the outputs committed with it are.
  void write_at_commit(std::span<const std::byte> bytes);
  // Flushes and moves the temporary file into place. Throws Error(io) on failure.
  void commit() { move_into_place(false); }
  const std::string& path() const { return path_; }
  bool is_stdout() const { return path_ == "-"; }

  void move_into_place(bool keep_previous) override;
  void roll_back() noexcept override;
  void finish_commit() noexcept override;

 private:
  void write_tail_and_close();

  std::string path_;
  std::string temp_path_;
  std::string previous_path_;  // a hard link to the file this one replaced, until finish_commit
  PendingRemoval pending_temp_, pending_previous_;
  std::vector<std::byte> tail_;
  int fd_ = -1;
  bool direct_ = false;
  bool committed_ = false;
  bool replaced_ = false;  // a file existed at path_ when committed
};

}  // namespace adacomp::cli
