// A kept Residue defers each step's correction to the next step's read. Over several steps, on
// every kernel and thread count, it must give the frames of a residue corrected in place by the
// reference loop, and the same residue bits whenever they are read.
#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include <doctest/doctest.h>

#include "adacomp/codec.hpp"
#include "adacomp/error.hpp"
#include "adacomp/kernels.hpp"
#include "adacomp/residue.hpp"
#include "test_support.hpp"

using namespace adacomp;

namespace {

Tensor flat_tensor(const std::vector<float>& values) {
  Tensor t = make_tensor("t", DType::f32, {values.size()});
  std::copy(values.begin(), values.end(), t.values.begin());
  return t;
}

// c - sign(c) * scale, as a second correction would compute it.
float corrected_again(float c, float scale) { return c > 0 ? c - scale : c + scale; }

// Residue::l2_norm's order of additions: square i into partial sum i mod 8, then the partials.
double l2(const std::vector<float>& x) {
  double partial[8] = {};
  for (std::size_t i = 0; i < x.size(); ++i) partial[i % 8] += static_cast<double>(x[i]) * x[i];
  double sum = 0.0;
  for (double p : partial) sum += p;
  return std::sqrt(sum);
}

// Steps of a kept Residue with `kernel` against the reference loop correcting a
// plain residue in place; with `read_between`, the residue is read (corrected) after step 1.
void check_steps(const std::string& kernel, std::size_t n, std::uint32_t T, unsigned threads, bool read_between) {
  const std::string what = kernel + " n=" + std::to_string(n) + " T=" + std::to_string(T) +
                           " threads=" + std::to_string(threads) + (read_between ? " read between" : "");
  INFO(what);
  std::vector<float> expected_residue = test_support::adversarial(n, 3 + T, 5e-4f);
  Residue residue(flat_tensor(expected_residue));
  for (std::uint32_t step = 0; step < 4; ++step) {
    auto g = test_support::adversarial(n, 100 * step + T, 1e-3f);
    for (std::size_t i = step; i < n; i += 17) g[i] = -expected_residue[i];  // G == 0
    select_kernel("reference");
    const SparseTernary expected = compress(g, expected_residue, T, 2.0f, "t");
    select_kernel(kernel);
    // Thread counts change between steps, as the buffers kept from step to step must allow.
    const SparseTernary got = residue.step(g, T, 2.0f, "t", step % 2 ? 1 : threads);
    select_kernel("auto");
    test_support::require_same_frame(got, expected);
    CHECK(residue.correction_pending() == !expected.entries.empty());
    // The norm reads through the pending correction without applying it.
    REQUIRE(residue.l2_norm() == l2(expected_residue));
    if (read_between && step == 1) {
      test_support::require_same_bits(residue.values().flat(), expected_residue);
      CHECK_FALSE(residue.correction_pending());
    }
  }
  test_support::require_same_bits(residue.values().flat(), expected_residue);
}

}  // namespace

TEST_CASE("a kept residue gives the frames and residue bits of one corrected in place on every kernel") {
  for (const auto& kernel : available_kernels())
    for (std::uint32_t T : {1u, 7u, 50u, 63u, 64u, 65u, 500u, 16384u})
      for (std::size_t n : {std::size_t{1}, std::size_t{T} + 3, std::size_t{20011}})
        for (bool read_between : {false, true}) check_steps(kernel, n, T, 1, read_between);
}

TEST_CASE("a kept residue is bit-identical across thread counts, whatever the bin size") {
  // Thread jobs start on multiples of 64 elements: odd bin sizes move the splits the most.
  const std::size_t n = 3 * (std::size_t{1} << 18) + 77;  // three thread parts of at least 256 Ki
  for (const auto& kernel : {available_kernels().front(), std::string("reference")})
    for (std::uint32_t T : {50u, 63u, 500u})
      for (unsigned threads : {2u, 3u}) check_steps(kernel, n, T, threads, false);
}

TEST_CASE("a kept residue fails on the first non-finite element as a plain one does") {
  const std::size_t n = 3001;
  const auto g0 = test_support::adversarial(n, 1, 1e-3f);
  const auto r0 = test_support::adversarial(n, 2, 1e-3f);
  const float big = std::numeric_limits<float>::max();
  for (const auto& kernel : available_kernels())
    for (std::size_t at : {std::size_t{0}, std::size_t{77}, n - 1}) {
      INFO(kernel << " element " << at);
      // One good step leaves a correction pending; the second step's gradient overflows.
      std::vector<float> plain = r0;
      Residue kept(flat_tensor(r0));
      select_kernel(kernel);
      compress(g0, plain, 50, 2.0f, "t");
      kept.step(g0, 50, 2.0f, "t");
      auto g = g0;
      g[at] = big;
      std::string expected, got;
      try {
        compress(g, plain, 50, 2.0f, "t", 2);
      } catch (const Error& e) {
        expected = e.what();
      }
      try {
        kept.step(g, 50, 2.0f, "t", 2);
      } catch (const Error& e) {
        got = e.what();
      }
      select_kernel("auto");
      REQUIRE(expected.find("element " + std::to_string(at) + ":") != std::string::npos);
      CHECK(got == expected);
    }
  // A residue read from a file may hold a NaN.
  auto r = r0;
  r[5] = std::numeric_limits<float>::quiet_NaN();
  Residue poisoned(flat_tensor(r));
  CHECK_THROWS_WITH_AS(poisoned.step(g0, 50, 2.0f, "t"), "tensor 't' element 5: residue value is NaN", Error);
}

