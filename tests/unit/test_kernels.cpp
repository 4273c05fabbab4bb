// Every encoder kernel this CPU runs must produce the bits of the plain C++ reference loop:
// entries, counts, scale and residue, on random and adversarial inputs, with and without a
// residue, with any thread count; and fail on the same first non-finite element.
#include <algorithm>
#include <bit>
#include <limits>
#include <random>

#include <doctest/doctest.h>
#include <hwy/targets.h>

#include "adacomp/codec.hpp"
#include "adacomp/error.hpp"
#include "adacomp/kernels.hpp"
#include "codec/kernels/cpu_targets.hpp"
#include "test_support.hpp"

using namespace adacomp;

namespace {

struct Outcome {
  SparseTernary sparse;
  std::vector<float> residue;
  std::string error;
};

Outcome run_kernel(const std::string& kernel, const std::vector<float>& g, const std::vector<float>& r, std::uint32_t T,
                   float k, unsigned threads, bool fresh) {
  select_kernel(kernel);
  Outcome out;
  out.residue = r;
  try {
    out.sparse = fresh ? compress_fresh(g, T, k, "t", threads) : compress(g, out.residue, T, k, "t", threads);
  } catch (const Error& e) {
    out.error = e.what();
  }
  select_kernel("auto");
  return out;
}

void require_same(const Outcome& got, const Outcome& expected, const std::string& what) {
  INFO(what);
  REQUIRE(got.error == expected.error);
  test_support::require_same_frame(got.sparse, expected.sparse);
  if (expected.error.empty()) test_support::require_same_bits(got.residue, expected.residue);
}

}  // namespace

TEST_CASE("the reference loop and at least one SIMD kernel are available") {
  const auto kernels = available_kernels();
  REQUIRE(kernels.back() == "reference");
  CHECK(kernels.size() >= 2);
  CHECK(active_kernel() == kernels.front());
  select_kernel("reference");
  CHECK(active_kernel() == "reference");
  select_kernel("auto");
  CHECK_THROWS_AS(select_kernel("NEON-on-x86"), Error);
  // The choice picks the entry of the kernels' own dispatch tables (active_kernel names the target
  // of the function found there) and leaves Highway's process-wide target set alone.
  const std::int64_t supported = hwy::SupportedTargets();
  for (const auto& name : kernels) {
    select_kernel(name);
    CHECK(active_kernel() == name);
    CHECK(hwy::SupportedTargets() == supported);
  }
  select_kernel("auto");
}

TEST_CASE("adacomp finds the instruction sets libhwy finds on this CPU") {
  // The library detects the targets itself (cpu_targets.hpp); only this test links libhwy, to
  // compare. Targets adacomp compiles: the x86 ones and the fallbacks.
  constexpr std::int64_t kCompared = HWY_SSSE3 | HWY_SSE4 | HWY_AVX2 | HWY_AVX3 | HWY_AVX3_DL | HWY_SCALAR | HWY_EMU128;
  CHECK((detail::cpu_targets() & kCompared) == (hwy::SupportedTargets() & kCompared));
  // and the kernels offered are those, best first
  std::vector<std::string> expected;
  for (std::int64_t t : hwy::SupportedAndGeneratedTargets())
    if (t & kCompared) expected.emplace_back(hwy::TargetName(t));
  const auto kernels = available_kernels();
  CHECK(std::vector<std::string>(kernels.begin(), kernels.end() - 1) == expected);
}

TEST_CASE("every kernel matches the reference loop bit for bit") {
  for (std::uint32_t T : {1u, 3u, 7u, 8u, 16u, 17u, 50u, 64u, 65u, 500u, 4096u, 16384u}) {
    for (std::size_t n :
         {std::size_t{1}, std::size_t{T}, std::size_t{T} - 1 + 1, 2 * std::size_t{T} + 5, std::size_t{40009}}) {
      const auto g = test_support::adversarial(n, T * 7 + static_cast<std::uint32_t>(n), 1e-3f);
      auto r = test_support::adversarial(n, T * 11 + static_cast<std::uint32_t>(n), 5e-4f);
      for (std::size_t i = 0; i < n; i += 17) r[i] = -g[i];  // G == 0 exactly
      for (float k : {1.0f, 2.0f, 3.5f}) {
        const Outcome expected = run_kernel("reference", g, r, T, k, 1, false);
        const Outcome expected_fresh = run_kernel("reference", g, r, T, k, 1, true);
        for (const auto& kernel : available_kernels()) {
          const std::string what =
              kernel + " T=" + std::to_string(T) + " n=" + std::to_string(n) + " k=" + std::to_string(k);
          require_same(run_kernel(kernel, g, r, T, k, 1, false), expected, what);
          require_same(run_kernel(kernel, g, r, T, k, 1, true), expected_fresh, what + " fresh");
        }
      }
    }
  }
}

