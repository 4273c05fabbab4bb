// The round-trip property on real gradients: for the shipped sample dump and the shared dumps
// (when ../shared is present), learner 0's steps are encoded with residues carried over, the
// stream is decoded, and both the decoded values and the residues must equal the reference
// computation bit for bit.
#include <bit>
#include <filesystem>
#include <map>

#include <doctest/doctest.h>

#include "adacomp/encoder.hpp"
#include "adacomp/tensor_file.hpp"
#include "reference.hpp"
#include "test_support.hpp"

using namespace adacomp;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> step_files(const fs::path& run, int learner) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(run))
    if (entry.is_directory() && entry.path().filename().string().rfind("step-", 0) == 0)
      out.push_back(entry.path() / ("learner-" + std::to_string(learner) + ".npz"));
  std::sort(out.begin(), out.end());
  return out;
}

void check_run(const fs::path& run, int zstd_level) {
  CAPTURE(run.string());
  const auto steps = step_files(run, 0);
  REQUIRE(!steps.empty());
  EncodeSettings settings;
  settings.zstd_level = zstd_level;
  ResidueMap residues;
  std::map<std::string, xt::xarray<float>> reference_residues;
  for (const fs::path& file : steps) {
    CAPTURE(file.string());
    const auto tensors = parse_tensor_file(test_support::read_file(file), file.string(), {});
    std::vector<std::byte> stream;
    encode_stream(tensors, residues, settings, stream);
    const auto decoded = test_support::decode_all(stream);
    REQUIRE(decoded.size() == tensors.size());
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      const Tensor& g = tensors[t];
      auto it = reference_residues.find(g.name);
      if (it == reference_residues.end())
        it = reference_residues.emplace(g.name, xt::xarray<float>(xt::zeros<float>({g.size()}))).first;
      const auto expected = reference::adacomp_step(g.values, it->second, default_bin_size(g.values.dimension()), 2.0f);
      it->second = expected.residue;
      REQUIRE(decoded[t].name == g.name);
      REQUIRE(decoded[t].shape() == g.shape());
      const auto values = decoded[t].flat();
      // A copy is corrected, so that the learner's residue carries its correction to the next step.
      Residue copy = residues.at(g.name);
      const auto residue = copy.values().flat();
      for (std::size_t i = 0; i < g.size(); ++i) {
        REQUIRE(std::bit_cast<std::uint32_t>(values[i]) == std::bit_cast<std::uint32_t>(expected.decoded(i)));
        REQUIRE(std::bit_cast<std::uint32_t>(residue[i]) == std::bit_cast<std::uint32_t>(expected.residue(i)));
      }
    }
  }
}

}  // namespace

TEST_CASE("round trip with carried residue: shipped sample dump") { check_run(ADACOMP_SAMPLE_DUMP, 0); }

TEST_CASE("round trip with carried residue: shared real dumps (skipped when ../shared is absent)") {
  const fs::path shared = ADACOMP_SHARED_GRADIENTS;
  if (!fs::exists(shared)) {
    MESSAGE("skipped: " << shared.string() << " not present");
    return;
  }
  int runs = 0;
  for (const char* name : {"cnn-digits", "mlp-digits", "cnn-digits-fp16"}) {
    if (!fs::exists(shared / name)) continue;
    check_run(shared / name, runs % 2 ? 3 : 0);
    ++runs;
  }
  CHECK(runs == 3);
}
