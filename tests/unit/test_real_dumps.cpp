// The round-trip property on real gradients: for the shipped sample dump and the shared dumps
// (when ../shared is present), learner 0's steps are encoded with residues carried over, the
// stream is decoded, and both the decoded values and the residues must equal the reference
// computation bit for bit. Every encoder kernel this CPU runs is also stepped over the same
// gradients and must give the reference loop's frames and residues.
#include <bit>
#include <cstdio>
#include <filesystem>
#include <map>

#include <doctest/doctest.h>

#include "adacomp/encoder.hpp"
#include "adacomp/kernels.hpp"
#include "adacomp/residue.hpp"
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

// Puts the best kernel back however the test case ends.
struct KernelChoice {
  explicit KernelChoice(const std::string& name) { select_kernel(name); }
  ~KernelChoice() { select_kernel("auto"); }
  KernelChoice(const KernelChoice&) = delete;
  KernelChoice& operator=(const KernelChoice&) = delete;
};

// Learner 0's steps, each tensor's residue kept from step to step on every kernel (a training
// loop's path: each step's correction pending until the next reads r), at a short and a long bin
// size, against the reference loop's frames at every step and its residues after the last.
void check_kernels_on_run(const fs::path& run) {
  CAPTURE(run.string());
  const auto steps = step_files(run, 0);
  REQUIRE(!steps.empty());
  const auto kernels = available_kernels();
  REQUIRE(kernels.back() == "reference");
  // residues[bin size][kernel][tensor]
  std::map<std::uint32_t, std::map<std::string, std::map<std::string, Residue>>> residues;
  std::size_t entries_compared = 0;
  for (const fs::path& file : steps) {
    CAPTURE(file.string());
    const auto tensors = parse_tensor_file(test_support::read_file(file), file.string(), {});
    for (const Tensor& g : tensors) {
      for (const std::uint32_t T : {50u, 500u}) {
        auto kept = [&](const std::string& kernel) -> Residue& {
          auto& by_name = residues[T][kernel];
          auto it = by_name.find(g.name);
          if (it == by_name.end()) it = by_name.emplace(g.name, Residue::zeros(g.name, g.shape())).first;
          return it->second;
        };
        SparseTernary expected;
        {
          KernelChoice reference("reference");
          expected = kept("reference").step(g.flat(), T, 2.0f, g.name);
        }
        for (const auto& kernel : kernels) {
          if (kernel == "reference") continue;
          CAPTURE(kernel);
          CAPTURE(g.name);
          CAPTURE(T);
          KernelChoice choice(kernel);
          const SparseTernary& got = kept(kernel).step(g.flat(), T, 2.0f, g.name);
          test_support::require_same_frame(got, expected);
          entries_compared += got.entries.size();
        }
      }
    }
  }
  CHECK(entries_compared > 0);  // not vacuous: something was selected and compared
  // Named references, not structured bindings: clang 14 cannot capture those in CAPTURE's lambda.
  for (auto& of_bin_size : residues)
    for (auto& of_kernel : of_bin_size.second)
      for (auto& of_tensor : of_kernel.second) {
        const std::uint32_t T = of_bin_size.first;
        const std::string& kernel = of_kernel.first;
        const std::string& name = of_tensor.first;
        CAPTURE(kernel);
        CAPTURE(name);
        CAPTURE(T);
        test_support::require_same_bits(of_tensor.second.values().flat(),
                                        of_bin_size.second.at("reference").at(name).values().flat());
      }
}

// The shared real dumps, all three expected once ../shared is there; none when absent, and then
// the test case prints the line that CTest's SKIP_REGULAR_EXPRESSION (tests/CMakeLists.txt) turns
// into "Skipped", so that it is not counted as passed.
std::vector<fs::path> shared_runs() {
  const fs::path shared = ADACOMP_SHARED_GRADIENTS;
  std::vector<fs::path> runs;
  if (!fs::exists(shared)) {
    std::printf("adacomp-test-skipped: %s not present\n", shared.string().c_str());
    std::fflush(stdout);
    return runs;
  }
  for (const char* name : {"cnn-digits", "mlp-digits", "cnn-digits-fp16"})
    if (fs::exists(shared / name)) runs.push_back(shared / name);
  CHECK(runs.size() == 3);
  return runs;
}

}  // namespace

TEST_CASE("every kernel steps a kept residue as the reference loop does: shipped sample dump") {
  check_kernels_on_run(ADACOMP_SAMPLE_DUMP);
}

TEST_CASE(
    "every kernel steps a kept residue as the reference loop does: shared real dumps (skipped when ../shared is "
    "absent)") {
  for (const fs::path& run : shared_runs()) check_kernels_on_run(run);
}

TEST_CASE("round trip with carried residue: shipped sample dump") { check_run(ADACOMP_SAMPLE_DUMP, 0); }

TEST_CASE("round trip with carried residue: shared real dumps (skipped when ../shared is absent)") {
  int runs = 0;
  for (const fs::path& run : shared_runs()) check_run(run, runs++ % 2 ? 3 : 0);
}
