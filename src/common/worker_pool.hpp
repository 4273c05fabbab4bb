#pragma once
// Threads kept for the codec's parallel parts (library-internal): starting and joining a thread
// per call costs a noticeable share of a step (README, "Performance"), and a new thread faults in
// its stack afresh; waking a parked one costs a fraction.
#include <cstddef>
#include <type_traits>
#include <utility>

namespace adacomp::detail {

// A reference to a callable taking a part index, without ownership or allocation.
class PartWork {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, PartWork>>>
  PartWork(F& work) : object_(&work), call_([](void* object, std::size_t part) { (*static_cast<F*>(object))(part); }) {}
  void operator()(std::size_t part) const { call_(object_, part); }

 private:
  void* object_;
  void (*call_)(void*, std::size_t);
};

// Runs work(p) for every p in [0, parts) and returns when all are done. The calling thread runs
// parts too, and whatever part no pooled thread has taken by the time it is free (so a busy or
// smaller pool, a failed thread start, a forked child or a nested call gives fewer threads and
// the same result). When parts throw, the first exception is rethrown to the caller once every
// part is done. Callers on several threads may share the pool.
void run_pooled(std::size_t parts, PartWork work);

}  // namespace adacomp::detail
