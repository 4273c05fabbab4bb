#pragma once
#include <algorithm>
#include <bit>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "adacomp/byte_io.hpp"
#include "adacomp/codec.hpp"
#include "adacomp/error.hpp"
#include "adacomp/wire.hpp"

namespace test_support {

// Waits until `condition` holds, for at most a few seconds (a thread that never comes must not
// hang the suite; the checks after the wait then fail).
template <typename Condition>
void wait_for(Condition condition) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!condition() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
}

// The same float bits (-0 and NaN count) in one assertion that names the first element that
// differs: an assertion per element made millions under ASan, and slow.
inline void require_same_bits(std::span<const float> got, std::span<const float> expected) {
  REQUIRE(got.size() == expected.size());
  const auto same = [](float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); };
  const auto first_difference =
      static_cast<std::size_t>(std::mismatch(got.begin(), got.end(), expected.begin(), same).first - got.begin());
  INFO("first element whose bits differ: " << first_difference);
  REQUIRE(first_difference == got.size());
}

// The same frame: scale bits, bin counts and entries.
inline void require_same_frame(const adacomp::SparseTernary& got, const adacomp::SparseTernary& expected) {
  REQUIRE(std::bit_cast<std::uint32_t>(got.scale) == std::bit_cast<std::uint32_t>(expected.scale));
  REQUIRE(got.bin_counts == expected.bin_counts);
  REQUIRE(got.entries == expected.entries);
}

inline std::vector<std::byte> bytes_of(const std::string& text) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return {p, p + text.size()};
}

// A .npy file of format version `major` with the given header dict and data bytes (padded as
// NumPy does).
inline std::vector<std::byte> npy(const std::string& dict, const std::string& data, int major = 1) {
  std::string header = dict;
  const std::size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const std::uint32_t length = static_cast<std::uint32_t>(header.size());
  out.append(reinterpret_cast<const char*>(&length), major == 1 ? 2 : 4);
  return bytes_of(out + header + data);
}

inline std::string floats_bytes(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), 4);
  return out;
}

inline std::vector<std::byte> read_file(const std::filesystem::path& path) { return adacomp::read_all(path.string()); }

// All frames of a stream held in memory, decoded.
inline std::vector<adacomp::Tensor> decode_all(const std::vector<std::byte>& bytes, const std::string& name = "mem",
                                               const adacomp::wire::Layout* layout = nullptr) {
  adacomp::MemoryInput input(bytes, name);
  adacomp::wire::StreamReader reader(input);
  reader.set_agreed_layout(layout);
  std::vector<adacomp::Tensor> out;
  while (auto frame = reader.next()) out.push_back(adacomp::wire::decode_frame(*frame, name));
  return out;
}

// The message of the invalid_input error that decoding raises, or "" if it decodes.
inline std::string decode_error(const std::vector<std::byte>& bytes, const adacomp::wire::Layout* layout = nullptr) {
  try {
    decode_all(bytes, "mem", layout);
  } catch (const adacomp::Error& e) {
    if (e.kind() != adacomp::ErrorKind::invalid_input) return std::string("wrong error kind: ") + e.what();
    return e.what();
  }
  return "";
}

// Values that stress the selection: exact zeros and negative zeros, denormals, G == 0 with H != 0,
// ties at the bin maximum, duplicates, heavy tails, and elements of H that overflow.
inline std::vector<float> adversarial(std::size_t n, std::uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::cauchy_distribution<float> heavy(0.0f, scale);
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = std::clamp(heavy(rng), -1e6f, 1e6f);
    if (i % 11 == 0) v[i] = 0.0f;
    if (i % 23 == 0) v[i] = -0.0f;
    if (i % 13 == 0) v[i] = (i & 1 ? -1 : 1) * std::numeric_limits<float>::denorm_min() * static_cast<float>(i % 7 + 1);
    if (i % 19 == 0 && i) v[i] = v[i - 1];
    if (i % 29 == 0) v[i] = 0.5f;  // many equal magnitudes: ties at the maximum
  }
  return v;
}

}  // namespace test_support
