#pragma once
// What the comparison codecs' tests share: payload bytes written by hand, and decoding.
#include <cstring>
#include <initializer_list>
#include <vector>

#include <doctest/doctest.h>

#include "adacomp/codecs.hpp"
#include "adacomp/error.hpp"

namespace codec_test {

using namespace adacomp;
using namespace adacomp::codecs;

inline std::vector<float> decode(const TensorCodec& codec, const std::vector<std::byte>& payload, std::size_t n,
                                 const StepContext& step = {}) {
  std::vector<float> out(n, 123.0f);
  codec.decode(payload, step, out);
  return out;
}

inline std::vector<std::byte> bytes_of(std::initializer_list<std::uint32_t> words) {
  std::vector<std::byte> out(4 * words.size());
  std::size_t at = 0;
  for (std::uint32_t w : words) {
    std::memcpy(out.data() + at, &w, 4);
    at += 4;
  }
  return out;
}

inline std::vector<std::byte> bytes_then(std::initializer_list<std::uint32_t> words,
                                         std::initializer_list<unsigned> bytes) {
  std::vector<std::byte> out = bytes_of(words);
  for (unsigned b : bytes) out.push_back(std::byte(b));
  return out;
}

inline std::uint32_t bits_of(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

inline std::vector<std::byte> with_scale(float scale, std::initializer_list<unsigned> bytes) {
  std::vector<std::byte> out(4);
  std::memcpy(out.data(), &scale, 4);
  for (unsigned b : bytes) out.push_back(std::byte(b));
  return out;
}

inline std::vector<std::byte> floats_then(std::initializer_list<float> values, std::initializer_list<unsigned> bytes) {
  std::vector<std::byte> out;
  for (float v : values) {
    const std::size_t at = out.size();
    out.resize(at + 4);
    std::memcpy(out.data() + at, &v, 4);
  }
  for (unsigned b : bytes) out.push_back(std::byte(b));
  return out;
}

inline void check_refused(const TensorCodec& codec, const std::vector<std::byte>& payload, std::size_t n) {
  std::vector<float> out(n);
  CHECK_THROWS_AS(codec.decode(payload, {}, out), Error);
}

}  // namespace codec_test
