#include <bit>
#include <cstring>
#include <random>

#include <doctest/doctest.h>

#include "adacomp/encoder.hpp"
#include "adacomp/wire.hpp"
#include "test_support.hpp"

using namespace adacomp;
using test_support::decode_all;
using test_support::decode_error;

namespace {

Tensor random_tensor(const std::string& name, std::vector<std::uint64_t> shape, DType dtype, unsigned seed) {
  Tensor t = make_tensor(name, dtype, shape);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  for (float& x : t.flat()) x = round_to_dtype(normal(rng), dtype);
  return t;
}

std::vector<Tensor> sample_tensors() {
  std::vector<Tensor> tensors;
  tensors.push_back(random_tensor("conv.weight", {4, 3, 3, 3}, DType::f32, 1));
  tensors.push_back(random_tensor("fc.weight", {20, 30}, DType::f16, 2));
  tensors.push_back(random_tensor("fc.bias", {20}, DType::bf16, 3));
  tensors.push_back(random_tensor("norm.weight", {20}, DType::f32, 4));
  return tensors;
}

EncodeSettings sample_settings(int zstd_level, wire::EntryLayout entries = wire::EntryLayout::coded) {
  EncodeSettings settings;
  settings.exclude = {"norm.*"};
  settings.zstd_level = zstd_level;
  settings.entries = entries;
  return settings;
}

constexpr wire::EntryLayout kBothLayouts[] = {wire::EntryLayout::coded, wire::EntryLayout::fixed};

std::vector<std::byte> sample_stream(int zstd_level, wire::EntryLayout entries = wire::EntryLayout::coded) {
  ResidueMap residues;
  std::vector<std::byte> out;
  encode_stream(sample_tensors(), residues, sample_settings(zstd_level, entries), out);
  return out;
}

}  // namespace

TEST_CASE("a stream round-trips: headers / kinds / dtypes and passthrough values") {
  for (int level : {0, 3}) {
    const auto bytes = sample_stream(level);
    const auto tensors = decode_all(bytes);
    REQUIRE(tensors.size() == 4);
    CHECK(tensors[0].name == "conv.weight");
    CHECK(tensors[0].shape() == std::vector<std::uint64_t>{4, 3, 3, 3});
    CHECK(tensors[1].dtype == DType::f16);
    CHECK(tensors[2].dtype == DType::bf16);
    const Tensor norm = random_tensor("norm.weight", {20}, DType::f32, 4);
    CHECK(tensors[3].values == norm.values);  // passthrough is exact
  }
}

TEST_CASE("a fresh learner's stream without kept residues is the stream of zero residues") {
  std::vector<std::byte> fresh;
  const auto frames = encode_stream_fresh(sample_tensors(), sample_settings(0), fresh);
  CHECK(frames.size() == 4);
  CHECK(fresh == sample_stream(0));
  // and it differs from a learner whose residue is not zero
  ResidueMap residues;
  std::vector<std::byte> first, second;
  encode_stream(sample_tensors(), residues, sample_settings(0), first);
  encode_stream(sample_tensors(), residues, sample_settings(0), second);
  CHECK(second != fresh);
}

TEST_CASE("the zstd stage is flagged only where it shrinks the payload / and decodes identically") {
  MemoryInput plain_input(sample_stream(0), "plain");
  const auto plain = sample_stream(0);
  const auto packed = sample_stream(19);
  CHECK(decode_all(plain).size() == decode_all(packed).size());
  const auto a = decode_all(plain);
  const auto b = decode_all(packed);
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].values == b[i].values);
  MemoryInput input(packed, "packed");
  wire::StreamReader reader(input);
  while (auto frame = reader.next()) {
    if (frame->info.zstd)
      CHECK(frame->info.payload_stored_bytes < frame->info.payload_raw_bytes);
    else
      CHECK(frame->info.payload_stored_bytes == frame->info.payload_raw_bytes);
  }
}

TEST_CASE("encoding twice gives identical bytes") { CHECK(sample_stream(3) == sample_stream(3)); }

