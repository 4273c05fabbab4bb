// The coded entry layout (format_spec/wire_format.md, section 14) on its own: round trips over
// selections of every shape, the encoder's choice between rANS and Rice codes, the normalised
// tables, and the decoder's rejections of forged sections.
#include <random>

#include <doctest/doctest.h>

#include "adacomp/coded_entries.hpp"
#include "adacomp/error.hpp"
#include "adacomp/kernels.hpp"
#include "entries/frequency_table.hpp"
#include "entries/gap_symbols.hpp"

using namespace adacomp;

namespace {

// A SparseTernary from sorted positions and signs.
SparseTernary sparse_of(std::uint64_t n, std::uint32_t bin_size, const std::vector<std::uint64_t>& positions,
                        const std::vector<bool>& negative) {
  SparseTernary sparse;
  sparse.element_count = n;
  sparse.bin_size = bin_size;
  sparse.scale = 0.5f;
  sparse.bin_counts.assign(sparse.bin_count(), 0);
  for (std::size_t i = 0; i < positions.size(); ++i) {
    ++sparse.bin_counts[positions[i] / bin_size];
    sparse.entries.push_back(
        static_cast<std::uint16_t>((positions[i] % bin_size) << 2 | (negative[i] ? kCodeNegative : kCodePositive)));
  }
  return sparse;
}

SparseTernary round_trip(const SparseTernary& sparse, std::uint64_t row, EntryCoding* coding = nullptr) {
  std::vector<std::byte> section;
  const EntryCoding written = append_coded_entries(sparse, row, section);
  if (coding) *coding = written;
  SparseTernary decoded;
  decoded.element_count = sparse.element_count;
  decoded.bin_size = sparse.bin_size;
  decoded.scale = sparse.scale;
  CHECK(decode_coded_entries(section, sparse.entries.size(), row, decoded, "test") == written);
  return decoded;
}

// The decoder's error, or "" with the entries in `decoded` when there is none; rows of `row`
// elements (0: one row).
std::string decode_failure(const std::vector<std::byte>& section, std::uint64_t count, std::uint64_t n,
                           std::uint64_t row = 0, SparseTernary* decoded = nullptr) {
  SparseTernary sparse;
  sparse.element_count = n;
  sparse.bin_size = 50;
  try {
    decode_coded_entries(section, count, row ? row : n, sparse, "forged");
  } catch (const Error& e) {
    return e.kind() == ErrorKind::invalid_input ? e.what() : std::string("wrong kind: ") + e.what();
  }
  if (decoded) *decoded = std::move(sparse);
  return "";
}

}  // namespace

TEST_CASE("gap symbols cover every gap and give it back") {
  for (std::uint64_t gap :
       {1ull, 2ull, 15ull, 16ull, 23ull, 24ull, 31ull, 32ull, 1000ull, (1ull << 32) + 7, ~0ull >> 1, ~0ull}) {
    const auto symbol = entries::gap_symbol(gap);
    CAPTURE(gap);
    CHECK(symbol.symbol < entries::kGapAlphabet);
    CHECK(entries::extra_bits_of(symbol.symbol) == symbol.extra_bits);
    CHECK(entries::gap_from_symbol(symbol.symbol, symbol.extra) == gap);
  }
  CHECK(entries::gap_symbol(~0ull).symbol == entries::kGapAlphabet - 1);
}

TEST_CASE("normalised tables sum to 4096 and keep every used symbol") {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<std::uint64_t> counts(1 + rng() % 135);
    for (auto& c : counts) c = rng() % 3 == 0 ? 0 : (rng() % 2 ? rng() % 5 : rng() % 100000);
    counts.back() = 1 + rng() % 7;
    const auto f = entries::normalized_frequencies(counts);
    std::uint64_t sum = 0;
    for (std::size_t s = 0; s < counts.size(); ++s) {
      CHECK((f[s] > 0) == (counts[s] > 0));
      sum += f[s];
    }
    CHECK(sum == 4096);
  }
  CHECK(entries::flag_frequency(0, 0) == 2048);
  CHECK(entries::flag_frequency(10, 10) == 4095);
  CHECK(entries::flag_frequency(0, 10) == 1);
}

