#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <utility>

#include <doctest/doctest.h>
#include <xtensor/xadapt.hpp>

#include "adacomp/codec.hpp"
#include "adacomp/error.hpp"
#include "reference.hpp"

using namespace adacomp;

namespace {

std::vector<float> decode(const SparseTernary& sparse) {
  std::vector<float> out(sparse.element_count);
  decompress(sparse, out, "test");
  return out;
}

bool same_bits(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

// Compress with the codec and check decoded values, scale and residue against the reference.
void check_against_reference(const std::vector<float>& g, const std::vector<float>& r0, std::uint32_t T, float k) {
  std::vector<float> residue = r0;
  const SparseTernary sparse = compress(g, residue, T, k, "t");
  const auto expected = reference::adacomp_step(xt::adapt(g), xt::adapt(r0), T, k);
  REQUIRE(same_bits(sparse.scale, expected.scale));
  REQUIRE(sparse.entries.size() == expected.selected);
  const std::vector<float> decoded = decode(sparse);
  for (std::size_t i = 0; i < g.size(); ++i) {
    REQUIRE(same_bits(decoded[i], expected.decoded(i)));
    REQUIRE(same_bits(residue[i], expected.residue(i)));
  }
}

}  // namespace

TEST_CASE("index width and default bin sizes follow the spec") {
  CHECK(index_width_for(1) == 1);
  CHECK(index_width_for(64) == 1);
  CHECK(index_width_for(65) == 2);
  CHECK(index_width_for(16384) == 2);
  CHECK(default_bin_size(4) == 50);
  CHECK(default_bin_size(3) == 50);
  CHECK(default_bin_size(2) == 500);
  CHECK(default_bin_size(1) == 50);
  CHECK(default_bin_size(0) == 50);
}

TEST_CASE("selection: |H| >= bin max of |G| / ties included / zeros of G never") {
  // G = [1, 0.5, 0.49999997], H = [2, 1, 0.99999994]: gmax 1, element 1 ties, element 2 misses.
  std::vector<float> g{1.0f, 0.5f, std::nextafter(0.5f, 0.0f)};
  std::vector<float> r(3, 0.0f);
  const SparseTernary sparse = compress(g, r, 3, 2.0f, "t");
  REQUIRE(sparse.entries.size() == 2);
  CHECK(sparse.entries[0] == ((0 << 2) | kCodePositive));
  CHECK(sparse.entries[1] == ((1 << 2) | kCodePositive));
  CHECK(sparse.scale == 0.75f);
  CHECK(r[0] == 0.25f);
  CHECK(r[1] == -0.25f);
  CHECK(r[2] == g[2]);

  // all-zero G: gmax = 0 and |H| >= 0 everywhere, but G = 0 excludes every element
  std::vector<float> g2{1.0f, -1.0f};
  std::vector<float> r2{-1.0f, 1.0f};
  const SparseTernary none = compress(g2, r2, 2, 2.0f, "t");
  CHECK(none.entries.empty());
  CHECK(none.scale == 0.0f);
  CHECK(none.bin_counts == std::vector<std::uint16_t>{0});
  CHECK(r2 == std::vector<float>{0.0f, 0.0f});
}

TEST_CASE("short last bin and per-bin counts") {
  std::vector<float> g{0.5f, -1.0f, 1.25f, 0.25f, 2.0f, 0.0f, -0.75f, 0.125f, 0.0f, 0.0f};
  std::vector<float> r{0.0f, -1.0f, 0.5f, -0.25f, -1.5f, 0.0f, 0.25f, 0.0f, 0.0f, 0.0f};
  const SparseTernary sparse = compress(g, r, 4, 2.0f, "t");
  CHECK(sparse.bin_counts == std::vector<std::uint16_t>{2, 2, 0});
  CHECK(sparse.entries == std::vector<std::uint16_t>{6, 9, 1, 10});
  CHECK(sparse.scale == 1.1875f);
  CHECK(r[1] == -2.0f + 1.1875f);
  CHECK(r[4] == 0.5f - 1.1875f);
}

TEST_CASE("the codec matches the reference on random and adversarial inputs / every bin size class") {
  std::mt19937 rng(42);
  std::cauchy_distribution<float> heavy(0.0f, 1e-3f);
  for (std::uint32_t T : {1u, 2u, 7u, 50u, 64u, 65u, 500u, 4096u, 16384u}) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{T}, std::size_t{3 * T + 1}, std::size_t{10007}}) {
      std::vector<float> g(n), r(n);
      for (std::size_t i = 0; i < n; ++i) {
        g[i] = heavy(rng);
        r[i] = i % 3 ? heavy(rng) : 0.0f;
        if (i % 11 == 0) g[i] = 0.0f;                            // exact zeros
        if (i % 13 == 0) g[i] = 1e-41f;                          // denormals
        if (i % 17 == 0) r[i] = -g[i];                           // G == 0
        if (i % 19 == 0 && i) g[i] = g[i - 1], r[i] = r[i - 1];  // duplicates: ties
        if (std::abs(g[i]) > 1e30f) g[i] = 1.0f;
        if (std::abs(r[i]) > 1e30f) r[i] = -1.0f;
      }
      for (float k : {1.0f, 2.0f, 2.5f, 4.0f}) check_against_reference(g, r, T, k);
    }
  }
}

