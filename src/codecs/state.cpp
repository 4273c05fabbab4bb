#include "codecs/state.hpp"

#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/payload.hpp"

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

void check_next_index(std::int64_t index, std::int64_t previous, std::size_t n, const std::string& tensor_name,
                      const char* codec, std::size_t offset) {
  if (index > previous && index >= 0 && static_cast<std::uint64_t>(index) < n) return;
  fail_input("tensor '" + tensor_name + "': " + codec + " payload byte offset " + std::to_string(offset) + ": index " +
             std::to_string(index) +
             (index >= 0 && static_cast<std::uint64_t>(index) >= n
                  ? " is past the tensor's " + std::to_string(n) + " elements"
                  : " does not follow the previous index"));
}

template <typename Index>
void decode_values_then_indices(std::span<const std::byte> payload, std::span<float> out,
                                const std::string& tensor_name, const char* codec) {
  constexpr std::size_t entry = 4 + sizeof(Index);
  const std::size_t n = out.size();
  if (payload.size() % entry != 0 || payload.size() / entry > n)
    fail_input("tensor '" + tensor_name + "': " + codec + " payload of " + std::to_string(payload.size()) +
               " bytes: not " + std::to_string(entry) + " bytes for each of at most " + std::to_string(n) + " entries");
  const std::size_t count = payload.size() / entry;
  std::fill(out.begin(), out.end(), 0.0f);
  std::int64_t previous = -1;
  for (std::size_t e = 0; e < count; ++e) {
    const std::size_t at = 4 * count + sizeof(Index) * e;
    const auto index = static_cast<std::int64_t>(get<Index>(payload, at));
    check_next_index(index, previous, n, tensor_name, codec, at);
    const float value = get<float>(payload, 4 * e);
    if (!std::isfinite(value))
      fail_input("tensor '" + tensor_name + "': " + codec + " payload byte offset " + std::to_string(4 * e) +
                 ": a value is not finite");
    out[static_cast<std::size_t>(index)] = value;
    previous = index;
  }
}

template void decode_values_then_indices<std::int32_t>(std::span<const std::byte>, std::span<float>, const std::string&,
                                                       const char*);
template void decode_values_then_indices<std::int64_t>(std::span<const std::byte>, std::span<float>, const std::string&,
                                                       const char*);

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
