// Golden vectors in format_spec/golden/, written by the independent Python reference
// (tools/make_golden_vectors.py): the C++ decoder must read them to the listed values and the C++
// encoder must reproduce them byte for byte, in formats 1.x (fixed entries) and 2.x (coded).
#include <bit>
#include <filesystem>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "adacomp/encoder.hpp"
#include "test_support.hpp"

using namespace adacomp;
namespace fs = std::filesystem;

namespace {

const fs::path kGolden = ADACOMP_GOLDEN_DIR;

nlohmann::json manifest() {
  const auto bytes = test_support::read_file(kGolden / "vectors.json");
  return nlohmann::json::parse(reinterpret_cast<const char*>(bytes.data()),
                               reinterpret_cast<const char*>(bytes.data()) + bytes.size());
}

// The agreed layout a vector names, if any.
std::optional<wire::Layout> layout_of(const nlohmann::json& vector) {
  if (!vector.contains("layout")) return std::nullopt;
  const auto bytes = test_support::read_file(kGolden / vector["layout"].get<std::string>());
  MemoryInput input(bytes, "layout");
  return wire::read_layout(input);
}

std::vector<float> floats(const nlohmann::json& values) {
  std::vector<float> out;
  for (const auto& v : values) out.push_back(static_cast<float>(v.get<double>()));
  return out;
}

bool same_bits(const std::vector<float>& a, std::span<const float> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i])) return false;
  return true;
}

Tensor tensor_from(const nlohmann::json& frame, const char* key) {
  Tensor t = make_tensor(frame["name"], *dtype_from_name(frame["dtype"].get<std::string>()),
                         frame["shape"].get<std::vector<std::uint64_t>>());
  const auto values = floats(frame[key]);
  std::copy(values.begin(), values.end(), t.flat().begin());
  return t;
}

}  // namespace

TEST_CASE("golden streams decode to the reference values") {
  const auto json = manifest();
  REQUIRE(json["valid"].size() >= 21);
  for (const auto& vector : json["valid"]) {
    const std::string file = vector["file"];
    CAPTURE(file);
    const auto bytes = test_support::read_file(kGolden / file);
    const auto layout = layout_of(vector);
    MemoryInput input(bytes, file);
    wire::StreamReader reader(input);
    reader.set_agreed_layout(layout ? &*layout : nullptr);
    std::size_t index = 0;
    while (auto frame = reader.next()) {
      REQUIRE(index < vector["frames"].size());
      const auto& expected = vector["frames"][index++];
      CAPTURE(expected["name"].get<std::string>());
      const Tensor decoded = wire::decode_frame(*frame, file);
      CHECK(decoded.name == expected["name"].get<std::string>());
      CHECK(decoded.shape() == expected["shape"].get<std::vector<std::uint64_t>>());
      CHECK(dtype_name(decoded.dtype) == expected["dtype"].get<std::string>());
      CHECK(same_bits(floats(expected["decoded"]), decoded.flat()));
      std::vector<float> rounded(decoded.flat().begin(), decoded.flat().end());
      for (float& x : rounded) x = round_to_dtype(x, decoded.dtype);
      CHECK(same_bits(floats(expected["decoded_in_source_dtype"]), rounded));
      if (expected["kind"] == "compressed") {
        const SparseTernary sparse = wire::sparse_from_frame(*frame, file);
        CHECK(sparse.scale == static_cast<float>(expected["scale"].get<double>()));
        CHECK(sparse.bin_counts == expected["bin_counts"].get<std::vector<std::uint16_t>>());
        CHECK(sparse.entries == expected["entries"].get<std::vector<std::uint16_t>>());
        CHECK(frame->info.bin_size == expected["bin_size"].get<std::uint32_t>());
      }
    }
    CHECK(index == vector["frames"].size());
  }
}

TEST_CASE("the C++ encoder reproduces every single-stream golden vector byte for byte") {
  const auto json = manifest();
  std::size_t reproduced = 0;
  for (const auto& vector : json["valid"]) {
    const std::string file = vector["file"];
    // two streams, whose parts are checked on their own; or a layout inline, which encoders do not write
    if (!vector["encoder_reproduces"].get<bool>()) continue;
    CAPTURE(file);
    std::vector<Tensor> tensors;
    ResidueMap residues;
    EncodeSettings settings;
    settings.entries =
        vector["format"].get<std::string>().starts_with("1.") ? wire::EntryLayout::fixed : wire::EntryLayout::coded;
    const auto layout = layout_of(vector);
    settings.layout = layout ? &*layout : nullptr;
    for (const auto& frame : vector["frames"]) {
      tensors.push_back(tensor_from(frame, "gradient"));
      settings.zstd_level = frame["zstd_level"].get<int>();
      if (frame["kind"] == "passthrough") {
        settings.exclude.push_back(frame["name"]);
        continue;
      }
      settings.scale_factor = frame["scale_factor"].get<float>();
      settings.bin_sizes.add_rule(frame["name"].get<std::string>() + "=" +
                                  std::to_string(frame["bin_size"].get<int>()));
      Tensor residue = tensor_from(frame, "residue");
      residue.dtype = DType::f32;
      const std::string name = residue.name;
      residues.emplace(name, Residue(std::move(residue)));
    }
    std::vector<std::byte> out;
    encode_stream(tensors, residues, settings, out);
    CHECK(out == test_support::read_file(kGolden / file));
    ++reproduced;
    if (layout)
      CHECK(wire::layout_file_bytes(layout_for(tensors, settings)) ==
            test_support::read_file(kGolden / vector["layout"].get<std::string>()));
    for (const auto& frame : vector["frames"])
      if (frame["kind"] == "compressed")
        CHECK(same_bits(floats(frame["new_residue"]), residues.at(frame["name"]).values().flat()));
  }
  CHECK(reproduced >= 18);
}

TEST_CASE("invalid golden streams fail with the documented reason") {
  const auto json = manifest();
  REQUIRE(json["invalid"].size() >= 64);
  for (const auto& vector : json["invalid"]) {
    const std::string file = vector["file"];
    CAPTURE(file);
    const auto layout = layout_of(vector);
    const std::string error =
        test_support::decode_error(test_support::read_file(kGolden / file), layout ? &*layout : nullptr);
    CHECK_MESSAGE(error.find(vector["error_contains"].get<std::string>()) != std::string::npos, error);
  }
}