TEST_CASE("residue carried over steps equals the reference carried over steps") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> residue(3000, 0.0f);
  xt::xarray<float> ref_residue = xt::zeros<float>({3000});
  for (int step = 0; step < 10; ++step) {
    std::vector<float> g(3000);
    for (auto& x : g) x = normal(rng) * 1e-2f;
    const SparseTernary sparse = compress(g, residue, 50, 2.0f, "t");
    const auto expected = reference::adacomp_step(xt::adapt(g), ref_residue, 50, 2.0f);
    ref_residue = expected.residue;
    REQUIRE(same_bits(sparse.scale, expected.scale));
    for (std::size_t i = 0; i < residue.size(); ++i) REQUIRE(same_bits(residue[i], ref_residue(i)));
  }
}

TEST_CASE("non-finite input names the tensor and the first bad index") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  auto message_of = [](std::vector<float> g, std::vector<float> r) -> std::string {
    try {
      compress(g, r, 4, 2.0f, "fc1.weight");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_input);
      return e.what();
    }
    return "no error";
  };
  CHECK(message_of({0, 0, 0, 0, 0, nan, 0}, std::vector<float>(7, 0)) ==
        "tensor 'fc1.weight' element 5: gradient value is NaN");
  CHECK(message_of({0, 0, 0, 0}, {0, 0, -inf, 0}) == "tensor 'fc1.weight' element 2: residue value is infinite");
  CHECK(message_of({3e38f, 0}, {3e38f, 0}) == "tensor 'fc1.weight' element 0: residue + gradient overflows float32");
  CHECK(message_of({2e38f, 0}, {-2e38f, 0}) ==
        "tensor 'fc1.weight' element 0: residue + scale_factor * gradient overflows float32");
}

TEST_CASE("bin size and scale factor bounds are usage errors") {
  std::vector<float> g(4, 1.0f), r(4, 0.0f);
  CHECK_THROWS_AS(compress(g, r, 0, 2.0f, "t"), Error);
  CHECK_THROWS_AS(compress(g, r, 16385, 2.0f, "t"), Error);
  CHECK_THROWS_AS(compress(g, r, 4, 0.5f, "t"), Error);
  CHECK_THROWS_AS(compress(g, r, 4, 4.5f, "t"), Error);
  CHECK_NOTHROW(compress(g, r, 16384, 4.0f, "t"));
  std::vector<float> short_residue(3, 0.0f);
  CHECK_THROWS_AS(compress(g, short_residue, 4, 2.0f, "t"), Error);
}

