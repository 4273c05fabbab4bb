#pragma once
// The residue's norm (library-internal): the sum of its squares, read through a pending
// correction without applying it.
#include <cstddef>
#include <cstdint>

namespace adacomp::detail {

// Sum in binary64 of the squares of residue[0, count), each element corrected first (as
// detail::corrected does) where its bit of `pending` is set (nullptr: none pending). The square of
// element i goes to partial sum i mod 8 and the eight partial sums are then added in order, so
// every target gives the same bits (the squares of float32 values are exact in binary64).
double sum_of_squares(const float* residue, const std::uint64_t* pending, std::size_t count, float scale);

}  // namespace adacomp::detail