TEST_CASE("coded entries round-trip: random, clustered, strided, full, single and extreme selections") {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    const std::uint32_t bin_size = 1 + static_cast<std::uint32_t>(rng() % 600);
    const std::uint64_t n = 1 + rng() % 20000;
    std::vector<std::uint64_t> positions;
    const int shape = trial % 5;
    for (std::uint64_t p = 0; p < n; ++p) {
      const bool take = shape == 0   ? rng() % 100 < 3
                        : shape == 1 ? (p / 64) % 3 == 0 && rng() % 4 != 0
                        : shape == 2 ? p % 4 == 1
                        : shape == 3 ? true
                                     : p == n - 1;
      if (take) positions.push_back(p);
    }
    if (positions.empty()) positions.push_back(rng() % n);
    std::vector<bool> negative;
    for (std::size_t i = 0; i < positions.size(); ++i) negative.push_back(trial % 3 == 0 ? rng() % 2 : rng() % 10 == 0);
    const SparseTernary sparse = sparse_of(n, bin_size, positions, negative);
    const std::uint64_t row = 1 + rng() % n;
    CAPTURE(trial);
    const SparseTernary decoded = round_trip(sparse, row);
    CHECK(decoded.bin_counts == sparse.bin_counts);
    CHECK(decoded.entries == sparse.entries);
  }
}

