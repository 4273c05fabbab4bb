#pragma once
// What the sparse comparison codecs share (codecs-internal): the parameters they read, the
// finiteness check of a gradient, and the error-feedback memory.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "adacomp/codecs.hpp"

namespace adacomp::codecs::detail {

double ratio_parameter(const CodecSpec& spec);  // "ratio", in (0, 1]
bool ef_parameter(const CodecSpec& spec);       // "ef", 0 or 1

// k = max(1, floor(n * ratio)), at most n (GRACE's top-k and random-k).
std::size_t selected_count(std::size_t n, double ratio);

// Throws Error(invalid_input) naming the tensor and element of the first non-finite value, and
// `what` the values are ("gradient value", ...).
void check_finite(std::span<const float> values, const std::string& tensor_name, const char* what = "gradient value");

// Error feedback: the codec compresses p = memory + g and keeps memory = p - decoded.
class ErrorFeedback {
 public:
  ErrorFeedback(bool enabled, std::size_t n) : enabled_(enabled), memory_(enabled ? n : 0, 0.0f) {}
  bool enabled() const { return enabled_; }
  // p = memory + g (or g itself without error feedback), into `p`.
  void compensate(std::span<const float> gradient, std::vector<float>& p) const;
  // memory = p - decoded for a decoded tensor that is p at `indices` and zero elsewhere.
  void keep_unsent(const std::vector<float>& p, std::span<const std::uint32_t> indices);

 private:
  bool enabled_;
  std::vector<float> memory_;
};

}  // namespace adacomp::codecs::detail
