#include <algorithm>
#include <cstring>
#include <filesystem>

#include <doctest/doctest.h>

#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "test_support.hpp"

using namespace adacomp;

using test_support::bytes_of;
using test_support::floats_bytes;
using test_support::npy;

namespace {

std::string error_of(const std::vector<std::byte>& bytes, std::optional<DType> void2 = std::nullopt) {
  try {
    parse_npy(bytes, "x.npy", "x", void2);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_input);
    return e.what();
  }
  return "";
}

Tensor tensor(const std::string& name, DType dtype, std::vector<std::uint64_t> shape, float start) {
  Tensor t = make_tensor(name, dtype, shape);
  float v = start;
  for (float& x : t.flat()) x = round_to_dtype(v += 0.25f, dtype);
  return t;
}

}  // namespace

TEST_CASE(".npy: keys in any order / versions 1 to 3 / Fortran order and big-endian converted") {
  const auto data = floats_bytes({1, 2, 3, 4, 5, 6});
  const Tensor a = parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data), "a", "a", {});
  const Tensor b = parse_npy(npy("{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", data, 2), "b", "b", {});
  const Tensor c = parse_npy(npy("{'descr':'<f4','fortran_order':False,'shape':(2,3)}", data, 3), "c", "c", {});
  CHECK(a.values == b.values);
  CHECK(a.values == c.values);
  CHECK(a.values(1, 0) == 4.0f);
  // Column-major: memory 1..6 is the array [[1,3,5],[2,4,6]]
  const Tensor f = parse_npy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data), "f", "f", {});
  CHECK(f.values(0, 1) == 3.0f);
  CHECK(f.values(1, 0) == 2.0f);
  std::string big;
  for (float v : {1.0f, -2.0f}) {
    char raw[4];
    std::memcpy(raw, &v, 4);
    big += std::string{raw[3], raw[2], raw[1], raw[0]};
  }
  const Tensor be = parse_npy(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", big), "be", "be", {});
  CHECK(be.values(1) == -2.0f);
  const Tensor scalar =
      parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", floats_bytes({7})), "s", "s", {});
  CHECK(scalar.values.dimension() == 0);
  CHECK(scalar.size() == 1);
}

TEST_CASE(".npy: a header length with the high byte set (xtensor sign-extends it) is read correctly") {
  // pad the dict so that the header length is 0x00F6 + 64*k > 127: bytes with the top bit set
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
  dict.append(200, ' ');
  const Tensor t = parse_npy(npy(dict, floats_bytes({3.5f})), "t", "t", {});
  CHECK(t.values(0) == 3.5f);
}

TEST_CASE(".npy: strict rejection of malformed or unsupported files") {
  const auto data = floats_bytes({1, 2});
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  CHECK(error_of(npy(ok, data)).empty());
  CHECK(error_of(npy(ok, data.substr(0, 7))).find("truncated .npy data") != std::string::npos);
  CHECK(error_of(npy(ok, data + "x")).find("unexpected bytes after") != std::string::npos);
  CHECK(error_of(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", data)).find("float64") !=
        std::string::npos);
  CHECK(error_of(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data)).find("unsupported dtype") !=
        std::string::npos);
  CHECK(error_of(npy("{'descr': '|V2', 'fortran_order': False, 'shape': (2,), }", data)).find("--dtype bf16") !=
        std::string::npos);
  CHECK(error_of(npy("{'descr': '|V2', 'fortran_order': False, 'shape': (4,), }", data), DType::bf16).empty());
  CHECK(error_of(npy("{'descr': '<f4', 'shape': (2,), }", data)).find("lacks") != std::string::npos);
  CHECK(error_of(npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data))
            .find("repeated") != std::string::npos);
  CHECK(error_of(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", data)).find("non-negative") !=
        std::string::npos);
  CHECK(error_of(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data))
            .find("decoder limit") != std::string::npos);
  // an empty shape whose other dimensions are huge (fuzzer find: overflowed xtensor's strides)
  CHECK(error_of(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296), }", ""))
            .find("decoder limit") != std::string::npos);
  CHECK(error_of(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 65536, 65536), }", "")).empty());
  CHECK(error_of(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", data))
            .find("out of range") != std::string::npos);
  auto bad_version = npy(ok, data);
  bad_version[6] = std::byte{4};
  CHECK(error_of(bad_version).find("version 4.0") != std::string::npos);
  auto long_header = npy(ok, data);
  long_header[8] = std::byte{0xff};
  long_header[9] = std::byte{0xff};
  CHECK(error_of(long_header).find("truncated .npy header") != std::string::npos);
  CHECK(error_of(bytes_of("\x93NUMP")).find("not a .npy") != std::string::npos);
}

