// The streaming reader and writer (read_tensor_file, write_tensor_file) must be byte-for-byte and
// message-for-message the in-memory parser and serializer: same tensors, same refusals.
#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "test_support.hpp"

using namespace adacomp;
using test_support::bytes_of;
using test_support::floats_bytes;
using test_support::npy;

namespace {

struct Outcome {
  std::vector<Tensor> tensors;
  std::string error;
};

template <typename Read>
Outcome outcome_of(Read read) {
  Outcome outcome;
  try {
    outcome.tensors = read();
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    outcome.error = e.what();
  }
  return outcome;
}

class TempFile {
 public:
  explicit TempFile(const std::vector<std::byte>& bytes)
      : path_(std::filesystem::temp_directory_path() / ("adacomp-stream-test-" + std::to_string(::getpid()) + ".bin")) {
    std::ofstream(path_, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Reads `bytes` both ways and checks that the outcomes agree; returns the error ("" if read).
std::string check_same(const std::vector<std::byte>& bytes, const TensorReadOptions& options = {}) {
  const TempFile file(bytes);
  const Outcome streamed = outcome_of([&] { return read_tensor_file(file.path(), options); });
  const Outcome parsed = outcome_of([&] { return parse_tensor_file(bytes, file.path(), options); });
  CHECK(streamed.error == parsed.error);
  REQUIRE(streamed.tensors.size() == parsed.tensors.size());
  for (std::size_t i = 0; i < parsed.tensors.size(); ++i) {
    CHECK(streamed.tensors[i].name == parsed.tensors[i].name);
    CHECK(streamed.tensors[i].dtype == parsed.tensors[i].dtype);
    CHECK(streamed.tensors[i].shape() == parsed.tensors[i].shape());
    const auto a = streamed.tensors[i].flat(), b = parsed.tensors[i].flat();  // bits: -0 and NaN count
    CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end(), [](float x, float y) {
      return std::bit_cast<std::uint32_t>(x) == std::bit_cast<std::uint32_t>(y);
    }));
  }
  return streamed.error;
}

std::string with_byte_swapped_floats(std::initializer_list<float> values) {
  std::string out = floats_bytes(values);
  for (std::size_t i = 0; i < out.size(); i += 4) std::reverse(out.begin() + i, out.begin() + i + 4);
  return out;
}

}  // namespace

TEST_CASE("read_tensor_file streams .npy files exactly as parse_tensor_file reads them") {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const auto data = floats_bytes({1, -2, 3, 4.5f, 0, -0.0f});
  CHECK(check_same(npy(ok, data)).empty());
  CHECK(check_same(npy(ok, data, 2)).empty());
  CHECK(check_same(npy(ok, data, 3)).empty());
  CHECK(check_same(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data)).empty());
  CHECK(check_same(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", with_byte_swapped_floats({1, -2})))
            .empty());
  CHECK(check_same(npy("{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }",
                       std::string("\x00\x3c\x00\xc0\x01\x00", 6)))
            .empty());
  CHECK(
      check_same(npy("{'descr': '>f2', 'fortran_order': False, 'shape': (1,), }", std::string("\x3c\x00", 2))).empty());
  TensorReadOptions bf16;
  bf16.dtype = DType::bf16;
  bf16.single_name = "w";
  CHECK(check_same(npy("{'descr': '|V2', 'fortran_order': False, 'shape': (2,), }", std::string("\x80\x3f\x00\xc0", 4)),
                   bf16)
            .empty());
  CHECK(check_same(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", floats_bytes({7}))).empty());
  CHECK(check_same(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", "")).empty());
}

TEST_CASE("read_tensor_file refuses bad .npy files with the in-memory parser's message") {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const auto data = floats_bytes({1, 2});
  CHECK(check_same(npy(ok, data.substr(0, 7))).find("truncated .npy data") != std::string::npos);
  CHECK(check_same(npy(ok, data + "xyz")).find("3 unexpected bytes after") != std::string::npos);
  CHECK(check_same(npy(ok, "")).find("truncated .npy data") != std::string::npos);
  // an empty tensor followed by stray bytes: all of them are counted
  CHECK(check_same(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", "abcdef")).find("6 unexpected") !=
        std::string::npos);
  CHECK(check_same(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", data)).find("float64") !=
        std::string::npos);
  CHECK(check_same(npy("{'descr': '|V2', 'fortran_order': False, 'shape': (2,), }", data)).find("--dtype bf16") !=
        std::string::npos);
  CHECK(check_same(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data))
            .find("decoder limit") != std::string::npos);
  // a forged shape within the limit but far beyond the data: refused before any tensor exists
  CHECK(check_same(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967295,), }", data))
            .find("truncated .npy data") != std::string::npos);
  auto long_header = npy(ok, data);
  long_header[8] = std::byte{0xff};
  long_header[9] = std::byte{0xff};
  CHECK(check_same(long_header).find("truncated .npy header") != std::string::npos);
  auto bad_version = npy(ok, data);
  bad_version[6] = std::byte{4};
  CHECK(check_same(bad_version).find("version 4.0") != std::string::npos);
  CHECK(check_same(bytes_of("\x93NUMP")).find("not a .npy") != std::string::npos);
  CHECK(check_same(bytes_of(std::string("\x93NUMPY\x02\x00\x10\x00\x00", 11))).find("truncated .npy header") !=
        std::string::npos);
  CHECK(check_same(bytes_of("hello")).find("not a .npy, .npz or .safetensors") != std::string::npos);
  CHECK(check_same({}).find("not a .npy, .npz or .safetensors") != std::string::npos);
}

TEST_CASE("read_tensor_file reads raw input and other formats as parse_tensor_file does") {
  TensorReadOptions raw;
  raw.raw_shape = std::vector<std::uint64_t>{2, 2};
  raw.single_name = "g";
  CHECK(check_same(bytes_of(floats_bytes({1, 2, 3, 4})), raw).empty());
  CHECK(check_same(bytes_of(floats_bytes({1, 2, 3})), raw).find("raw input holds 12 bytes") != std::string::npos);
  CHECK(check_same(bytes_of(floats_bytes({1, 2, 3, 4, 5})), raw).find("raw input holds 20 bytes") != std::string::npos);
  raw.dtype = DType::f16;
  CHECK(check_same(bytes_of(std::string("\x00\x3c\x00\xc0\x01\x00\x00\x00", 8)), raw).empty());

  const Tensor a = [] {
    Tensor t = make_tensor("a", DType::f16, {3});
    t.values = xt::xarray<float>{0.5f, -1.0f, 2.0f};
    return t;
  }();
  const Tensor b = [] {
    Tensor t = make_tensor("b", DType::f32, {1, 2});
    t.values = xt::xarray<float>{{3.0f, 4.0f}};
    return t;
  }();
  CHECK(check_same(serialize_tensor_file({a, b}, TensorFormat::npz)).empty());
  CHECK(check_same(serialize_tensor_file({a, b}, TensorFormat::safetensors)).empty());
}

TEST_CASE("read_tensor_file crosses its 64 MiB chunks without losing or moving an element") {
  // 17 Mi float32 elements: 68 MiB of data, so the second chunk starts mid-tensor.
  Tensor big = make_tensor("big", DType::f32, {17, 1 << 20});
  float* values = big.values.data();
  for (std::size_t i = 0; i < big.size(); ++i) values[i] = static_cast<float>(i % 1000003) - 500000.0f;
  CHECK(check_same(serialize_npy(big), {}).empty());
  Tensor half = big;
  half.dtype = DType::f16;
  TensorReadOptions options;
  CHECK(check_same(serialize_npy(half), options).empty());
}

TEST_CASE("write_tensor_file writes the bytes of serialize_tensor_file in pieces") {
  Tensor wide = make_tensor("wide", DType::f32, {600000});
  for (std::size_t i = 0; i < wide.size(); ++i) wide.values.data()[i] = static_cast<float>(i) * 0.001f - 3.0f;
  for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    Tensor t = wide;
    t.dtype = dtype;
    for (TensorFormat format : {TensorFormat::npy, TensorFormat::raw, TensorFormat::npz, TensorFormat::safetensors}) {
      std::vector<std::byte> written;
      std::size_t pieces = 0;
      write_tensor_file({t}, format, [&](std::span<const std::byte> piece) {
        written.insert(written.end(), piece.begin(), piece.end());
        ++pieces;
      });
      CHECK(written == serialize_tensor_file({t}, format));
      // a converted .npy goes out in several bounded pieces, not one copy of the whole
      if (format == TensorFormat::npy && dtype != DType::f32) CHECK(pieces > 2);
    }
  }
  std::vector<std::byte> sink;
  CHECK_THROWS_AS(write_tensor_file({wide, wide}, TensorFormat::npy, [&](std::span<const std::byte>) {}), Error);
}
