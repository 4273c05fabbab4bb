#pragma once
// A std::vector whose resize() leaves new elements of trivial types uninitialised
// (library-internal). For working buffers that are sized for the worst case and then written
// before they are read: value-initialising them would write, and fault in, every page of the
// worst case, where only the pages actually written need to be.
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace adacomp::detail {

template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <typename U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}

  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;  // default-initialised: no zero fill for trivial types
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    std::allocator_traits<std::allocator<T>>::construct(static_cast<std::allocator<T>&>(*this), p,
                                                        std::forward<Args>(args)...);
  }
};

template <typename T>
using UninitializedVector = std::vector<T, DefaultInitAllocator<T>>;

}  // namespace adacomp::detail
