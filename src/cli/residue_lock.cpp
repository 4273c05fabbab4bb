#include "residue_lock.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "adacomp/error.hpp"

namespace adacomp::cli {

ResidueLock::ResidueLock(const std::string& residue_path, double timeout_seconds) {
  const std::string path = lock_path(residue_path);
  // Opened, never written: an existing file of that name keeps its content.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (fd_ < 0)
    fail_io(path + ": cannot open the lock file of --residue '" + residue_path + "': " + std::strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  for (;;) {
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int error = errno;
      ::close(fd_);
      fail_io(path + ": cannot lock: " + std::strerror(error));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd_);
      char waited[32];
      std::snprintf(waited, sizeof waited, "%g", timeout_seconds);
      fail_io(residue_path + ": the residue is locked by another adacomp process (lock file " + path +
              "); gave up after " + waited + " s (--lock-timeout)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ResidueLock::~ResidueLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the lock
}

}  // namespace adacomp::cli
