#pragma once
// A straightforward AdaComp written from the spec with xtensor array maths, independent of
// src/codec/: whole-array G and H, a mask per bin, then the mean. Tests compare the codec
// with it bit for bit.
#include <cmath>
#include <cstdint>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

namespace reference {

struct Step {
  xt::xarray<float> decoded;
  xt::xarray<float> residue;
  float scale = 0.0f;
  std::size_t selected = 0;
  std::vector<bool> mask;
};

inline Step adacomp_step(const xt::xarray<float>& gradient, const xt::xarray<float>& residue, std::size_t bin_size,
                         float k) {
  const xt::xarray<float> g = xt::flatten(gradient);
  const xt::xarray<float> r = xt::flatten(residue);
  const xt::xarray<float> G = r + g;
  const xt::xarray<float> kg = k * g;
  const xt::xarray<float> H = r + kg;
  const std::size_t n = g.size();
  Step out;
  out.mask.assign(n, false);
  double total = 0.0;
  for (std::size_t begin = 0; begin < n; begin += bin_size) {
    const std::size_t end = std::min(n, begin + bin_size);
    const float gmax = xt::amax(xt::abs(xt::view(G, xt::range(begin, end))))();
    double bin_sum = 0.0;
    for (std::size_t i = begin; i < end; ++i) {
      if (std::fabs(H(i)) >= gmax && G(i) != 0.0f) {
        out.mask[i] = true;
        bin_sum += std::fabs(static_cast<double>(G(i)));
        ++out.selected;
      }
    }
    total += bin_sum;
  }
  out.scale = out.selected ? static_cast<float>(total / static_cast<double>(out.selected)) : 0.0f;
  out.decoded = xt::zeros<float>({n});
  for (std::size_t i = 0; i < n; ++i)
    if (out.mask[i]) out.decoded(i) = G(i) > 0 ? out.scale : -out.scale;
  out.residue = G - out.decoded;
  return out;
}

}  // namespace reference