TEST_CASE("frames of 2^15 entries or more give the same bytes on every kernel and thread count, and round-trip") {
  // The vector coders (rans_kernel.cpp, symbol_kernel.cpp) on 32 lanes: every instruction set and
  // the split over two threads must write what one thread of the best one writes.
  std::mt19937_64 rng(5);
  struct Case {
    std::uint64_t n;
    int shape;
    std::uint64_t row;
  };
  // random 3% with mixed signs; full (one symbol of frequency 4096) with one sign; strided with
  // alternating signs and short rows; random with a huge gap (a symbol of frequency 1) and
  // long rows; clustered with rows of 7
  for (const Case& c : {Case{1'500'000, 0, 1'500'000}, Case{40'000, 1, 40'000}, Case{200'000, 2, 1000},
                        Case{3'000'000, 3, 3000}, Case{300'000, 4, 7}}) {
    std::vector<std::uint64_t> positions;
    std::vector<bool> negative;
    for (std::uint64_t p = 0; p < c.n; ++p) {
      const bool take = c.shape == 0   ? rng() % 100 < 3
                        : c.shape == 1 ? true
                        : c.shape == 2 ? p % 4 == 1
                        : c.shape == 3 ? (p < 100'000 || p > 2'900'000) && rng() % 5 == 0
                                       : (p / 64) % 3 == 0 && rng() % 4 != 0;
      if (!take) continue;
      positions.push_back(p);
      negative.push_back(c.shape == 1 ? false : c.shape == 2 ? positions.size() % 2 == 0 : rng() % 3 == 0);
    }
    REQUIRE(positions.size() >= 1u << 15);
    const SparseTernary sparse = sparse_of(c.n, 50, positions, negative);
    CAPTURE(c.shape);
    // the reference kernel codes and decodes the 32 lanes with the plain loops
    select_kernel("reference");
    std::vector<std::byte> expected;
    append_coded_entries(sparse, c.row, expected);
    CHECK(static_cast<unsigned>(expected[1]) == 32);  // the interleave count
    for (const std::string& kernel : available_kernels()) {
      select_kernel(kernel);
      CAPTURE(kernel);
      for (unsigned threads : {1u, 2u}) {
        CAPTURE(threads);
        std::vector<std::byte> section;
        append_coded_entries(sparse, c.row, section, threads);
        CHECK(section == expected);
      }
      const SparseTernary decoded = round_trip(sparse, c.row);
      CHECK(decoded.bin_counts == sparse.bin_counts);
      CHECK(decoded.entries == sparse.entries);
      std::vector<float> scattered(c.n, 0.0f);
      scatter_coded_entries(expected, sparse.entries.size(), c.row, sparse.scale, scattered, "test");
      std::vector<float> dense(c.n, 0.0f);
      decompress(sparse, dense, "test");
      CHECK(scattered == dense);
    }
    select_kernel("auto");
  }
}

TEST_CASE("the vector decoder of 32 lanes fails where the plain loop fails, with the same reason") {
  // Forged wide sections (bytes changed in the states, words and extra bits, or a section cut
  // short): decoded by each kernel, the outcome, entries or error message, must be the reference's.
  std::mt19937_64 rng(9);
  std::vector<std::uint64_t> positions;
  std::vector<bool> negative;
  for (std::uint64_t p = 0; p < 1'000'000; ++p)
    if (rng() % 100 < 4) positions.push_back(p), negative.push_back(rng() % 3 == 0);
  const std::uint64_t n = 1'000'000, row = 5000;
  const SparseTernary sparse = sparse_of(n, 50, positions, negative);
  std::vector<std::byte> valid;
  append_coded_entries(sparse, row, valid);
  REQUIRE(static_cast<unsigned>(valid[1]) == 32);
  auto outcome = [&](const std::vector<std::byte>& section, std::uint64_t entries) {
    SparseTernary decoded;
    std::string text = decode_failure(section, entries, n, row, &decoded);
    for (std::uint16_t entry : decoded.entries) text += std::to_string(entry) + ",";
    return text;
  };
  int failures = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<std::byte> forged = valid;
    std::uint64_t entries = sparse.entries.size();
    if (trial % 10 == 9) {
      entries -= 1 + rng() % 100;  // fewer entries than the lanes hold
    } else {
      // past the tables: in the counts, states, words or extra bits
      const std::size_t at = 300 + rng() % (forged.size() - 300);
      forged[at] ^= static_cast<std::byte>(1 + rng() % 255);
    }
    select_kernel("reference");
    const std::string expected = outcome(forged, entries);
    failures += expected.find("forged: ") == 0;
    for (const std::string& kernel : available_kernels()) {
      select_kernel(kernel);
      CAPTURE(trial);
      CAPTURE(kernel);
      CHECK(outcome(forged, entries) == expected);
    }
  }
  select_kernel("auto");
  CHECK(failures > 200);  // most forgeries are caught
}

TEST_CASE("frames of few entries use Rice codes where they are smaller, large frames use rANS") {
  EntryCoding coding;
  round_trip(sparse_of(1000, 50, {3, 70, 400}, {false, true, false}), 1000, &coding);
  CHECK(coding == EntryCoding::rice);
  std::vector<std::uint64_t> many;
  std::vector<bool> signs;
  for (std::uint64_t p = 0; p < 30000; p += 7) many.push_back(p), signs.push_back(p % 3 == 0);
  round_trip(sparse_of(30000, 500, many, signs), 100, &coding);
  CHECK(coding == EntryCoding::rans);
}

TEST_CASE("the coded section stays under the log2 C(n,k) + k bound on clustered selections with row-wise signs") {
  std::mt19937_64 rng(3);
  std::vector<std::uint64_t> positions;
  std::vector<bool> negative;
  const std::uint64_t rows = 128, columns = 512;
  for (std::uint64_t r = 0; r < rows; ++r) {
    const bool row_sign = rng() % 2;
    for (std::uint64_t c = 0; c < columns; ++c)
      if ((c % 4 == 0 && rng() % 10 == 0) || rng() % 100 == 0)
        positions.push_back(r * columns + c), negative.push_back(row_sign);
  }
  std::vector<std::byte> section;
  append_coded_entries(sparse_of(rows * columns, 500, positions, negative), columns, section);
  CHECK(8.0 * static_cast<double>(section.size()) < entry_bound_bits(rows * columns, positions.size()));
}

TEST_CASE("forged coded sections are rejected with their reason") {
  std::vector<std::uint64_t> positions;
  std::vector<bool> negative;
  for (std::uint64_t p = 0; p < 5000; p += 3) positions.push_back(p), negative.push_back(p % 2);
  std::vector<std::byte> good;
  append_coded_entries(sparse_of(5000, 50, positions, negative), 5000, good);
  REQUIRE(static_cast<int>(good[0]) == 0);
  const std::uint64_t count = positions.size();
  CHECK(decode_failure(good, count, 5000).empty());
  auto with = [&](std::size_t at, std::uint8_t value) {
    auto forged = good;
    forged[at] = std::byte{value};
    return forged;
  };
  CHECK(decode_failure(with(0, 7), count, 5000).find("unknown entry coding mode 7") != std::string::npos);
  CHECK(decode_failure(with(1, 0), count, 5000).find("interleave count 0") != std::string::npos);
  CHECK(decode_failure(with(1, 33), count, 5000).find("interleave count 33") != std::string::npos);
  CHECK(decode_failure(with(2, 0), count, 5000).find("gap table size 0") != std::string::npos);
  CHECK(decode_failure(with(3, 1), count, 5000).find("gap table") != std::string::npos);
  CHECK(decode_failure({good.begin(), good.end() - 1}, count, 5000).find("rANS") != std::string::npos);
  auto longer = good;
  longer.push_back(std::byte{0});
  CHECK(!decode_failure(longer, count, 5000).empty());
  const std::string short_count = decode_failure(good, count - 1, 5000);
  CHECK_MESSAGE(
      (short_count.find("left over") != std::string::npos || short_count.find("initial state") != std::string::npos),
      short_count);
  CHECK(!decode_failure(good, count + 1, 5000).empty());
  CHECK(decode_failure(good, count, 4000).find("beyond the tensor") != std::string::npos);
  CHECK(decode_failure({std::byte{1}, std::byte{64}}, 1, 10).find("Rice parameter 64") != std::string::npos);
  CHECK(decode_failure({std::byte{1}, std::byte{0}, std::byte{0xff}}, 1, 10).find("end before") != std::string::npos);
  CHECK(decode_failure({std::byte{1}, std::byte{0}, std::byte{0x0e}}, 1, 10).find("padding") != std::string::npos);
}
