#include "codecs/state.hpp"

#include <cmath>

#include "adacomp/error.hpp"

namespace adacomp::codecs::detail {

double ratio_parameter(const CodecSpec& spec) { return std::stod(spec.values.at("ratio")); }

bool ef_parameter(const CodecSpec& spec) { return spec.values.at("ef") == "1"; }

std::size_t selected_count(std::size_t n, double ratio) {
  const auto k = static_cast<std::size_t>(std::floor(static_cast<double>(n) * ratio));
  return std::min(n, std::max<std::size_t>(1, k));
}

void check_finite(std::span<const float> values, const std::string& tensor_name, const char* what) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      fail_input("tensor '" + tensor_name + "' element " + std::to_string(i) + ": " + what + " is " +
                 (std::isnan(values[i]) ? "NaN" : "infinite"));
}

void ErrorFeedback::compensate(std::span<const float> gradient, std::vector<float>& p) const {
  p.assign(gradient.begin(), gradient.end());
  if (enabled_)
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = memory_[i] + gradient[i];
}

void ErrorFeedback::keep_unsent(const std::vector<float>& p, std::span<const std::uint32_t> indices) {
  if (!enabled_) return;
  memory_ = p;
  for (std::uint32_t i : indices) memory_[i] = 0.0f;  // p - p: sent exactly
}

}  // namespace adacomp::codecs::detail
