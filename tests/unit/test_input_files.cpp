// Input files read without copies: mapped .npy and .safetensors views (read_input_tensors), .npz
// members read straight into their tensors with their CRC checked, and the stored-member .npz
// writer, whose archives libzip must read back (Zip64 records included).
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "io/tensor_layout.hpp"
#include "test_support.hpp"

using namespace adacomp;

namespace {

std::filesystem::path temp_path(const std::string& suffix) {
  static int counter = 0;
  std::string name = "adacomp-input-test-";
  name += std::to_string(::getpid());
  name += '-';
  name += std::to_string(counter++);
  name += suffix;
  return std::filesystem::temp_directory_path() / name;
}

class TempFile {
 public:
  TempFile(const std::vector<std::byte>& bytes, const std::string& suffix) : path_(temp_path(suffix)) {
    std::ofstream(path_, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

Tensor ramp(const std::string& name, DType dtype, const std::vector<std::uint64_t>& shape, float start) {
  Tensor t = make_tensor(name, dtype, shape);
  for (std::size_t i = 0; i < t.size(); ++i) t.values.data()[i] = start + 0.25f * static_cast<float>(i % 1000);
  return t;
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](float x, float y) {
    return std::bit_cast<std::uint32_t>(x) == std::bit_cast<std::uint32_t>(y);
  });
}

void check_views_match(const InputTensors& input, const std::vector<Tensor>& expected) {
  REQUIRE(input.views().size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const TensorView& view = input.views()[i];
    CHECK(view.name == expected[i].name);
    CHECK(view.dtype == expected[i].dtype);
    CHECK(view.shape == expected[i].shape());
    CHECK(same_bits(view.values, expected[i].flat()));
  }
}

std::string error_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("read_input_tensors maps float32 .npy data in place and reads other .npy as read_tensor_file does") {
  const Tensor f32 = ramp("ignored", DType::f32, {64, 33}, 1.0f);
  const TempFile plain(serialize_tensor_file({f32}, TensorFormat::npy), ".npy");
  const TensorReadOptions options{std::nullopt, std::nullopt, std::string(1, 'w')};
  const InputTensors input = read_input_tensors(plain.path(), options);
  CHECK(input.mapped_count() == 1);
  check_views_match(input, read_tensor_file(plain.path(), options));
  // the view lies in the mapping, which the SIGBUS handler can name
  REQUIRE(mapped_file_at(input.views()[0].values.data()) != nullptr);
  CHECK(std::string(mapped_file_at(input.views()[0].values.data())) == plain.path());
  int not_mapped = 0;
  CHECK(mapped_file_at(&not_mapped) == nullptr);

  const Tensor f16 = ramp("ignored", DType::f16, {100}, -3.0f);
  const TempFile half(serialize_tensor_file({f16}, TensorFormat::npy), ".npy");
  const InputTensors converted = read_input_tensors(half.path(), options);
  CHECK(converted.mapped_count() == 0);
  check_views_match(converted, read_tensor_file(half.path(), options));
}

TEST_CASE("a mapping is named only while it is held") {
  const TempFile file(serialize_tensor_file({ramp("x", DType::f32, {4096}, 0.0f)}, TensorFormat::npy), ".npy");
  const float* address = nullptr;
  {
    const InputTensors input = read_input_tensors(file.path(), {});
    address = input.views()[0].values.data();
    CHECK(mapped_file_at(address) != nullptr);
  }
  CHECK(mapped_file_at(address) == nullptr);
}

TEST_CASE("read_input_tensors views float32 safetensors tensors and converts the others, in data order") {
  const std::vector<Tensor> tensors = {ramp("a", DType::f32, {10, 7}, 0.5f), ramp("b", DType::bf16, {33}, 2.0f),
                                       ramp("c", DType::f32, {5}, -1.0f)};
  const TempFile file(serialize_tensor_file(tensors, TensorFormat::safetensors), ".safetensors");
  const InputTensors input = read_input_tensors(file.path(), {});
  // b's 66 bytes leave c at an offset that is still a multiple of 2 but not of 4: converted
  const auto expected = read_tensor_file(file.path(), {});
  check_views_match(input, expected);
  CHECK(input.mapped_count() >= 1);
  CHECK(input.mapped_count() <= 2);
}

TEST_CASE("read_input_tensors refuses a bad input with read_tensor_file's message") {
  auto bytes = serialize_tensor_file({ramp("x", DType::f32, {100}, 0.0f)}, TensorFormat::npy);
  bytes.resize(bytes.size() - 4);
  const TempFile truncated(bytes, ".npy");
  const std::string mapped = error_of([&] { read_input_tensors(truncated.path(), {}); });
  CHECK(mapped.find("truncated .npy data") != std::string::npos);
  CHECK(mapped == error_of([&] { read_tensor_file(truncated.path(), {}); }));

  auto st = serialize_tensor_file({ramp("x", DType::f32, {100}, 0.0f)}, TensorFormat::safetensors);
  st.push_back(std::byte{0});
  const TempFile longer(st, ".safetensors");
  const std::string st_error = error_of([&] { read_input_tensors(longer.path(), {}); });
  CHECK(st_error.find("tensors cover 400 data bytes but the file holds 401") != std::string::npos);
  CHECK(st_error == error_of([&] { read_tensor_file(longer.path(), {}); }));
}

TEST_CASE(".npz: a large stored member is read straight into its tensor, its CRC checked") {
  const std::vector<Tensor> tensors = {ramp("big", DType::f32, {300, 40}, 3.0f), ramp("small", DType::f32, {3}, 1.0f)};
  const auto bytes = serialize_tensor_file(tensors, TensorFormat::npz);
  const TempFile file(bytes, ".npz");
  const auto read = read_tensor_file(file.path(), {});
  REQUIRE(read.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) CHECK(same_bits(read[i].flat(), tensors[i].flat()));

  // one data byte of the large member flipped, past the first 4 KiB (the part read with the header)
  auto corrupt = bytes;
  const std::string text(reinterpret_cast<const char*>(corrupt.data()), corrupt.size());
  corrupt[text.find("\x93NUMPY") + 30000] ^= std::byte{0x01};
  const TempFile bad(corrupt, ".npz");
  const std::string from_file = error_of([&] { read_tensor_file(bad.path(), {}); });
  CHECK(from_file.find("member 'big.npy': corrupt member: CRC error") != std::string::npos);
  const std::string from_memory = error_of([&] { parse_npz(corrupt, bad.path(), {}); });
  CHECK(from_memory.find("member 'big.npy': corrupt member: CRC error") != std::string::npos);
}

TEST_CASE(".npz writer: archives with and without Zip64 records read back through libzip") {
  const std::vector<Tensor> tensors = {ramp("w", DType::f32, {2000}, 0.0f), ramp("b\xc3\xa9", DType::f16, {7}, 1.0f),
                                       ramp("e", DType::f32, {0}, 0.0f)};
  for (const std::uint64_t zip64_from : {std::uint64_t{0xffffffff}, std::uint64_t{0}}) {
    CAPTURE(zip64_from);
    std::vector<std::byte> bytes;
    detail::write_npz_records(
        tensors, [&](std::span<const std::byte> piece) { bytes.insert(bytes.end(), piece.begin(), piece.end()); },
        zip64_from);
    const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    CHECK((text.find("PK\x06\x06") != std::string::npos) == (zip64_from == 0));
    const auto back = parse_npz(bytes, "mem", {});
    REQUIRE(back.size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      CHECK(back[i].name == tensors[i].name);
      CHECK(back[i].dtype == tensors[i].dtype);
      CHECK(back[i].shape() == tensors[i].shape());
      CHECK(same_bits(back[i].flat(), tensors[i].flat()));
    }
  }
  // no members: the end-of-central-directory record alone
  CHECK(serialize_npz({}).size() == 22);
  CHECK(parse_npz(serialize_npz({}), "empty", {}).empty());
  CHECK_THROWS_AS(serialize_npz({tensors[0], tensors[0]}), Error);
}