TEST_CASE(".npy / .npz and safetensors round-trip every dtype and keep order") {
  std::vector<Tensor> tensors{tensor("z.first", DType::f32, {2, 3}, 0), tensor("a.second", DType::f16, {4}, 1),
                              tensor("m.third", DType::bf16, {1, 2, 2}, 2), tensor("scalar", DType::f32, {}, 3)};
  for (TensorFormat format : {TensorFormat::npz, TensorFormat::safetensors}) {
    const auto bytes = serialize_tensor_file(tensors, format);
    CHECK(sniff_format(bytes) == format);
    TensorReadOptions options;
    options.dtype = DType::bf16;
    const auto back = parse_tensor_file(bytes, "mem", options);
    REQUIRE(back.size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      CHECK(back[i].name == tensors[i].name);
      CHECK(back[i].dtype == tensors[i].dtype);
      CHECK(back[i].shape() == tensors[i].shape());
      CHECK(back[i].values == tensors[i].values);
    }
  }
  const auto one = serialize_tensor_file({tensors[1]}, TensorFormat::npy);
  CHECK(parse_npy(one, "one", "x", {}).values == tensors[1].values);
  CHECK_THROWS_AS(serialize_tensor_file(tensors, TensorFormat::npy), Error);
  CHECK(parse_tensor_file(serialize_npz({}), "empty", {}).empty());
}

TEST_CASE("FP8 tensors: .npy/.npz as 1-byte 'V1' with the dtype given, safetensors as F8_E5M2 / F8_E4M3") {
  const Tensor e4m3 = tensor("e4m3", DType::f8e4m3, {3, 2}, -1), e5m2 = tensor("e5m2", DType::f8e5m2, {5}, 2),
               b11 = tensor("b11", DType::f8e4m3b11, {2, 2}, 0);
  const std::string code_bytes = "\x01\x02\x7e\xfe";
  CHECK(error_of(npy("{'descr': '|V1', 'fortran_order': False, 'shape': (4,), }", code_bytes))
            .find("pass --dtype f8e5m2, f8e4m3 or f8e4m3b11") != std::string::npos);
  CHECK(error_of(npy("{'descr': '|V1', 'fortran_order': False, 'shape': (4,), }", code_bytes), DType::bf16)
            .find("untyped 1-byte elements") != std::string::npos);
  const Tensor codes =
      parse_npy(npy("{'descr': '|V1', 'fortran_order': False, 'shape': (4,), }", code_bytes), "c", "c", DType::f8e4m3);
  CHECK(codes.dtype == DType::f8e4m3);
  const std::vector<float> expected{0.001953125f, 0.00390625f, 448.0f, -448.0f};
  CHECK(std::equal(codes.flat().begin(), codes.flat().end(), expected.begin(), expected.end()));
  for (const Tensor& t : {e4m3, e5m2, b11}) {
    CAPTURE(t.name);
    const auto one = serialize_tensor_file({t}, TensorFormat::npy);
    const Tensor back = parse_npy(one, "one", "x", t.dtype);
    CHECK(back.dtype == t.dtype);
    CHECK(back.values == t.values);
    TensorReadOptions options;
    options.dtype = t.dtype;
    const auto npz = parse_tensor_file(serialize_tensor_file({t}, TensorFormat::npz), "mem", options);
    CHECK(npz.at(0).values == t.values);
  }
  const auto safetensors = serialize_tensor_file({e4m3, e5m2}, TensorFormat::safetensors);
  const std::string text(reinterpret_cast<const char*>(safetensors.data()), safetensors.size());
  CHECK(text.find("\"F8_E4M3\"") != std::string::npos);
  CHECK(text.find("\"F8_E5M2\"") != std::string::npos);
  const auto back = parse_tensor_file(safetensors, "mem", {});
  REQUIRE(back.size() == 2);
  CHECK(back[0].dtype == DType::f8e4m3);
  CHECK(back[1].dtype == DType::f8e5m2);
  CHECK(back[1].values == e5m2.values);
  try {
    serialize_tensor_file({b11}, TensorFormat::safetensors);
    FAIL("f8e4m3b11 written to safetensors");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::usage);
    CHECK(std::string(e.what()).find("safetensors has no dtype for") != std::string::npos);
  }
}

