#pragma once
// A directory output (replay --save-stream DIR): built as a temporary directory beside DIR, with
// a marker file inside that says adacomp wrote it, and moved into place on commit. An existing DIR
// is replaced only when it holds that marker (and only with -f); anything else that exists, and
// DIR being the working directory, the root or an ancestor of either, is refused with or without
// -f. The old DIR is removed only after the new one is in place.
#include <string>

#include "commit_group.hpp"
#include "pending_removal.hpp"

namespace adacomp::cli {

// The marker's name inside a directory output, and its first line.
inline constexpr const char* kDirectoryMarkerName = ".adacomp-stream-directory";
inline constexpr const char* kDirectoryMarkerLine = "adacomp stream directory";

class OutputDirectory : public GroupOutput {
 public:
  // An empty path is no output: every call does nothing. `option` names it in messages.
  OutputDirectory(std::string path, bool overwrite, const std::string& option);
  ~OutputDirectory() override;  // removes the temporary directory unless committed
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  // Where the files go until commit.
  const std::string& temp() const { return temp_; }

  // The previous directory is always kept until finish_commit(): its removal, however large, then
  // runs after the signals are no longer held.
  void move_into_place(bool keep_previous) override;
  void roll_back() noexcept override;
  void finish_commit() noexcept override;

 private:
  // Throws unless what is at path_ now may be replaced (absent, or a marked directory).
  bool check_replaceable() const;

  std::string path_, option_, temp_;
  PendingRemoval pending_;
  bool overwrite_ = false;
  bool committed_ = false;
  bool exchanged_ = false;      // temp_ now holds the previous directory
  std::string moved_previous_;  // or the previous directory was renamed here
};

}  // namespace adacomp::cli
