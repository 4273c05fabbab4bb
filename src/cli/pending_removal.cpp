#include "pending_removal.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "cli_support.hpp"

namespace adacomp::cli {

namespace {

// Fixed storage, because the handler may neither allocate nor lock. A command has at most a
// handful of outputs, each with one temporary and at most one kept predecessor.
constexpr std::size_t kMaxPending = 16;
constexpr std::size_t kMaxPath = 4096;
std::array<std::array<char, kMaxPath>, kMaxPending> g_paths{};
std::array<std::atomic<int>, kMaxPending> g_kinds{};  // 0 free, else 1 + PendingKind

constexpr int kFatalSignals[] = {SIGINT, SIGTERM, SIGHUP};
constexpr int kMaxTreeDepth = 16;

bool remove_entries(int dir_fd, int depth) noexcept {
  bool all_gone = true;
  alignas(8) char buffer[4096];
  for (;;) {
    const ssize_t n = ::getdents64(dir_fd, buffer, sizeof buffer);
    if (n <= 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* entry = reinterpret_cast<const dirent64*>(buffer + at);
      at += entry->d_reclen;
      const char* name = entry->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      if (::unlinkat(dir_fd, name, 0) == 0) continue;
      if (errno != EISDIR || depth >= kMaxTreeDepth) {
        all_gone = false;
        continue;
      }
      const int child = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) {
        all_gone = false;
        continue;
      }
      remove_entries(child, depth + 1);
      ::close(child);
      if (::unlinkat(dir_fd, name, AT_REMOVEDIR) != 0) all_gone = false;
    }
  }
  return all_gone;
}

// SignalHold's state: while held, a fatal signal is only noted, and acted on when the hold ends.
// Process-wide (not a thread mask), because the signal may go to any thread, a pool worker too.
std::atomic<int> g_hold_depth{0};
std::atomic<int> g_deferred_signal{0};

void remove_pending() noexcept {
  for (std::size_t i = 0; i < kMaxPending; ++i) {
    const int kind = g_kinds[i].load();
    if (kind == 1 + static_cast<int>(PendingKind::file)) ::unlink(g_paths[i].data());
    if (kind == 1 + static_cast<int>(PendingKind::directory)) remove_tree_signal_safe(g_paths[i].data());
  }
}

void on_fatal_signal(int signal) {
  if (g_hold_depth.load() > 0) {
    g_deferred_signal.store(signal);
    return;
  }
  const int saved_errno = errno;
  remove_pending();
  errno = saved_errno;
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

void write_stderr(const char* text) noexcept {
  for (std::size_t left = std::strlen(text); left > 0;) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<std::size_t>(n);
  }
}

// A mapped input shrunk by another process under our feet: an I/O error like a failed read(),
// reported and cleaned up as one, not a crash. Any other SIGBUS is a bug and dies as such.
void on_bus_error(int signal, siginfo_t* info, void*) {
  const char* file = mapped_file_at(info->si_addr);
  if (!file) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  remove_pending();
  write_stderr("adacomp: ");
  write_stderr(file);
  write_stderr(": the file was truncated by another process while it was being read; nothing was written\n");
  ::_exit(kExitIo);
}

}  // namespace

bool remove_tree_signal_safe(const char* path) noexcept {
  // Other threads may still be adding files while the handler runs: a few passes catch them.
  for (int pass = 0; pass < 4; ++pass) {
    const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT;
    remove_entries(fd, 0);
    ::close(fd);
    if (::rmdir(path) == 0 || errno == ENOENT) return true;
  }
  return false;
}

PendingRemoval::PendingRemoval(const std::string& path, PendingKind kind) {
  if (path.size() >= kMaxPath) fail_usage(path + ": path too long for a temporary file");
  for (std::size_t i = 0; i < kMaxPending; ++i) {
    int expected = 0;
    // Claim the slot with an invalid kind, fill in the path, then publish the kind.
    if (g_kinds[i].compare_exchange_strong(expected, -1)) {
      std::memcpy(g_paths[i].data(), path.c_str(), path.size() + 1);
      g_kinds[i].store(1 + static_cast<int>(kind));
      slot_ = static_cast<int>(i);
      return;
    }
  }
  throw Error(ErrorKind::internal, path + ": more temporary outputs at once than the signal cleanup can hold");
}

PendingRemoval& PendingRemoval::operator=(PendingRemoval&& other) noexcept {
  if (this != &other) {
    release();
    slot_ = other.slot_;
    other.slot_ = -1;
  }
  return *this;
}

void PendingRemoval::release() noexcept {
  if (slot_ >= 0) g_kinds[static_cast<std::size_t>(slot_)].store(0);
  slot_ = -1;
}

SignalHold::SignalHold() { g_hold_depth.fetch_add(1); }

SignalHold::~SignalHold() {
  if (g_hold_depth.fetch_sub(1) == 1) {
    const int signal = g_deferred_signal.exchange(0);
    if (signal) on_fatal_signal(signal);
  }
}

void install_signal_handlers() {
  std::signal(SIGPIPE, SIG_IGN);
  for (int signal : kFatalSignals) std::signal(signal, on_fatal_signal);
  struct sigaction action = {};
  action.sa_sigaction = on_bus_error;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, nullptr);
}

}  // namespace adacomp::cli
