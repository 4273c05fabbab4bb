#pragma once
// What the sparse comparison codecs share (codecs-internal): the parameters they read, the
// finiteness check of a gradient, and the error-feedback memory.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "adacomp/codecs.hpp"

namespace adacomp::codecs::detail {

double ratio_parameter(const CodecSpec& spec);  // "ratio", in (0, 1]
bool ef_parameter(const CodecSpec& spec);       // "ef", 0 or 1

// k = max(1, floor(n * ratio)), at most n (GRACE's top-k and random-k).
std::size_t selected_count(std::size_t n, double ratio);

// Throws Error(invalid_input) unless `payload` has exactly `expected` bytes, naming the codec.
void check_size(std::span<const std::byte> payload, std::size_t expected, const std::string& tensor_name,
                const char* codec);

// Throws Error(invalid_input) naming the byte unless every bit of `payload` after the first
// `used_bits` bits from byte `start` is zero (the padding an encoder leaves).
void check_padding(std::span<const std::byte> payload, std::size_t start, std::size_t used_bits,
                   const std::string& tensor_name, const char* codec);

// Throws Error(invalid_input) naming the byte offset unless previous < index < n: the indices of
// a payload increase and name elements of the tensor.
void check_next_index(std::int64_t index, std::int64_t previous, std::size_t n, const std::string& tensor_name,
                      const char* codec, std::size_t offset);

// Decodes a payload of c f32 values, then c indices of type Index (increasing), into `out` (zero
// elsewhere): the two tensors that gradcomp and dgc send.
template <typename Index>
void decode_values_then_indices(std::span<const std::byte> payload, std::span<float> out,
                                const std::string& tensor_name, const char* codec);

// The k indices of [0, n) of largest key(i), among equal keys the lower index first (a strict
// order: no ties), in increasing order; `order` is scratch kept by the caller between steps.
template <typename Key>
std::vector<std::uint32_t> largest_k(std::size_t n, std::size_t k, std::vector<std::uint32_t>& order, Key key) {
  order.resize(n);
  std::iota(order.begin(), order.end(), 0u);
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) {
                     const float x = key(a), y = key(b);
                     return x > y || (x == y && a < b);
                   });
  std::vector<std::uint32_t> out(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
  std::sort(out.begin(), out.end());
  return out;
}

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
  // memory = p - decoded, element by element.
  void keep_difference(const std::vector<float>& p, std::span<const float> decoded);

 private:
  bool enabled_;
  std::vector<float> memory_;
};

// p for this step's gradient with the memory's check: both finite, else Error(invalid_input).
void compensated(const ErrorFeedback& memory, std::span<const float> gradient, const std::string& tensor_name,
                 std::vector<float>& p);

// A codec that sends every element in some lossy form (efsignsgd, onebit, terngrad, natural):
// encode() forms p, asks the codec for the payload of p, and with error feedback keeps
// memory = p - decoded, the decoded tensor being what any receiver decodes from that payload.
class DenseCodec : public TensorCodec {
 public:
  DenseCodec(const CodecSpec& spec, std::string name, std::size_t n);
  std::vector<std::byte> encode(std::span<const float> gradient, const StepContext& step) final;

 protected:
  virtual std::vector<std::byte> payload_of(const std::vector<float>& p, const StepContext& step) = 0;
  const std::string& name() const { return name_; }
  std::size_t size() const { return n_; }

 private:
  std::string name_;
  std::size_t n_;
  ErrorFeedback memory_;
  std::vector<float> p_, decoded_;
};

}  // namespace adacomp::codecs::detail
