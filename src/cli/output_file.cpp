#include "output_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adacomp/error.hpp"
#include "cli_support.hpp"

namespace adacomp::cli {

namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

OutputFile::OutputFile(std::string path, bool overwrite) : path_(std::move(path)) {
  if (path_ == "-") {
    if (is_terminal(STDOUT_FILENO))
      fail_usage("refusing to write binary data to a terminal (give -o FILE or redirect stdout)");
    fd_ = STDOUT_FILENO;
    direct_ = true;
    return;
  }
  if (path_.empty() || path_.back() == '/') fail_usage("'" + path_ + "': not a file name");
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) fail_usage(path_ + ": is a directory");
    if (!S_ISREG(st.st_mode)) {
      // Devices and FIFOs (/dev/null, /dev/full, named pipes) are written in place.
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd_ < 0) fail_io(path_ + ": cannot open for writing: " + std::strerror(errno));
      direct_ = true;
      return;
    }
    if (!overwrite) fail_usage(path_ + ": already exists; use -f to overwrite");
  }
  std::string temp = directory_of(path_) + "/." + base_of(path_) + ".adacomp-XXXXXX";
  fd_ = ::mkstemp(temp.data());
  if (fd_ < 0) fail_io(path_ + ": cannot create a file in " + directory_of(path_) + ": " + std::strerror(errno));
  temp_path_ = temp;
  pending_temp_ = PendingRemoval(temp_path_, PendingKind::file);
  // mkstemp creates 0600; give the file the mode a plain creat() would.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
}

OutputFile::~OutputFile() {
  if (direct_) {
    if (fd_ > STDERR_FILENO) ::close(fd_);
    return;
  }
  if (!committed_) {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(temp_path_.c_str());
  }
  finish_commit();
}

void OutputFile::write(std::span<const std::byte> bytes) {
  const std::string name = is_stdout() ? "<stdout>" : path_;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_io(name + ": write error: " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
}

void OutputFile::write_at_commit(std::span<const std::byte> bytes) {
  tail_.insert(tail_.end(), bytes.begin(), bytes.end());
}

void OutputFile::write_tail_and_close() {
  write(tail_);
  tail_.clear();
  if (direct_) return;
  if (::fsync(fd_) != 0) fail_io(path_ + ": write error: " + std::strerror(errno));
  const int close_result = ::close(fd_);
  fd_ = -1;
  if (close_result != 0) fail_io(path_ + ": write error: " + std::strerror(errno));
}

void OutputFile::move_into_place(bool keep_previous) {
  write_tail_and_close();
  if (direct_) {
    committed_ = true;
    return;
  }
  struct stat st;
  replaced_ = ::lstat(path_.c_str(), &st) == 0;
  if (replaced_ && keep_previous) {
    // A second name for the file being replaced, so that roll_back() can put it back.
    for (int attempt = 0; attempt < 100 && previous_path_.empty(); ++attempt) {
      std::string name = directory_of(path_) + "/." + base_of(path_) + ".adacomp-previous-" +
                         std::to_string(::getpid()) + "-" + std::to_string(attempt);
      if (::linkat(AT_FDCWD, path_.c_str(), AT_FDCWD, name.c_str(), 0) == 0) {
        pending_previous_ = PendingRemoval(name, PendingKind::file);
        previous_path_ = std::move(name);
      } else if (errno != EEXIST) {
        break;  // no hard links here: the replaced file cannot be put back
      }
    }
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) fail_io(path_ + ": cannot replace: " + std::strerror(errno));
  pending_temp_.release();
  committed_ = true;
}

void OutputFile::roll_back() noexcept {
  if (!committed_ || direct_) return;
  if (!previous_path_.empty()) {
    if (::rename(previous_path_.c_str(), path_.c_str()) == 0) previous_path_.clear();
  } else if (!replaced_) {
    ::unlink(path_.c_str());
  }
  pending_previous_.release();
}

void OutputFile::finish_commit() noexcept {
  if (!previous_path_.empty()) ::unlink(previous_path_.c_str());
  previous_path_.clear();
  pending_previous_.release();
}

}  // namespace adacomp::cli
