// The library-internal pieces the SIMD encoder is built from, each against a plain definition:
// the bit appender of the selection, bin sums that no order of addition can round,
// the dense residue correction on every instruction set, and the thread split.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "adacomp/kernels.hpp"
#include "codec/kernels/correct_kernel.hpp"
#include "codec/kernels/select_kernel.hpp"
#include "common/parallel_parts.hpp"
#include "test_support.hpp"

using namespace adacomp;

TEST_CASE("BitAppender writes runs of bits after the kept ones and across words") {
  std::mt19937 rng(7);
  for (std::size_t start : {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{64}, std::size_t{100}}) {
    std::vector<std::uint64_t> words(140, 0xdeadbeefdeadbeefull);  // garbage past `start`
    std::vector<bool> expected(start);
    for (std::size_t i = 0; i < start; ++i) {
      const bool bit = rng() & 1;
      expected[i] = bit;
      if (bit)
        words[i / 64] |= std::uint64_t{1} << (i % 64);
      else
        words[i / 64] &= ~(std::uint64_t{1} << (i % 64));
    }
    // Two appenders one after the other, as two kernel calls over consecutive chunks.
    for (int call = 0; call < 2; ++call) {
      detail::BitAppender appender(words.data(), expected.size());
      for (int run = 0; run < 60; ++run) {
        const unsigned count = 1 + rng() % 64;
        const std::uint64_t random = (static_cast<std::uint64_t>(rng()) << 32) | rng();
        const std::uint64_t bits = count == 64 ? random : random & ((std::uint64_t{1} << count) - 1);
        appender.append(bits, count);
        for (unsigned b = 0; b < count; ++b) expected.push_back((bits >> b) & 1);
      }
      appender.finish();
    }
    for (std::size_t i = 0; i < expected.size(); ++i) {
      INFO("start " << start << " bit " << i);
      REQUIRE(((words[i / 64] >> (i % 64)) & 1) == static_cast<std::uint64_t>(expected[i]));
    }
  }
}

namespace {

std::uint32_t bits_of(float x) { return std::bit_cast<std::uint32_t>(x); }

// Sums of `values` in index order, reversed, in 8 and 16 interleaved lanes, and ascending.
std::vector<double> sums_in_several_orders(std::vector<float> values) {
  std::vector<double> sums(5, 0.0);
  for (float v : values) sums[0] += v;
  for (auto v = values.rbegin(); v != values.rend(); ++v) sums[1] += *v;
  for (std::size_t lanes : {8u, 16u}) {
    std::vector<double> lane(lanes, 0.0);
    for (std::size_t i = 0; i < values.size(); ++i) lane[i % lanes] += values[i];
    for (double l : lane) sums[lanes == 8 ? 2 : 3] += l;
  }
  std::sort(values.begin(), values.end());
  for (float v : values) sums[4] += v;
  return sums;
}

bool all_equal(const std::vector<double>& sums) {
  return std::all_of(sums.begin(), sums.end(), [&](double s) { return s == sums[0]; });
}

}  // namespace

TEST_CASE("a bin's selected |G| add up to the same binary64 sum in any order (wire_format.md §7)") {
  // Bins built to spread the selected |G| over as many binades as the proof allows: r = -g, one
  // unit of g away, or -g plus a small value (G tiny while |H| ~ (k - 1)|g| reaches the maximum),
  // next to ordinary values and to tiny unselected ones; at every scale from subnormal to large,
  // k from 1 to 4.
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int bins = 0, beyond_old_bound = 0, widest = 0, rounding_without_selection = 0;
  for (int trial = 0; trial < 6000; ++trial) {
    const std::uint32_t T = trial % 200 == 0 ? 16384 : 1 + static_cast<std::uint32_t>(rng() % 600);
    const float k = trial % 4 == 0   ? 4.0f
                    : trial % 4 == 1 ? 1.0f + static_cast<float>(unit(rng)) * 3.0f
                    : trial % 4 == 2 ? 2.0f
                                     : 1.0f;
    const int scale = static_cast<int>(rng() % 280) - 150;
    std::vector<float> G(T), H(T);
    float gmax = 0.0f;
    bool finite = true;
    for (std::uint32_t i = 0; i < T; ++i) {
      float g =
          static_cast<float>(std::ldexp((unit(rng) + 0.5) * (rng() & 1 ? 1 : -1), scale + static_cast<int>(rng() % 3)));
      float r = 0.0f;
      switch (rng() % 5) {
        case 4:  // tiny G of full precision, never selected
          g = static_cast<float>(std::ldexp(unit(rng), scale - 40));
          r = static_cast<float>(std::ldexp(unit(rng), scale - 40));
          break;
        case 0:
          r = -g;
          break;
        case 1:
          r = std::nextafter(-g, rng() & 1 ? 0.0f : -g * 2.0f);
          break;
        case 2:
          r = -g + static_cast<float>(std::ldexp(unit(rng), scale - static_cast<int>(rng() % 30)));
          break;
        default:
          r = static_cast<float>(std::ldexp(unit(rng) * (rng() & 1 ? 1 : -1), scale - static_cast<int>(rng() % 40)));
      }
      volatile float kg = k * g;  // two roundings, as specified
      G[i] = r + g;
      H[i] = r + kg;
      finite = finite && std::isfinite(G[i]) && std::isfinite(H[i]);
      gmax = std::max(gmax, std::fabs(G[i]));
    }
    if (!finite) continue;
    std::vector<float> selected, nonzero;
    for (std::uint32_t i = 0; i < T; ++i) {
      if (G[i] != 0.0f) nonzero.push_back(std::fabs(G[i]));
      if (std::fabs(H[i]) >= gmax && G[i] != 0.0f) selected.push_back(std::fabs(G[i]));
    }
    if (selected.empty()) continue;
    ++bins;
    INFO("trial " << trial << " T=" << T << " k=" << k << " scale=" << scale);
    REQUIRE(all_equal(sums_in_several_orders(selected)));
    const auto [smallest, largest] = std::minmax_element(selected.begin(), selected.end());
    const int spread =
        static_cast<int>(bits_of(*largest) >> 23) - std::max(1, static_cast<int>(bits_of(*smallest) >> 23));
    widest = std::max(widest, spread);
    beyond_old_bound += spread + static_cast<int>(std::bit_width(T - 1)) > 29;
    rounding_without_selection += !all_equal(sums_in_several_orders(nonzero));
  }
  // Not vacuous: the bins are many, their selected values spread beyond the bound the kernel used
  // to check (Emax - Emin + ceil(log2 T) <= 29), and the same bins' unselected values do round.
  CHECK(bins > 5000);
  CHECK(widest >= 24);
  CHECK(beyond_old_bound > bins / 4);
  CHECK(rounding_without_selection > bins / 4);
}

