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

void compensated(const ErrorFeedback& memory, std::span<const float> gradient, const std::string& tensor_name,
                 std::vector<float>& p) {
  check_finite(gradient, tensor_name);
  memory.compensate(gradient, p);
  if (memory.enabled()) check_finite(p, tensor_name, "error-feedback memory + gradient");
}

void check_size(std::span<const std::byte> payload, std::size_t expected, const std::string& tensor_name,
                const char* codec) {
  if (payload.size() != expected)
    fail_input("tensor '" + tensor_name + "': " + codec + " payload of " + std::to_string(payload.size()) +
               " bytes, expected " + std::to_string(expected));
}

void check_padding(std::span<const std::byte> payload, std::size_t start, std::size_t used_bits,
                   const std::string& tensor_name, const char* codec) {
  const std::size_t first = start + used_bits / 8;
  for (std::size_t i = first; i < payload.size(); ++i) {
    const unsigned mask = i == first ? (0xffu << (used_bits % 8)) & 0xffu : 0xffu;
    if (std::to_integer<unsigned>(payload[i]) & mask)
      fail_input("tensor '" + tensor_name + "': " + codec + " payload byte offset " + std::to_string(i) +
                 ": padding bits are not zero");
  }
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

namespace adacomp::codecs::detail {

void ErrorFeedback::keep_difference(const std::vector<float>& p, std::span<const float> decoded) {
  if (!enabled_) return;
  for (std::size_t i = 0; i < p.size(); ++i) memory_[i] = p[i] - decoded[i];
}

DenseCodec::DenseCodec(const CodecSpec& spec, std::string name, std::size_t n)
    : name_(std::move(name)), n_(n), memory_(ef_parameter(spec), n) {}

std::vector<std::byte> DenseCodec::encode(std::span<const float> gradient, const StepContext& step) {
  compensated(memory_, gradient, name_, p_);
  std::vector<std::byte> payload = payload_of(p_, step);
  if (memory_.enabled()) {
    decoded_.resize(n_);
    decode(payload, step, decoded_);
    memory_.keep_difference(p_, decoded_);
  }
  return payload;
}

}  // namespace adacomp::codecs::detail