TEST_CASE("concatenated streams are one valid stream, of either format / a stream with no frames is valid") {
  auto bytes = sample_stream(0);
  const auto second = sample_stream(3, wire::EntryLayout::fixed);
  bytes.insert(bytes.end(), second.begin(), second.end());
  CHECK(decode_all(bytes).size() == 8);
  for (const auto entries : kBothLayouts) {
    std::vector<std::byte> empty;
    wire::StreamWriter(empty, {entries, nullptr}).finish();
    CHECK(empty.size() == wire::kStreamHeaderBytes + wire::end_record_bytes(entries, 0));
    CHECK(decode_all(empty).empty());
  }
}

TEST_CASE("fixed entries write format 1.0 and coded entries format 2.0, with the same content") {
  const auto coded = sample_stream(0, wire::EntryLayout::coded);
  const auto fixed = sample_stream(0, wire::EntryLayout::fixed);
  CHECK(static_cast<int>(coded[4]) == 2);
  CHECK(static_cast<int>(fixed[4]) == 1);
  CHECK(coded.size() < fixed.size());
  const auto a = decode_all(coded), b = decode_all(fixed);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].values == b[i].values);
}

TEST_CASE("truncation at every byte offset is a clean invalid-input error") {
  for (const auto entries : kBothLayouts) {
    CAPTURE(wire::entry_layout_name(entries));
    const auto bytes = sample_stream(3, entries);
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
      const std::vector<std::byte> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
      const std::string error = decode_error(prefix);
      REQUIRE_MESSAGE(!error.empty(), "prefix of " << cut << " bytes decoded");
      REQUIRE_MESSAGE(error.find("wrong error kind") == std::string::npos, error);
    }
  }
}

TEST_CASE("every single-bit flip is detected or decodes to identical values") {
  for (const auto entries : kBothLayouts) {
    CAPTURE(wire::entry_layout_name(entries));
    const auto bytes = sample_stream(3, entries);
    const auto original = decode_all(bytes);
    std::size_t detected = 0, harmless = 0;
    for (std::size_t at = 0; at < bytes.size(); ++at) {
      for (int bit = 0; bit < 8; ++bit) {
        auto flipped = bytes;
        flipped[at] ^= static_cast<std::byte>(1 << bit);
        const std::string error = decode_error(flipped);
        REQUIRE_MESSAGE(error.find("wrong error kind") == std::string::npos, error);
        if (!error.empty()) {
          ++detected;
          continue;
        }
        const auto decoded = decode_all(flipped);
        REQUIRE(decoded.size() == original.size());
        for (std::size_t i = 0; i < decoded.size(); ++i) {
          REQUIRE(decoded[i].name == original[i].name);
          REQUIRE(decoded[i].values == original[i].values);
        }
        ++harmless;
      }
    }
    CHECK(detected > 0);
    // Only the minor version byte of the stream header may change without effect.
    CHECK(harmless == 8);
  }
}

TEST_CASE("an unknown major version names both versions") {
  auto bytes = sample_stream(0);
  bytes[4] = std::byte{7};
  bytes[5] = std::byte{2};
  const std::string error = decode_error(bytes);
  CHECK(error.find("format version 7.2") != std::string::npos);
  CHECK(error.find("reads versions 1.0, 1.1, 2.0 and 2.1") != std::string::npos);
}

TEST_CASE("a forged payload size cannot make the reader allocate beyond the input") {
  // one passthrough frame claiming 2^32 elements: header valid, data absent
  std::vector<std::byte> bytes;
  wire::StreamWriter writer(bytes, {wire::EntryLayout::fixed, nullptr});
  Tensor t = make_tensor("x", DType::f32, {1});
  t.values(0) = 1.0f;
  writer.add_passthrough(t, 0);
  writer.finish();
  // patch the dim to 2^32 and the payload size accordingly (the checksum is then wrong, but the
  // reader must fail on truncation before it allocates 16 GiB)
  const std::size_t dim_at = 8 + 10 + 1;
  const std::uint64_t dim = std::uint64_t{1} << 32;
  std::memcpy(bytes.data() + dim_at, &dim, 8);
  const std::uint64_t payload = dim * 4;
  std::memcpy(bytes.data() + dim_at + 8, &payload, 8);
  const std::string error = decode_error(bytes);
  CHECK(error.find("truncated") != std::string::npos);
}