TEST_CASE("a kept residue finds an overflow that only its pending correction reveals") {
  // Step 1 (k = 1) selects a huge G at `at` and leaves c = G - scale there; in step 2, c + g
  // overflows while (c - scale) + g would not. The kernels correct long bins in place before
  // they know the bin is bad, so the error must not apply the correction twice.
  const std::size_t n = 3001, at = 600;
  for (std::uint32_t T : {50u, 500u})
    for (const auto& kernel : available_kernels()) {
      INFO(kernel << " T=" << T);
      select_kernel(kernel);
      std::vector<float> g1 = test_support::adversarial(n, 4, 1e-3f);
      g1[at] = 3e38f;
      std::vector<float> plain(n, 0.0f);
      Residue kept = Residue::zeros("t", {n});
      const float scale = compress(g1, plain, T, 1.0f, "t").scale;
      kept.step(g1, T, 1.0f, "t");
      const float c = plain[at];
      REQUIRE(c < 3e38f);
      std::vector<float> g2 = test_support::adversarial(n, 5, 1e-3f);
      g2[at] = static_cast<float>(std::ldexp(1.0, 128) - static_cast<double>(c));
      REQUIRE(std::isinf(c + g2[at]));
      REQUIRE(std::isfinite(corrected_again(c, scale) + g2[at]));
      std::string expected, got;
      try {
        compress(g2, plain, T, 1.0f, "t");
      } catch (const Error& e) {
        expected = e.what();
      }
      try {
        kept.step(g2, T, 1.0f, "t");
      } catch (const Error& e) {
        got = e.what();
      }
      select_kernel("auto");
      CHECK(expected == "tensor 't' element 600: residue + gradient overflows float32");
      CHECK(got == expected);
    }
}

TEST_CASE("a copy of a kept residue carries its pending correction and steps on its own") {
  const std::size_t n = 5000;
  const auto g = test_support::adversarial(n, 8, 1e-3f);
  std::vector<float> plain = test_support::adversarial(n, 9, 1e-3f);
  Residue kept(flat_tensor(plain));
  compress(g, plain, 50, 2.0f, "t");
  kept.step(g, 50, 2.0f, "t");
  const Residue copy = kept;
  Residue stepped = kept;
  const SparseTernary expected = compress(g, plain, 50, 2.0f, "t");
  const SparseTernary got = stepped.step(g, 50, 2.0f, "t");
  CHECK(got.entries == expected.entries);
  test_support::require_same_bits(stepped.values().flat(), plain);
  // The originals are untouched by the copy's step.
  Residue original = copy;
  CHECK(original.correction_pending());
  std::vector<float> once = test_support::adversarial(n, 9, 1e-3f);
  compress(g, once, 50, 2.0f, "t");
  test_support::require_same_bits(original.values().flat(), once);
  test_support::require_same_bits(kept.values().flat(), once);
}

TEST_CASE("a residue of the wrong size is refused and values are moved out corrected") {
  Residue residue = Residue::zeros("w", {4, 25});
  CHECK(residue.size() == 100);
  CHECK(residue.shape() == std::vector<std::uint64_t>{4, 25});
  const std::vector<float> short_gradient(99, 1.0f);
  CHECK_THROWS_AS(residue.step(short_gradient, 50, 2.0f, "w"), Error);

  std::vector<float> g(100);
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(i % 10) - 4.5f;
  std::vector<float> plain(100, 0.0f);
  compress(g, plain, 50, 2.0f, "w");
  residue.step(g, 50, 2.0f, "w");
  REQUIRE(residue.correction_pending());
  const Tensor taken = residue.take();
  CHECK(taken.name == "w");
  test_support::require_same_bits(taken.flat(), plain);
  CHECK(residue.size() == 0);
  CHECK_FALSE(residue.correction_pending());
}

TEST_CASE("the residue norm is the same sum on every kernel, through a pending correction, for any length") {
  for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{9}, std::size_t{63},
                        std::size_t{64}, std::size_t{65}, std::size_t{1000}, std::size_t{4099}}) {
    std::vector<float> r0 = test_support::adversarial(n, 11 + n, 1e-3f);
    r0[n / 2] = -0.0f;
    const std::vector<float> g = test_support::adversarial(n, 12 + n, 1e-3f);
    // The expected residue after one step of the reference loop, corrected in place.
    std::vector<float> expected_residue = r0;
    select_kernel("reference");
    const SparseTernary frame = compress(g, expected_residue, 7, 2.0f, "t");
    REQUIRE_FALSE(frame.entries.empty());
    for (const auto& kernel : available_kernels()) {
      INFO(kernel << " n=" << n);
      select_kernel(kernel);
      Residue kept(flat_tensor(r0));
      CHECK(kept.l2_norm() == l2(r0));  // nothing pending yet
      kept.step(g, 7, 2.0f, "t");
      REQUIRE(kept.correction_pending());
      CHECK(kept.l2_norm() == l2(expected_residue));
    }
    select_kernel("auto");
  }
}
