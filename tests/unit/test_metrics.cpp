// ErrorStats sums in four lanes (include/adacomp/metrics.hpp): the figures must be those of the
// documented order of additions, for every length and split over calls, with max and min exact.
#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "adacomp/metrics.hpp"
#include "test_support.hpp"

using namespace adacomp;

namespace {

// The documented order, written plainly: element i into partial i mod 4, then (p0 + p1) + (p2 + p3).
struct LaneSums {
  double diff2 = 0, ref2 = 0, x2 = 0, dot = 0;
};

LaneSums lane_sums(const std::vector<float>& x, const std::vector<float>& ref) {
  double p[4][4] = {};
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double a = x[i], r = ref[i], d = a - r;
    p[0][i % 4] += d * d;
    p[1][i % 4] += r * r;
    p[2][i % 4] += a * a;
    p[3][i % 4] += a * r;
  }
  auto fold = [](const double* q) { return (q[0] + q[1]) + (q[2] + q[3]); };
  return {fold(p[0]), fold(p[1]), fold(p[2]), fold(p[3])};
}

}  // namespace

TEST_CASE("ErrorStats::add gives the sums of the documented lane order and exact extremes") {
  for (std::size_t n = 1; n <= 13; ++n) {
    INFO("n=" << n);
    std::vector<float> x = test_support::adversarial(n, 3 + n, 1e-3f);
    std::vector<float> ref = test_support::adversarial(n, 40 + n, 1e-3f);
    ref[n - 1] = -0.0f;
    ErrorStats stats;
    stats.add(x, ref);
    const LaneSums expected = lane_sums(x, ref);
    CHECK(stats.count == n);
    CHECK(stats.diff2 == expected.diff2);
    CHECK(stats.ref2 == expected.ref2);
    CHECK(stats.x2 == expected.x2);
    CHECK(stats.dot == expected.dot);
    double worst = 0, low = ref[0], high = ref[0];
    for (std::size_t i = 0; i < n; ++i) {
      worst = std::max(worst, std::fabs(static_cast<double>(x[i]) - ref[i]));
      low = std::min(low, static_cast<double>(ref[i]));
      high = std::max(high, static_cast<double>(ref[i]));
    }
    CHECK(stats.max_abs_diff == worst);
    CHECK(stats.ref_min == low);
    CHECK(stats.ref_max == high);
  }
}

TEST_CASE("ErrorStats over two calls adds the second call's sums to the first's") {
  const std::vector<float> x = test_support::adversarial(11, 1, 1e-3f), ref = test_support::adversarial(11, 2, 1e-3f);
  const std::vector<float> x1(x.begin(), x.begin() + 6), x2(x.begin() + 6, x.end());
  const std::vector<float> r1(ref.begin(), ref.begin() + 6), r2(ref.begin() + 6, ref.end());
  ErrorStats split, first, second;
  split.add(x1, r1);
  split.add(x2, r2);
  first.add(x1, r1);
  second.add(x2, r2);
  first.merge(second);
  CHECK(split.count == 11);
  CHECK(split.diff2 == first.diff2);
  CHECK(split.dot == first.dot);
  CHECK(split.ref_min == first.ref_min);
  CHECK(split.ref_max == first.ref_max);
  CHECK(split.max_abs_diff == first.max_abs_diff);
  CHECK(split.rel_l2() == doctest::Approx(std::sqrt(lane_sums(x, ref).diff2 / lane_sums(x, ref).ref2)).epsilon(1e-12));
}

TEST_CASE("ErrorStats keeps std::max's choice for a NaN difference") {
  const std::vector<float> x = {1.0f, std::numeric_limits<float>::quiet_NaN(), 3.0f, 0.5f, 7.0f};
  const std::vector<float> ref = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  ErrorStats stats;
  stats.add(x, ref);
  CHECK(stats.max_abs_diff == 7.0);  // a NaN difference never becomes the maximum
  CHECK(std::isnan(stats.diff2));
}
