#include "adacomp/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace adacomp {

double ratio_or_nan(double numerator, double denominator) {
  if (denominator == 0.0) return numerator == 0.0 ? 0.0 : std::nan("");
  return numerator / denominator;
}

namespace {

// Two binary64 lanes (GCC and Clang vector extensions: one SSE2 register on the x86-64 baseline,
// where the compiler does not vectorize the scalar form of these sums on its own).
using Pair = double __attribute__((vector_size(2 * sizeof(double))));

// Partial sums and extremes of one kind of figure for lanes (0, 1) and (2, 3).
struct LaneSums {
  Pair d2 = {}, r2 = {}, a2 = {}, ar = {}, worst = {}, low, high;

  explicit LaneSums(double first) : low{first, first}, high{first, first} {}

  void add(Pair a, Pair r) {
    const Pair d = a - r;
    const Pair abs_d = d < 0 ? -d : d;
    d2 += d * d;
    r2 += r * r;
    a2 += a * a;
    ar += a * r;
    worst = worst < abs_d ? abs_d : worst;  // std::max's choice, NaN included
    low = r < low ? r : low;
    high = high < r ? r : high;
  }
};

double fold(Pair p01, Pair p23) { return (p01[0] + p01[1]) + (p23[0] + p23[1]); }

}  // namespace

void ErrorStats::add(std::span<const float> x, std::span<const float> ref) {
  if (x.empty()) return;
  // Four partial sums of each kind, element i into partial i mod 4, then added as
  // (p0 + p1) + (p2 + p3): independent chains of additions, where one sum in index order waits on
  // every addition.
  const double first = ref[0];
  LaneSums lo(first), hi(first);  // lanes 0 and 1, lanes 2 and 3
  const std::size_t n = x.size();
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    lo.add(Pair{x[i], x[i + 1]}, Pair{ref[i], ref[i + 1]});
    hi.add(Pair{x[i + 2], x[i + 3]}, Pair{ref[i + 2], ref[i + 3]});
  }
  for (std::size_t k = 0; i + k < n; ++k) {  // the last elements, each in its lane
    LaneSums& half = k < 2 ? lo : hi;
    const std::size_t lane = k % 2;
    const double a = x[i + k], r = ref[i + k], d = a - r, abs_d = std::fabs(d);
    half.d2[lane] += d * d;
    half.r2[lane] += r * r;
    half.a2[lane] += a * a;
    half.ar[lane] += a * r;
    half.worst[lane] = half.worst[lane] < abs_d ? abs_d : half.worst[lane];
    half.low[lane] = r < half.low[lane] ? r : half.low[lane];
    half.high[lane] = half.high[lane] < r ? r : half.high[lane];
  }
  diff2 += fold(lo.d2, hi.d2);
  ref2 += fold(lo.r2, hi.r2);
  x2 += fold(lo.a2, hi.a2);
  dot += fold(lo.ar, hi.ar);
  const double block_worst = std::max({lo.worst[0], lo.worst[1], hi.worst[0], hi.worst[1]});
  const double block_low = std::min({lo.low[0], lo.low[1], hi.low[0], hi.low[1]});
  const double block_high = std::max({lo.high[0], lo.high[1], hi.high[0], hi.high[1]});
  max_abs_diff = std::max(max_abs_diff, block_worst);
  ref_min = count ? std::min(ref_min, block_low) : block_low;
  ref_max = count ? std::max(ref_max, block_high) : block_high;
  count += n;
}

void ErrorStats::merge(const ErrorStats& other) {
  if (!other.count) return;
  ref_min = count ? std::min(ref_min, other.ref_min) : other.ref_min;
  ref_max = count ? std::max(ref_max, other.ref_max) : other.ref_max;
  count += other.count;
  diff2 += other.diff2;
  ref2 += other.ref2;
  x2 += other.x2;
  dot += other.dot;
  max_abs_diff = std::max(max_abs_diff, other.max_abs_diff);
}

double ErrorStats::rel_l2() const { return ratio_or_nan(std::sqrt(diff2), std::sqrt(ref2)); }

double ErrorStats::cosine() const {
  if (x2 == 0.0 && ref2 == 0.0) return 1.0;
  if (x2 == 0.0 || ref2 == 0.0) return std::nan("");
  return dot / (std::sqrt(x2) * std::sqrt(ref2));
}

double ErrorStats::rmse() const { return count ? std::sqrt(diff2 / static_cast<double>(count)) : 0.0; }

double ErrorStats::psnr() const {
  const double error = rmse();
  if (error == 0.0) return std::numeric_limits<double>::infinity();
  return 20.0 * std::log10((ref_max - ref_min) / error);
}

}  // namespace adacomp
