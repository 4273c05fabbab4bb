#pragma once
// The lock around encode --residue's read-modify-write: an exclusive flock(2) on FILE.lock, beside
// the residue file, held from before the residue is read until after the new one has replaced it.
// A second encode on the same residue waits for the first (up to a bounded time, then fails with
// exit 4 and changes nothing), so two updates of one residue are never interleaved and none is
// lost. The lock file is created empty if missing and left in place: removing it while no encode
// runs is harmless, and flock locks vanish with the process that held them.
#include <string>

namespace adacomp::cli {

class ResidueLock {
 public:
  // Waits up to `timeout_seconds` for the lock. Throws Error(io) when it cannot be had.
  ResidueLock(const std::string& residue_path, double timeout_seconds);
  ~ResidueLock();
  ResidueLock(const ResidueLock&) = delete;
  ResidueLock& operator=(const ResidueLock&) = delete;

  static std::string lock_path(const std::string& residue_path) { return residue_path + ".lock"; }

 private:
  int fd_ = -1;
};

}  // namespace adacomp::cli