TEST_CASE("the dense residue correction subtracts sign times scale at the marked elements on every kernel") {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{1000}}) {
    std::vector<float> residue(count);
    for (auto& x : residue) x = value(rng);
    if (count > 3) residue[3] = 1e-30f;
    std::vector<std::uint64_t> selection(count / 64 + 1);
    for (auto& word : selection) word = (static_cast<std::uint64_t>(rng()) << 32) | rng();
    const float scale = 0.3f;
    std::vector<float> expected = residue;
    for (std::size_t i = 0; i < count; ++i)
      if ((selection[i / 64] >> (i % 64)) & 1) expected[i] = residue[i] - (residue[i] > 0 ? scale : -scale);
    for (const auto& kernel : available_kernels()) {
      select_kernel(kernel);
      std::vector<float> got = residue;
      detail::correct_residue(got.data(), selection.data(), count, scale);
      select_kernel("auto");
      INFO(kernel << " count " << count);
      for (std::size_t i = 0; i < count; ++i) REQUIRE(bits_of(got[i]) == bits_of(expected[i]));
    }
  }
}

TEST_CASE("tensors split over threads only where each part gets 256 Ki elements") {
  // The thread-count tests elsewhere rely on these splits to run more than one part.
  CHECK(detail::thread_parts(3 * (std::size_t{1} << 18) + 77, 3) == 3);
  CHECK(detail::thread_parts(3 * (std::size_t{1} << 18) + 77, 8) == 3);
  CHECK(detail::thread_parts(2 * (std::size_t{1} << 18) + 3, 2) == 2);
  CHECK(detail::thread_parts(2 * (std::size_t{1} << 18) - 1, 2) == 1);
  CHECK(detail::thread_parts(100, 0) == 1);
}

using test_support::wait_for;

TEST_CASE("run_jobs commits in job order whatever order the jobs finish in") {
  // Job 0 waits until jobs 1-4 are done, so the other thread finishes them first.
  std::atomic<int> later_done{0};
  std::vector<std::size_t> finished, committed;
  std::mutex finished_mutex;
  detail::run_jobs(
      6, 2,
      [&](std::size_t j) {
        if (j == 0) wait_for([&] { return later_done.load() >= 4; });
        if (j >= 1 && j <= 4) ++later_done;
        const std::lock_guard lock(finished_mutex);
        finished.push_back(j);
      },
      [&](std::size_t j) {
        const std::lock_guard lock(finished_mutex);
        // Every job up to this one is done when it is committed.
        for (std::size_t k = 0; k <= j; ++k) CHECK(std::find(finished.begin(), finished.end(), k) != finished.end());
        committed.push_back(j);
      });
  CHECK(finished.front() != 0);  // the order was shuffled
  CHECK(committed == std::vector<std::size_t>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("run_jobs rethrows the first failing job's exception and commits nothing from it on") {
  // Job 3 fails first; job 1, still running, fails after it: job 1's exception is the one rethrown.
  std::atomic<bool> three_failed{false};
  std::vector<std::size_t> committed;
  try {
    detail::run_jobs(
        6, 2,
        [&](std::size_t j) {
          if (j == 1) {
            wait_for([&] { return three_failed.load(); });
            throw std::runtime_error("job 1");
          }
          if (j == 3) {
            three_failed = true;
            throw std::runtime_error("job 3");
          }
        },
        [&](std::size_t j) { committed.push_back(j); });
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "job 1");
  }
  CHECK(three_failed.load());
  CHECK(committed == std::vector<std::size_t>{0});

  // A commit that throws stops the commits at its job, and its exception is rethrown.
  committed.clear();
  CHECK_THROWS_WITH(detail::run_jobs(
                        5, 2, [](std::size_t) {},
                        [&](std::size_t j) {
                          if (j == 2) throw std::runtime_error("commit 2");
                          committed.push_back(j);
                        }),
                    "commit 2");
  CHECK(committed == std::vector<std::size_t>{0, 1});
}
