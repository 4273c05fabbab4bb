#pragma once
// What a fatal signal must not leave behind: the temporary files and directories an output is
// being built in. A registered path is removed by the signal handler (SIGINT, SIGTERM, SIGHUP)
// before the process dies by that signal; a closed pipe (SIGPIPE) is ignored so that it becomes
// an ordinary write error, after which the outputs' destructors remove their temporaries.
#include <string>

namespace adacomp::cli {

enum class PendingKind { file, directory };

// Registers `path` for removal on a fatal signal while alive; unregisters (without removing
// anything) when destroyed or released. Registration is lock-free and readable from the handler.
class PendingRemoval {
 public:
  PendingRemoval() = default;
  PendingRemoval(const std::string& path, PendingKind kind);
  ~PendingRemoval() { release(); }
  PendingRemoval(PendingRemoval&& other) noexcept : slot_(other.slot_) { other.slot_ = -1; }
  PendingRemoval& operator=(PendingRemoval&& other) noexcept;
  PendingRemoval(const PendingRemoval&) = delete;
  PendingRemoval& operator=(const PendingRemoval&) = delete;
  void release() noexcept;

 private:
  int slot_ = -1;
};

// Holds off SIGINT, SIGTERM and SIGHUP while alive, so that a group of renames that must happen
// together is not cut in the middle; a signal that arrived meanwhile is acted on at the end.
class SignalHold {
 public:
  SignalHold();
  ~SignalHold();
  SignalHold(const SignalHold&) = delete;
  SignalHold& operator=(const SignalHold&) = delete;
};

void install_signal_handlers();

// Removes a directory tree with async-signal-safe calls only (openat, getdents64, unlinkat);
// symbolic links inside are removed, never followed. Returns whether the tree is gone.
bool remove_tree_signal_safe(const char* path) noexcept;

}  // namespace adacomp::cli
