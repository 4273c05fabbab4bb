#include "worker_pool.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace adacomp::detail {

namespace {

// More threads than this never help a loop bound by one machine's memory; parts beyond them wait
// for a free thread.
constexpr std::size_t kMaxWorkers = 256;

// One call's parts; it lives on the caller's stack until every part is done.
struct Batch {
  PartWork work;
  std::size_t parts = 0;
  std::size_t next = 0;        // the next part to take
  std::size_t unfinished = 0;  // parts not yet done
  std::exception_ptr error;    // of the first part that threw
};

class WorkerPool {
 public:
  static WorkerPool& instance() {
    static const bool registered = [] {
      // A forked child has none of the parent's threads, and the pool's mutex may be held by one
      // of them: the child starts a pool of its own (the parent's is left as it is).
      pthread_atfork(nullptr, nullptr, [] { current_.store(nullptr); });
      return true;
    }();
    (void)registered;
    WorkerPool* pool = current_.load();
    if (pool) return *pool;
    // Never destroyed: its parked threads end with the process, and exit never waits on them.
    auto* fresh = new WorkerPool;
    if (current_.compare_exchange_strong(pool, fresh)) return *fresh;
    delete fresh;  // another thread's came first (it has no threads yet)
    return *pool;
  }

  void run(std::size_t parts, PartWork work) {
    Batch batch{work, parts, 0, parts, nullptr};
    std::size_t helpers = 0;
    {
      const std::lock_guard lock(mutex_);
      start_workers(parts - 1);
      helpers = std::min(parts - 1, threads_.size());
      if (helpers) batches_.push_back(&batch);
    }
    for (std::size_t i = 0; i < helpers; ++i) work_ready_.notify_one();
    for (;;) {
      std::size_t part = 0;
      {
        const std::lock_guard lock(mutex_);
        if (batch.next == batch.parts) break;
        part = take(batch);
      }
      execute(batch, part);
    }
    std::unique_lock lock(mutex_);
    batch_done_.wait(lock, [&] { return batch.unfinished == 0; });
    if (batch.error) std::rethrow_exception(batch.error);
  }

 private:
  WorkerPool() = default;

  // Up to `wanted` threads in all (fewer if the system refuses more). Under mutex_.
  void start_workers(std::size_t wanted) {
    wanted = std::min(wanted, kMaxWorkers);
    while (threads_.size() < wanted) try {
        threads_.emplace_back([this] { serve(); });
      } catch (const std::system_error&) {
        return;
      }
  }

  // Part `batch.next` of a batch with parts left, which leaves the queue with its last. Under mutex_.
  std::size_t take(Batch& batch) {
    const std::size_t part = batch.next++;
    if (batch.next == batch.parts) {
      const auto queued = std::find(batches_.begin(), batches_.end(), &batch);
      if (queued != batches_.end()) batches_.erase(queued);
    }
    return part;
  }

  void execute(Batch& batch, std::size_t part) {
    std::exception_ptr error;
    try {
      batch.work(part);
    } catch (...) {
      error = std::current_exception();
    }
    bool last = false;
    {
      const std::lock_guard lock(mutex_);
      if (error && !batch.error) batch.error = error;
      last = --batch.unfinished == 0;
    }
    // After the unlock the batch may be gone; the condition variable is the pool's.
    if (last) batch_done_.notify_all();
  }

  void serve() {
    for (;;) {
      Batch* batch = nullptr;
      std::size_t part = 0;
      {
        std::unique_lock lock(mutex_);
        work_ready_.wait(lock, [&] { return !batches_.empty(); });
        batch = batches_.front();
        part = take(*batch);
      }
      execute(*batch, part);
    }
  }

  static inline std::atomic<WorkerPool*> current_{nullptr};

  std::mutex mutex_;  // guards what follows, and every Batch's members but `work`
  std::condition_variable work_ready_, batch_done_;
  std::vector<Batch*> batches_;  // with parts not yet taken, oldest first
  std::vector<std::thread> threads_;
};

}  // namespace

void run_pooled(std::size_t parts, PartWork work) {
  if (parts == 0) return;
  if (parts == 1) {
    work(0);
    return;
  }
  WorkerPool::instance().run(parts, work);
}

}  // namespace adacomp::detail
