#include "adacomp/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace adacomp {

double ratio_or_nan(double numerator, double denominator) {
  if (denominator == 0.0) return numerator == 0.0 ? 0.0 : std::nan("");
  return numerator / denominator;
}

void ErrorStats::add(std::span<const float> x, std::span<const float> ref) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double a = x[i], r = ref[i], d = a - r;
    diff2 += d * d;
    ref2 += r * r;
    x2 += a * a;
    dot += a * r;
    max_abs_diff = std::max(max_abs_diff, std::fabs(d));
    ref_min = count || i ? std::min(ref_min, r) : r;
    ref_max = count || i ? std::max(ref_max, r) : r;
  }
  count += x.size();
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
