#pragma once
// Error figures between a tensor and a reference tensor, as lossy float compressors report them.
// Definitions: format_spec/wire_format.md section 11 and format_spec/dump_layout.md section 3.
#include <cstdint>
#include <span>

namespace adacomp {

struct ErrorStats {
  std::uint64_t count = 0;
  double diff2 = 0.0;  // sum of (x - ref)^2
  double ref2 = 0.0;   // sum of ref^2
  double x2 = 0.0;     // sum of x^2
  double dot = 0.0;    // sum of x * ref
  double max_abs_diff = 0.0;
  double ref_min = 0.0, ref_max = 0.0;

  // Accumulate element pairs (same length), in double: each sum of one call in four partial
  // sums (element i into partial i mod 4, then (p0 + p1) + (p2 + p3)) added to the running one,
  // so the bits depend on how the elements are split over calls, never on the machine.
  void add(std::span<const float> x, std::span<const float> ref);
  void merge(const ErrorStats& other);

  double rel_l2() const;  // ||x - ref|| / ||ref||; 0 when both are 0, NaN when only ref is 0
  double cosine() const;  // x.ref / (||x|| ||ref||); 1 when both are 0, NaN when one is 0
  double rmse() const;
  double psnr() const;  // 20 log10((ref_max - ref_min) / rmse) (SZ's definition); +inf when rmse = 0
};

// numerator / denominator; 0 when both are 0, NaN when only the denominator is.
double ratio_or_nan(double numerator, double denominator);

}  // namespace adacomp
