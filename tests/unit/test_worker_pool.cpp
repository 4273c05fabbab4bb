// The pool of threads that runs the codec's parallel parts (src/common/worker_pool.hpp): every part
// once, on threads kept from call to call, for several callers at once, from inside a part, after
// a fork, and with a part that throws.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "common/worker_pool.hpp"
#include "test_support.hpp"

using namespace adacomp;

namespace {

using test_support::wait_for;

// Runs `parts` parts, each of which waits until `threads` different threads have entered one, and
// returns the threads that ran them, how often each part ran, and how many ran on a thread that
// had run no part before.
thread_local int parts_run_here = 0;
struct Run {
  std::set<std::thread::id> threads;
  std::vector<int> runs;
  int on_new_threads = 0;
};
Run run_on_threads(std::size_t parts, std::size_t threads) {
  Run run;
  run.runs.assign(parts, 0);
  std::mutex mutex;
  auto work = [&](std::size_t part) {
    {
      const std::lock_guard lock(mutex);
      run.threads.insert(std::this_thread::get_id());
      ++run.runs[part];
      run.on_new_threads += parts_run_here++ == 0;
    }
    wait_for([&] {
      const std::lock_guard lock(mutex);
      return run.threads.size() >= threads;
    });
  };
  detail::run_pooled(parts, detail::PartWork(work));
  return run;
}

}  // namespace

TEST_CASE("the pool runs every part once, on the caller's thread and pooled ones kept from call to call") {
  for (std::size_t parts : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{17}}) {
    const Run run = run_on_threads(parts, parts);  // a thread per part
    CHECK(run.runs == std::vector<int>(parts, 1));
    CHECK(run.threads.size() == parts);
    CHECK(run.threads.count(std::this_thread::get_id()) == 1);
  }
  // Every pooled thread has run a part now (the pool has as many as the largest call needed),
  // so a further call starts none.
  const Run again = run_on_threads(3, 3);
  CHECK(again.threads.size() == 3);
  CHECK(again.on_new_threads == 0);
  auto never = [](std::size_t) { FAIL("no part to run"); };
  detail::run_pooled(0, detail::PartWork(never));
}

TEST_CASE("the pool serves several callers at once, and a part that runs parts of its own") {
  constexpr std::size_t kCallers = 4, kCalls = 50, kParts = 3;
  std::vector<std::atomic<int>> runs(kCallers * kCalls * kParts);
  std::vector<std::thread> callers;
  for (std::size_t c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      for (std::size_t call = 0; call < kCalls; ++call) {
        auto work = [&](std::size_t part) { ++runs[(c * kCalls + call) * kParts + part]; };
        detail::run_pooled(kParts, detail::PartWork(work));
      }
    });
  for (auto& caller : callers) caller.join();
  CHECK(std::all_of(runs.begin(), runs.end(), [](const std::atomic<int>& r) { return r.load() == 1; }));

  // Every pooled thread may be busy in the outer call: the inner one still completes.
  std::atomic<int> inner_runs{0};
  auto outer = [&](std::size_t) {
    auto inner = [&](std::size_t) { ++inner_runs; };
    detail::run_pooled(5, detail::PartWork(inner));
  };
  detail::run_pooled(4, detail::PartWork(outer));
  CHECK(inner_runs.load() == 20);
}

TEST_CASE("the pool rethrows a part's exception once every part is done, and stays usable") {
  std::atomic<int> done{0};
  auto work = [&](std::size_t part) {
    if (part == 1) throw std::runtime_error("part 1");
    std::this_thread::sleep_for(std::chrono::milliseconds(part == 0 ? 20 : 0));
    ++done;
  };
  CHECK_THROWS_WITH(detail::run_pooled(4, detail::PartWork(work)), "part 1");
  CHECK(done.load() == 3);  // the others ran to the end before the call returned
  CHECK(run_on_threads(2, 2).threads.size() == 2);
}

TEST_CASE("a forked child gets pooled threads of its own") {
  REQUIRE(run_on_threads(2, 2).threads.size() == 2);  // the parent's pool has a thread
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    alarm(20);  // a hang fails the test instead of stalling the suite
    const Run run = run_on_threads(2, 2);
    _exit(run.threads.size() == 2 && run.runs == std::vector<int>{1, 1} ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
