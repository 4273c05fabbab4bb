#include "output_directory.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adacomp/error.hpp"
#include "path_policy.hpp"

namespace adacomp::cli {

namespace fs = std::filesystem;

namespace {

bool has_marker(const std::string& dir) {
  const std::string marker = dir + "/" + kDirectoryMarkerName;
  struct stat st;
  if (::lstat(marker.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::ifstream in(marker);
  std::string line;
  return std::getline(in, line) && line == kDirectoryMarkerLine;
}

void remove_tree(const std::string& path) noexcept {
  std::error_code ec;
  fs::remove_all(path, ec);
}

}  // namespace

OutputDirectory::OutputDirectory(std::string path, bool overwrite, const std::string& option)
    : path_(std::move(path)), option_(option), overwrite_(overwrite) {
  if (path_.empty()) return;
  const std::string what = option_ + " '" + path_ + "'";
  const std::string resolved = resolved_path(path_);
  const std::string cwd = resolved_path(".");
  if (path_within(cwd, resolved))
    fail_usage(what + ": is the working directory or one of its ancestors; refusing to replace it");
  check_replaceable();
  const fs::path target(resolved);
  const std::string parent = target.parent_path().string();
  std::string pattern = parent + "/." + target.filename().string() + ".adacomp-XXXXXX";
  if (!::mkdtemp(pattern.data()))
    fail_io(path_ + ": cannot create a directory in " + parent + ": " + std::strerror(errno));
  temp_ = pattern;
  pending_ = PendingRemoval(temp_, PendingKind::directory);
  std::ofstream marker(temp_ + "/" + kDirectoryMarkerName);
  marker << kDirectoryMarkerLine << "\nwritten by adacomp; a later run with -f may replace this directory whole\n";
  marker.close();
  if (!marker) fail_io(temp_ + "/" + kDirectoryMarkerName + ": write error");
}

bool OutputDirectory::check_replaceable() const {
  const std::string what = option_ + " '" + path_ + "'";
  struct stat st;
  if (::lstat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    fail_io(path_ + ": cannot look at it: " + std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode))
    fail_usage(what + ": is a symbolic link, not a directory adacomp wrote; refusing to replace it");
  if (!S_ISDIR(st.st_mode)) fail_usage(what + ": exists and is not a directory; refusing to replace it");
  if (!has_marker(path_))
    fail_usage(what + ": exists and is not a stream directory written by adacomp (no " + kDirectoryMarkerName +
               " inside); refusing to replace it, with or without -f");
  if (!overwrite_) fail_usage(path_ + ": already exists; use -f to replace it");
  return true;
}

OutputDirectory::~OutputDirectory() {
  if (!temp_.empty() && !committed_) remove_tree(temp_);
  finish_commit();
}

void OutputDirectory::move_into_place(bool /*keep_previous*/) {
  if (temp_.empty()) return;
  // Checked again: the target may have changed while the replay ran.
  const bool replacing = check_replaceable();
  if (!replacing) {
    if (::rename(temp_.c_str(), path_.c_str()) != 0)
      fail_io(path_ + ": cannot move the streams into place: " + std::strerror(errno));
    pending_.release();
    committed_ = true;
    return;
  }
  if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_EXCHANGE) == 0) {
    exchanged_ = true;  // temp_ holds the previous directory, still registered for removal
    committed_ = true;
    return;
  }
  if (errno != EINVAL && errno != ENOSYS)
    fail_io(path_ + ": cannot move the streams into place: " + std::strerror(errno));
  // No atomic exchange on this file system: move the old one aside, then the new one in.
  std::string aside = temp_ + "-previous";
  if (::rename(path_.c_str(), aside.c_str()) != 0)
    fail_io(path_ + ": cannot move the previous directory aside: " + std::strerror(errno));
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int error = errno;
    ::rename(aside.c_str(), path_.c_str());
    fail_io(path_ + ": cannot move the streams into place: " + std::strerror(error));
  }
  moved_previous_ = aside;
  pending_ = PendingRemoval(moved_previous_, PendingKind::directory);
  committed_ = true;
}

void OutputDirectory::roll_back() noexcept {
  if (!committed_) return;
  if (exchanged_) {
    if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_EXCHANGE) == 0) exchanged_ = false;
    committed_ = false;  // temp_ holds the new directory again: the destructor removes it
    return;
  }
  if (!moved_previous_.empty()) {
    if (::rename(path_.c_str(), temp_.c_str()) == 0 && ::rename(moved_previous_.c_str(), path_.c_str()) == 0) {
      moved_previous_.clear();
      try {
        pending_ = PendingRemoval(temp_, PendingKind::directory);
      } catch (...) {
      }
      committed_ = false;
    }
    return;
  }
  remove_tree(path_);  // nothing was there before
  pending_.release();
  committed_ = false;
  temp_.clear();
}

void OutputDirectory::finish_commit() noexcept {
  if (!committed_) return;
  if (exchanged_) remove_tree(temp_);
  if (!moved_previous_.empty()) remove_tree(moved_previous_);
  exchanged_ = false;
  moved_previous_.clear();
  pending_.release();
}

}  // namespace adacomp::cli