TEST_CASE("validate rejects every malformed sparse layout") {
  SparseTernary good;
  good.element_count = 6;
  good.bin_size = 4;
  good.scale = 0.5f;
  good.bin_counts = {1, 1};
  good.entries = {(3 << 2) | kCodePositive, (1 << 2) | kCodeNegative};
  CHECK_NOTHROW(validate(good, "x"));
  auto rejects = [&](auto mutate, const char* needle) {
    SparseTernary bad = good;
    mutate(bad);
    try {
      validate(bad, "x");
      FAIL("accepted: " << needle);
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  rejects([](SparseTernary& s) { s.bin_counts = {1}; }, "bin headers for 2 bins");
  rejects(
      [](SparseTernary& s) {
        s.bin_counts = {1, 3};
        s.entries.resize(4, (0 << 2) | 1);
      },
      "holds 2 elements");
  rejects([](SparseTernary& s) { s.entries[1] = (2 << 2) | kCodeNegative; }, "beyond bin 1");
  rejects([](SparseTernary& s) { s.entries[0] = (3 << 2) | 0; }, "reserved ternary code 0");
  rejects([](SparseTernary& s) { s.entries[0] = (3 << 2) | 3; }, "reserved ternary code 3");
  rejects(
      [](SparseTernary& s) {
        s.bin_counts = {2, 0};
        s.entries = {(3 << 2) | 1, (1 << 2) | 1};
      },
      "not above");
  rejects(
      [](SparseTernary& s) {
        s.bin_counts = {2, 0};
        s.entries = {(1 << 2) | 1, (1 << 2) | 2};
      },
      "not above");
  rejects([](SparseTernary& s) { s.scale = 0.0f; }, "scale 0");
  rejects([](SparseTernary& s) { s.scale = std::numeric_limits<float>::infinity(); }, "not finite");
  rejects([](SparseTernary& s) { s.bin_counts = {1, 0}; }, "bin headers sum to 1");
}

TEST_CASE("two or more threads give bit-identical results and report the same first bad index") {
  std::mt19937 rng(3);
  std::cauchy_distribution<float> heavy(0.0f, 1e-3f);
  const std::size_t n = 3 * (std::size_t{1} << 18) + 123;  // three thread parts of at least 256 Ki, 6-7 jobs
  std::vector<float> g(n), r(n);
  for (std::size_t i = 0; i < n; ++i) {
    g[i] = std::clamp(heavy(rng), -1e3f, 1e3f);
    r[i] = i % 5 ? std::clamp(heavy(rng), -1e3f, 1e3f) : 0.0f;
  }
  for (std::uint32_t T : {50u, 500u, 16384u}) {
    std::vector<float> r1 = r;
    const SparseTernary one = compress(g, r1, T, 2.0f, "t", 1);
    for (unsigned threads : {2u, 3u, 8u, 2u, 3u, 2u, 3u}) {  // repeated: jobs finish in varying orders
      std::vector<float> rt = r;
      const SparseTernary many = compress(g, rt, T, 2.0f, "t", threads);
      REQUIRE(same_bits(many.scale, one.scale));
      REQUIRE(many.bin_counts == one.bin_counts);
      REQUIRE(many.entries == one.entries);
      REQUIRE(std::memcmp(rt.data(), r1.data(), n * sizeof(float)) == 0);
    }
  }
  // Threads take jobs (at T = 50, of 2592 bins: 129600 elements) as they become free, so a later
  // job may fail first: here the first bad element ends a job and later ones start each job after
  // it. The error still names the first, in every run.
  constexpr std::size_t kJob = 129600;
  for (const std::size_t first_bad : {2 * kJob - 1, std::size_t{5}}) {
    std::vector<float> bad = g;
    for (std::size_t later = first_bad + 1; later < n; later += 1000)
      bad[later] = std::numeric_limits<float>::quiet_NaN();
    bad[first_bad] = std::numeric_limits<float>::infinity();
    for (int run = 0; run < 10; ++run)
      for (unsigned threads : {2u, 3u}) {
        std::vector<float> rr = r;
        try {
          compress(bad, rr, 50, 2.0f, "t", threads);
          FAIL("accepted a non-finite gradient");
        } catch (const Error& e) {
          REQUIRE(std::string(e.what()) ==
                  "tensor 't' element " + std::to_string(first_bad) + ": gradient value is infinite");
        }
      }
  }
}

TEST_CASE("the fused decoder refuses exactly what validate refuses and with its message") {
  // Random corruptions of a valid layout, decoded with one and two threads: decompress throws iff
  // validate does, with the same words, and a valid layout decodes to sign * scale at the entries.
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const std::size_t n = 2 * (std::size_t{1} << 18) + 3;  // two thread parts and a short last bin
  std::vector<float> gradient(n), residue(n);
  for (float& g : gradient) g = normal(rng);
  for (std::uint32_t T : {7u, 50u, 500u}) {
    std::vector<float> r = residue;
    const SparseTernary good = compress(gradient, r, T, 2.0f, "t");
    std::vector<float> out(n, 99.0f);
    decompress(good, out, "t", 2);
    std::size_t e = 0, nonzero = 0;
    for (std::size_t bin = 0; bin < good.bin_counts.size(); ++bin)
      for (std::uint16_t c = 0; c < good.bin_counts[bin]; ++c, ++e) {
        const std::uint16_t entry = good.entries[e];
        CHECK(out[bin * T + (entry >> 2)] == ((entry & 3u) == kCodePositive ? good.scale : -good.scale));
      }
    for (float v : out) nonzero += v != 0.0f;
    CHECK(nonzero == good.entries.size());

    for (int trial = 0; trial < 300; ++trial) {
      SparseTernary bad = good;
      std::uniform_int_distribution<std::size_t> pick_entry(0, bad.entries.size() - 1);
      std::uniform_int_distribution<std::size_t> pick_bin(0, bad.bin_counts.size() - 1);
      switch (trial % 4) {
        case 0:
          bad.entries[pick_entry(rng)] ^= static_cast<std::uint16_t>(1u << (rng() % 16));
          break;
        case 1:
          bad.bin_counts[pick_bin(rng)] += static_cast<std::uint16_t>(1 + rng() % 3);
          break;
        case 2:
          bad.bin_counts[pick_bin(rng)] -= bad.bin_counts[pick_bin(rng)] ? 1 : 0;
          break;
        case 3:
          std::swap(bad.entries[pick_entry(rng)], bad.entries[pick_entry(rng)]);
          break;
      }
      std::string expected, got;
      try {
        validate(bad, "t");
      } catch (const Error& error) {
        expected = error.what();
      }
      for (unsigned threads : {1u, 2u}) {
        try {
          decompress(bad, out, "t", threads);
          got.clear();
        } catch (const Error& error) {
          CHECK(error.kind() == ErrorKind::invalid_input);
          got = error.what();
        }
        CHECK(got == expected);
      }
    }
  }
}
