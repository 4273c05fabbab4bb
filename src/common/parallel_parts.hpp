#pragma once
// The thread splits of compress and decompress (library-internal).
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <vector>

#include "worker_pool.hpp"

namespace adacomp::detail {

// Threads for a tensor: at most one per 256 Ki elements, below which a second thread gains too
// little or nothing even with pooled threads (README, "Performance").
inline std::size_t thread_parts(std::size_t elements, unsigned threads) {
  constexpr std::size_t kMinElementsPerThread = std::size_t{1} << 18;
  return std::max<std::size_t>(1, std::min<std::size_t>(threads, elements / kMinElementsPerThread));
}

// work(p) for p in [0, parts), part 0 on the caller's thread and the others on the pool's
// (worker_pool.hpp), or on the caller's where no pooled thread is free: fewer threads, same result.
template <typename Work>
void run_parts(std::size_t parts, Work&& work) {
  run_pooled(parts, PartWork(work));
}

// do_job(j) for j in [0, jobs) on `threads` threads (the caller's among them), each taking the
// next job as soon as it is free, so that a slower core does fewer; and commit(j) in job order,
// each as soon as job j and the jobs before it are done, by the thread that completes that order
// (one commit at a time, so commits need no locking of their own). A job that throws stops the
// start of further jobs; once every thread is done, the exception of the first failing job is
// rethrown, and no job from that one on is committed.
template <typename DoJob, typename Commit>
void run_jobs(std::size_t jobs, std::size_t threads, DoJob&& do_job, Commit&& commit) {
  std::atomic<std::size_t> next_job{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;  // guards what follows
  std::vector<char> done(jobs, 0);
  std::vector<std::exception_ptr> errors(jobs);
  std::size_t committed = 0;
  run_parts(std::max<std::size_t>(1, threads), [&](std::size_t) {
    while (!failed.load(std::memory_order_relaxed)) {
      // Jobs are taken in order, so when one fails every job before it is running or done.
      const std::size_t j = next_job.fetch_add(1, std::memory_order_relaxed);
      if (j >= jobs) return;
      try {
        do_job(j);
      } catch (...) {
        const std::lock_guard lock(mutex);
        errors[j] = std::current_exception();
        failed = true;
        return;
      }
      const std::lock_guard lock(mutex);
      done[j] = 1;
      try {
        for (; committed < jobs && done[committed]; ++committed) commit(committed);
      } catch (...) {
        errors[committed] = std::current_exception();
        done[committed] = 0;  // nothing from here on is committed
        failed = true;
        return;
      }
    }
  });
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

}  // namespace adacomp::detail