TEST_CASE("every kernel matches the reference where every element of the longest bins is selected") {
  // |g| equal everywhere and no residue: |H| = k|g| >= max|G| = |g| at every element, so every
  // vector of a bin is marked (the 1-lane kernel's bound on marked vectors once overran here).
  const std::size_t n = 2 * std::size_t{kMaxBinSize} + 37;
  std::vector<float> g(n), r(n, 0.0f);
  for (std::size_t i = 0; i < n; ++i) g[i] = i % 3 ? 0.75f : -0.75f;
  for (std::uint32_t T : {4096u, kMaxBinSize}) {
    const Outcome expected = run_kernel("reference", g, r, T, 2.0f, 1, false);
    REQUIRE(expected.sparse.entries.size() == n);
    for (const auto& kernel : available_kernels())
      require_same(run_kernel(kernel, g, r, T, 2.0f, 1, false), expected, kernel + " T=" + std::to_string(T));
  }
}

TEST_CASE("every kernel matches the reference where a bin's selected |G| spread over many binades") {
  // r = -g + small: G is small while |H| ~ (k - 1)|g| reaches the bin maximum, so the selected
  // |G| of a bin spread as far as they can (wire_format.md §7: still too little for a lane-order
  // sum to round), next to bins of ordinary values.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> unit(0.5f, 1.0f);
  const std::size_t n = 6000;
  std::vector<float> g(n), r(n);
  for (std::size_t i = 0; i < n; ++i) {
    g[i] = (i & 1 ? -1.0f : 1.0f) * unit(rng) * 0x1p30f;
    r[i] = (i % 3 == 0) ? -g[i] + std::ldexp(unit(rng), static_cast<int>(rng() % 8)) : 0.0f;
    if (i >= n / 2) r[i] = g[i] * 0.25f;  // ordinary bins
  }
  for (std::uint32_t T : {16u, 50u, 500u})
    for (float k : {2.0f, 4.0f}) {
      const Outcome expected = run_kernel("reference", g, r, T, k, 1, false);
      REQUIRE(expected.error.empty());
      for (const auto& kernel : available_kernels())
        require_same(run_kernel(kernel, g, r, T, k, 2, false), expected, kernel + " T=" + std::to_string(T));
    }
}

TEST_CASE("a fresh learner without a residue gets the frame of a zero residue") {
  const auto g = test_support::adversarial(30011, 5, 1e-2f);
  for (std::uint32_t T : {50u, 500u}) {
    std::vector<float> zero(g.size(), 0.0f);
    const SparseTernary with_zeros = compress(g, zero, T, 2.0f, "t");
    const SparseTernary fresh = compress_fresh(g, T, 2.0f, "t", 2);
    CHECK(fresh.entries == with_zeros.entries);
    CHECK(fresh.bin_counts == with_zeros.bin_counts);
    CHECK(std::bit_cast<std::uint32_t>(fresh.scale) == std::bit_cast<std::uint32_t>(with_zeros.scale));
  }
}

TEST_CASE("every kernel is bit-identical across thread counts on a large tensor") {
  const std::size_t n = 3 * (std::size_t{1} << 18) + 77;  // three thread parts of at least 256 Ki
  const auto g = test_support::adversarial(n, 99, 1e-3f);
  const auto r = test_support::adversarial(n, 98, 1e-3f);
  for (std::uint32_t T : {50u, 500u}) {
    const Outcome expected = run_kernel("reference", g, r, T, 2.0f, 1, false);
    for (const auto& kernel : available_kernels())
      for (unsigned threads : {2u, 3u})
        require_same(run_kernel(kernel, g, r, T, 2.0f, threads, false), expected,
                     kernel + " threads " + std::to_string(threads));
  }
}

TEST_CASE("every kernel stops at the same first non-finite element with the same message") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float big = std::numeric_limits<float>::max();
  const std::size_t n = 5003;
  const auto g0 = test_support::adversarial(n, 1, 1e-3f);
  const auto r0 = test_support::adversarial(n, 2, 1e-3f);
  struct Poison {
    std::size_t at;
    float g, r;
  };
  for (const Poison& p : {Poison{4999, nan, 0.0f}, Poison{17, inf, 0.0f}, Poison{51, 1.0f, -inf}, Poison{777, big, big},
                          Poison{2500, big * 0.75f, 0.0f}, Poison{5002, 1.0f, nan}}) {
    auto g = g0;
    auto r = r0;
    g[p.at] = p.g;
    r[p.at] = p.r;
    for (std::uint32_t T : {7u, 50u, 500u}) {
      const Outcome expected = run_kernel("reference", g, r, T, 2.0f, 1, false);
      REQUIRE(expected.error.find("element " + std::to_string(p.at) + ":") != std::string::npos);
      for (const auto& kernel : available_kernels())
        CHECK(run_kernel(kernel, g, r, T, 2.0f, 2, false).error == expected.error);
    }
  }
}
