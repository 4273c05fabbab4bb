// The library-internal pieces the SIMD encoder is built from, each against a plain definition:
// the bit appender of the selection, the bound under which bin sums may be added in any order,
// the dense residue correction on every instruction set, and the thread split.
#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <mutex>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "adacomp/kernels.hpp"
#include "lib/correct_kernel.hpp"
#include "lib/parallel_parts.hpp"
#include "lib/select_kernel.hpp"

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
}  // namespace

TEST_CASE("exact_sums holds exactly up to the bound where no order of addition can round") {
  // Emax - Emin + ceil(log2 T) <= 29
  CHECK(detail::exact_sums(bits_of(1.0f), bits_of(std::ldexp(1.0f, 23)), 64));
  CHECK_FALSE(detail::exact_sums(bits_of(1.0f), bits_of(std::ldexp(1.0f, 24)), 64));
  CHECK(detail::exact_sums(bits_of(1.0f), bits_of(std::ldexp(1.0f, 29)), 1));
  CHECK_FALSE(detail::exact_sums(bits_of(1.0f), bits_of(std::ldexp(1.0f, 30)), 1));
  CHECK(detail::exact_sums(bits_of(1.0f), bits_of(std::ldexp(1.0f, 15)), 16384));
  CHECK_FALSE(detail::exact_sums(bits_of(1.0f), bits_of(std::ldexp(1.0f, 16)), 16384));
  // Subnormals share the granularity of the smallest normal exponent.
  const float denormal = std::numeric_limits<float>::denorm_min();
  CHECK(detail::exact_sums(bits_of(denormal), bits_of(std::ldexp(1.0f, -126 + 23)), 64));
  CHECK_FALSE(detail::exact_sums(bits_of(denormal), bits_of(std::ldexp(1.0f, -126 + 24)), 64));
}

TEST_CASE("within the exact_sums bound sums in index order and in lane order agree and beyond it they can differ") {
  std::mt19937 rng(11);
  int differing_beyond = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const std::uint32_t T = 1u << (1 + trial % 8);
    const int spread = static_cast<int>(rng() % 34);
    std::vector<float> values(T);
    std::uint32_t smallest = 0xffffffffu, largest = 0;
    for (auto& v : values) {
      const int exponent = static_cast<int>(rng() % static_cast<unsigned>(spread + 1));
      v = std::ldexp(1.0f + static_cast<float>(rng() % (1u << 23)) * 0x1p-23f, exponent);
      smallest = std::min(smallest, bits_of(v));
      largest = std::max(largest, bits_of(v));
    }
    double index_order = 0.0;
    for (float v : values) index_order += v;
    double lanes[8] = {};
    for (std::size_t i = 0; i < T; ++i) lanes[i % 8] += values[i];
    double lane_order = 0.0;
    for (double lane : lanes) lane_order += lane;
    if (detail::exact_sums(smallest, largest, T))
      REQUIRE(index_order == lane_order);
    else
      differing_beyond += index_order != lane_order;
  }
  CHECK(differing_beyond > 0);  // the bound is not vacuous
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

namespace {

// Waits until `condition` holds, for at most a few seconds (a thread that could not start must not
// hang the suite; the checks after the wait then fail).
template <typename Condition>
void wait_for(Condition condition) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!condition() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
}

}  // namespace

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
