#include "output_file.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adacomp/error.hpp"
#include "cli_support.hpp"

namespace adacomp::cli {

namespace {

// Paths of pending temporary files, readable from a signal handler.
constexpr std::size_t kMaxPending = 8;
constexpr std::size_t kMaxPath = 4096;
std::array<std::array<char, kMaxPath>, kMaxPending> g_pending{};
std::array<std::atomic<bool>, kMaxPending> g_pending_used{};

int register_pending(const std::string& path) {
  if (path.size() >= kMaxPath) return -1;
  for (std::size_t i = 0; i < kMaxPending; ++i) {
    if (!g_pending_used[i].load()) {
      std::memcpy(g_pending[i].data(), path.c_str(), path.size() + 1);
      g_pending_used[i].store(true);
      return static_cast<int>(i);
    }
  }
  return -1;
}

void unregister_pending(int slot) {
  if (slot >= 0) g_pending_used[static_cast<std::size_t>(slot)].store(false);
}

void on_fatal_signal(int signal) {
  for (std::size_t i = 0; i < kMaxPending; ++i)
    if (g_pending_used[i].load()) ::unlink(g_pending[i].data());
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

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

void install_signal_handlers() {
  std::signal(SIGPIPE, SIG_IGN);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) std::signal(signal, on_fatal_signal);
}

OutputFile::OutputFile(std::string path, bool overwrite) : path_(std::move(path)) {
  if (path_ == "-") {
    if (is_terminal(STDOUT_FILENO))
      fail_usage("refusing to write binary data to a terminal (give -o FILE or redirect stdout)");
    fd_ = STDOUT_FILENO;
    direct_ = true;
    return;
  }
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
  pending_slot_ = register_pending(temp_path_);
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
  unregister_pending(pending_slot_);
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

void OutputFile::commit() {
  if (direct_) {
    committed_ = true;
    return;
  }
  if (::fsync(fd_) != 0) fail_io(path_ + ": write error: " + std::strerror(errno));
  const int close_result = ::close(fd_);
  fd_ = -1;
  if (close_result != 0) fail_io(path_ + ": write error: " + std::strerror(errno));
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
    fail_io(path_ + ": cannot replace: " + std::strerror(errno));
  committed_ = true;
}

}  // namespace adacomp::cli