TEST_CASE("safetensors: forged headers are rejected") {
  auto make = [](const std::string& header, std::size_t data_bytes) {
    std::vector<std::byte> out(8 + header.size() + data_bytes);
    const std::uint64_t length = header.size();
    std::memcpy(out.data(), &length, 8);
    std::memcpy(out.data() + 8, header.data(), header.size());
    return out;
  };
  auto error = [](const std::vector<std::byte>& bytes) -> std::string {
    try {
      parse_safetensors(bytes, "s.safetensors");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error(make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8)).empty());
  CHECK(
      error(
          make(
              R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
              8))
          .find("holes and overlaps") != std::string::npos);
  CHECK(error(make(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 12)).find("file holds 12") !=
        std::string::npos);
  CHECK(error(make(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)).find("do not span 12") !=
        std::string::npos);
  CHECK(error(make(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8)).find("unsupported dtype I64") !=
        std::string::npos);
  CHECK(error(make(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", 8)).find("non-negative") !=
        std::string::npos);
  CHECK(error(make(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8))
            .find("decoder limit") != std::string::npos);
  CHECK(error(make(R"({"a":)", 0)).find("not valid JSON") != std::string::npos);
  auto huge = make("{}", 0);
  const std::uint64_t length = 200'000'000;
  std::memcpy(huge.data(), &length, 8);
  CHECK(error(huge).find("exceeds 100000000") != std::string::npos);
}

TEST_CASE(".npz: members that lie about their size or are not .npy are rejected") {
  std::vector<Tensor> tensors{tensor("w", DType::f32, {4}, 0)};
  auto bytes = serialize_npz(tensors);
  // corrupt one data byte of the stored member: libzip's CRC check must catch it
  auto corrupt = bytes;
  const std::string text(reinterpret_cast<const char*>(corrupt.data()), corrupt.size());
  const auto data_at = text.find("\x93NUMPY") + 64 + 2;
  corrupt[data_at] ^= std::byte{0x40};
  CHECK_THROWS_AS(parse_npz(corrupt, "c.npz", {}), Error);
  // sizes that lie: the uncompressed size patched (local and central headers alike) above and below
  // the member's real size
  for (std::uint32_t delta : {1u, 1000000u, 0xfffffff0u}) {
    auto lying = bytes;
    const std::string raw(reinterpret_cast<const char*>(lying.data()), lying.size());
    for (const auto& [signature, offset] : {std::pair<std::string, std::size_t>{"PK\x03\x04", 22},
                                            std::pair<std::string, std::size_t>{"PK\x01\x02", 24}}) {
      const auto at = raw.find(signature) + offset;
      std::uint32_t size;
      std::memcpy(&size, lying.data() + at, 4);
      size += delta;
      std::memcpy(lying.data() + at, &size, 4);
    }
    CHECK_THROWS_AS(parse_npz(lying, "lying.npz", {}), Error);
  }
  // a truncated archive
  const std::vector<std::byte> truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
  CHECK_THROWS_AS(parse_npz(truncated, "t.npz", {}), Error);
}

TEST_CASE("a real NumPy-written .npz (Zip64 extra fields) is read") {
  const std::filesystem::path file = std::filesystem::path(ADACOMP_SAMPLE_DUMP) / "step-00000" / "learner-0.npz";
  REQUIRE(std::filesystem::exists(file));
  const auto tensors = parse_tensor_file(test_support::read_file(file), file.string(), {});
  CHECK(tensors.size() >= 4);
  CHECK(tensors.front().name == "conv1.weight");
}
