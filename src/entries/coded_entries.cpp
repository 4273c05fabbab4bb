#include "adacomp/coded_entries.hpp"

#include <array>
#include <cmath>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor.hpp"
#include "codec/codec_detail.hpp"
#include "common/parallel_parts.hpp"
#include "common/uninitialized_vector.hpp"
#include "entries/bit_stream.hpp"
#include "entries/coded_entries_detail.hpp"
#include "entries/frequency_table.hpp"
#include "entries/gap_symbols.hpp"
#include "entries/rans.hpp"

namespace adacomp {

using namespace entries;

std::uint64_t sign_row_length(const std::vector<std::uint64_t>& shape, std::uint64_t element_count) noexcept {
  if (shape.size() >= 2 && shape[0] > 0) return element_count / shape[0];
  return element_count > 0 ? element_count : 1;
}

double entry_bound_bits(std::uint64_t elements, std::uint64_t entries) noexcept {
  if (entries == 0 || entries > elements) return 0.0;
  const double n = static_cast<double>(elements), k = static_cast<double>(entries);
  return (std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1)) / std::log(2.0) + k;
}

namespace {

// What the tables are made of: how often each gap symbol occurs, and each sign flag context.
struct TableCounts {
  std::array<std::uint64_t, kGapAlphabet> symbol_counts{};
  std::array<std::uint64_t, 2> flag_zeros{}, flag_totals{};  // [same row, new row]

  void add(const TableCounts& other) {
    for (std::size_t s = 0; s < kGapAlphabet; ++s) symbol_counts[s] += other.symbol_counts[s];
    for (unsigned c = 0; c < 2; ++c) {
      flag_zeros[c] += other.flag_zeros[c];
      flag_totals[c] += other.flag_totals[c];
    }
  }
};

// The entries of one frame as the coder sees them: gap symbols, sign flags with
// their context, and the counts of the tables.
struct EntryStream {
  detail::UninitializedVector<std::uint8_t> symbols;
  detail::UninitializedVector<std::uint8_t> flags;  // bit 0: sign differs from the previous entry's; bit 1: a new row
  TableCounts counts;
};

// The entries of one chunk whose gaps have extra bits, per lane, in entry order.
struct LaneEscapes {
  // extra bits << 6 | their count (positions < 2^32 keep the extra bits below 2^32). Sized for
  // every entry to be an escape, but written only as far as there are escapes.
  std::array<detail::UninitializedVector<std::uint64_t>, kEncoderInterleave> entries;
  std::array<std::size_t, kEncoderInterleave> counts{};
};

bool is_negative(std::uint16_t entry) { return (entry & 3u) == kCodeNegative; }

// Position of entry `e`, the last entry of the nearest non-empty bin before `bin` (e >= 0).
std::uint64_t position_before(const SparseTernary& sparse, std::size_t bin, std::size_t e) {
  while (sparse.bin_counts[bin - 1] == 0) --bin;
  return static_cast<std::uint64_t>(bin - 1) * sparse.bin_size + (sparse.entries[e] >> 2);
}

// Symbols and flags of the entries of bins [first_bin, last_bin), entries [first, last), with
// their counts added to `counts`. Positions are computed from the bins as they are read rather
// than kept: an array of them would be the coder's largest buffer.
void fill_symbols(const SparseTernary& sparse, std::uint64_t row_length, std::size_t first_bin, std::size_t last_bin,
                  std::size_t first, std::size_t last, EntryStream& stream, TableCounts& counts, LaneEscapes& escapes) {
  for (auto& lane : escapes.entries) lane.resize((last - first) / kEncoderInterleave + 1);
  std::uint64_t previous = first == 0 ? ~std::uint64_t{0} : position_before(sparse, first_bin, first - 1);
  bool previous_negative = first == 0 ? false : is_negative(sparse.entries[first - 1]);
  std::uint64_t row_end = first == 0 ? 0 : (previous / row_length + 1) * row_length;
  // scalar counters stay in registers; a counter array indexed per entry would chain every
  // increment through memory
  std::uint64_t same_total = 0, same_zeros = 0, new_total = 0, new_zeros = 0;
  // one histogram per lane, so that runs of one symbol do not chain their increments
  std::array<std::array<std::uint32_t, kGapAlphabet>, kEncoderInterleave> histograms{};
  std::array<std::size_t, kEncoderInterleave> escape_counts{};
  std::uint8_t* const symbols = stream.symbols.data();
  std::uint8_t* const flags = stream.flags.data();
  const std::uint16_t* const entries = sparse.entries.data();
  std::size_t e = first;
  for (std::size_t b = first_bin; b < last_bin; ++b) {
    const std::uint64_t base = static_cast<std::uint64_t>(b) * sparse.bin_size;
    for (const std::size_t bin_end = e + sparse.bin_counts[b]; e < bin_end; ++e) {
      const std::size_t lane = e % kEncoderInterleave;
      const std::uint64_t position = base + (entries[e] >> 2);
      const bool negative = is_negative(entries[e]);
      const GapSymbol gap = gap_symbol(position - previous);
      const std::uint8_t symbol = gap.symbol;
      const bool new_row = e == 0 || position >= row_end;
      if (new_row) row_end = (position / row_length + 1) * row_length;
      const bool flip = negative != previous_negative;
      symbols[e] = symbol;
      flags[e] = static_cast<std::uint8_t>(flip | new_row << 1);
      // listed without a branch: whether a gap has extra bits is as unpredictable as the gap
      escapes.entries[lane][escape_counts[lane]] = gap.extra << 6 | gap.extra_bits;
      escape_counts[lane] += symbol >= kLiteralGaps;
      ++histograms[lane][symbol];
      new_total += new_row;
      new_zeros += new_row & !flip;
      same_total += !new_row;
      same_zeros += !new_row & !flip;
      previous = position;
      previous_negative = negative;
    }
  }
  for (const auto& histogram : histograms)
    for (std::size_t s = 0; s < kGapAlphabet; ++s) counts.symbol_counts[s] += histogram[s];
  escapes.counts = escape_counts;
  counts.flag_totals = {same_total, new_total};
  counts.flag_zeros = {same_zeros, new_zeros};
}

// Fills `stream` (its buffers reused from call to call).
void entry_stream(const SparseTernary& sparse, std::uint64_t row_length, unsigned threads,
                  std::vector<LaneEscapes>& escapes, EntryStream& stream) {
  const std::size_t count = sparse.entries.size();
  stream.counts = {};
  stream.symbols.resize(count);
  stream.flags.resize(count);
  const std::size_t bins = sparse.bin_counts.size();
  const std::size_t parts = detail::thread_parts(sparse.element_count, threads);
  std::vector<std::size_t> firsts(parts + 1, count);
  for (std::size_t p = 0; p < parts; ++p) firsts[p] = detail::first_entry_of(sparse, bins * p / parts);
  std::vector<TableCounts> counts(parts);
  escapes.resize(parts);
  detail::run_parts(parts, [&](std::size_t p) {
    fill_symbols(sparse, row_length, bins * p / parts, bins * (p + 1) / parts, firsts[p], firsts[p + 1], stream,
                 counts[p], escapes[p]);
  });
  for (const TableCounts& part : counts) stream.counts.add(part);
}

// One rANS lane: its entries lane, lane + W, ...; words and extra bits of its own.
struct LaneOutput {
  // from `first_word` on, in the decoder's order; sized for the most words a lane can emit and
  // written from the end, as far as the lane's words go
  detail::UninitializedVector<std::uint16_t> words;
  std::size_t first_word = 0;
  std::size_t word_count() const { return words.size() - first_word; }
  std::vector<std::byte> extra_bits;
  std::uint32_t state = kRansLow;
};

struct LaneTables {
  std::array<EncoderSymbol, kGapAlphabet> gaps;
  std::array<EncoderSymbol, 4> flags;  // indexed by the flags byte
};

void lane_extra_bits(const std::vector<LaneEscapes>& escapes, std::size_t lane, LaneOutput& out) {
  out.extra_bits.clear();
  BitWriter extras(out.extra_bits);
  for (const LaneEscapes& chunk : escapes)
    for (std::size_t k = 0; k < chunk.counts[lane]; ++k) {
      const std::uint64_t packed = chunk.entries[lane][k];
      extras.put_wide(packed >> 6, packed & 63u);
    }
  extras.finish();
}

// Lanes first, first + Step, ... (Lanes of them) in one loop, so that their independent state
// chains overlap in the core instead of waiting on each other's latency.
template <std::size_t Lanes, std::size_t Step>
void encode_lanes(const EntryStream& stream, const std::vector<LaneEscapes>& escapes, std::size_t first,
                  const LaneTables& tables, std::array<LaneOutput, kEncoderInterleave>& out) {
  const std::size_t count = stream.symbols.size();
  const std::size_t rounds = (count + kEncoderInterleave - 1) / kEncoderInterleave;
  std::array<std::uint16_t*, Lanes> next;
  std::array<std::uint32_t, Lanes> states;
  for (std::size_t j = 0; j < Lanes; ++j) {
    LaneOutput& lane = out[first + j * Step];
    lane_extra_bits(escapes, first + j * Step, lane);
    // every symbol emits at most one word; one more in front takes rans_put's unkept store
    lane.words.resize(2 * rounds + 1);
    next[j] = lane.words.data() + lane.words.size();
    states[j] = kRansLow;
  }
  for (std::size_t k = rounds; k-- > 0;) {
    for (std::size_t j = 0; j < Lanes; ++j) {
      const std::size_t e = k * kEncoderInterleave + first + j * Step;
      if (e >= count) continue;  // the last round may leave some lanes without an entry
      rans_put(states[j], next[j], tables.flags[stream.flags[e]]);
      rans_put(states[j], next[j], tables.gaps[stream.symbols[e]]);
    }
  }
  for (std::size_t j = 0; j < Lanes; ++j) {
    LaneOutput& lane = out[first + j * Step];
    lane.first_word = static_cast<std::size_t>(next[j] - lane.words.data());
    lane.state = states[j];
  }
}

// Appends the rANS section of `stream` to `out`.
void append_rans_section(const EntryStream& stream, const std::vector<LaneEscapes>& escapes,
                         std::array<LaneOutput, kEncoderInterleave>& lanes, unsigned threads,
                         std::vector<std::byte>& out) {
  const TableCounts& counts = stream.counts;
  std::size_t size = kGapAlphabet;
  while (counts.symbol_counts[size - 1] == 0) --size;
  const std::vector<std::uint32_t> frequencies =
      normalized_frequencies(std::span<const std::uint64_t>(counts.symbol_counts.data(), size));
  LaneTables tables;
  for (std::uint32_t s = 0, start = 0; s < size; start += frequencies[s], ++s)
    if (frequencies[s]) tables.gaps[s] = EncoderSymbol(start, frequencies[s]);
  const std::array<std::uint32_t, 2> flag_frequencies = {flag_frequency(counts.flag_zeros[0], counts.flag_totals[0]),
                                                         flag_frequency(counts.flag_zeros[1], counts.flag_totals[1])};
  // indexed by the flags byte: bit 0 the flag, bit 1 the context (new row)
  for (unsigned context = 0; context < 2; ++context) {
    const std::uint32_t zero = flag_frequencies[context];
    tables.flags[2 * context] = EncoderSymbol(0, zero);
    tables.flags[2 * context + 1] = EncoderSymbol(zero, kProbabilityScale - zero);
  }
  // Lanes share nothing, so they are coded in parallel; the bytes do not depend on the threads.
  static_assert(kEncoderInterleave == 4);
  // Two threads from 4 Ki entries on (thread_parts' minimum share of elements, over 64): fewer
  // entries take less time than handing them over.
  const std::size_t parts = detail::thread_parts(stream.symbols.size() * 64, threads) >= 2 ? 2 : 1;
  detail::run_parts(parts, [&](std::size_t p) {
    if (parts == 1)
      encode_lanes<4, 1>(stream, escapes, 0, tables, lanes);
    else
      encode_lanes<2, 2>(stream, escapes, p, tables, lanes);
  });

  out.push_back(static_cast<std::byte>(EntryCoding::rans));
  out.push_back(static_cast<std::byte>(kEncoderInterleave));
  append_varint(out, size);
  for (std::uint32_t f : frequencies) append_varint(out, f);
  append_le<std::uint16_t>(out, static_cast<std::uint16_t>(flag_frequencies[0]));
  append_le<std::uint16_t>(out, static_cast<std::uint16_t>(flag_frequencies[1]));
  for (const LaneOutput& lane : lanes) append_varint(out, lane.word_count());
  for (const LaneOutput& lane : lanes) append_varint(out, lane.extra_bits.size());
  for (const LaneOutput& lane : lanes) append_le<std::uint32_t>(out, lane.state);
  for (const LaneOutput& lane : lanes) {
    const auto* bytes = reinterpret_cast<const std::byte*>(lane.words.data() + lane.first_word);  // little-endian
    out.insert(out.end(), bytes, bytes + 2 * lane.word_count());
  }
  for (const LaneOutput& lane : lanes) out.insert(out.end(), lane.extra_bits.begin(), lane.extra_bits.end());
}

// Rice parameter with the fewest bits (the lowest on ties), and those bits.
std::pair<unsigned, std::uint64_t> best_rice_parameter(const std::vector<std::uint64_t>& gaps) {
  unsigned best = 0;
  std::uint64_t best_bits = ~std::uint64_t{0};
  for (unsigned k = 0; k < 64; ++k) {
    std::uint64_t bits = gaps.size() * (k + 2ull);
    for (std::uint64_t gap : gaps) bits += (gap - 1) >> k;
    if (bits < best_bits) best = k, best_bits = bits;
  }
  return {best, best_bits};
}

void append_rice_section(const SparseTernary& sparse, const std::vector<std::uint64_t>& gaps, unsigned parameter,
                         std::vector<std::byte>& out) {
  out.push_back(static_cast<std::byte>(EntryCoding::rice));
  out.push_back(static_cast<std::byte>(parameter));
  BitWriter bits(out);
  for (std::size_t i = 0; i < gaps.size(); ++i) {
    const std::uint64_t value = gaps[i] - 1;
    for (std::uint64_t q = value >> parameter; q > 0;) {
      const unsigned run = static_cast<unsigned>(std::min<std::uint64_t>(q, 32));
      bits.put((std::uint64_t{1} << run) - 1, run);
      q -= run;
    }
    bits.put(0, 1);
    bits.put_wide(parameter == 0 ? 0 : value & (~std::uint64_t{0} >> (64 - parameter)), parameter);
    bits.put(is_negative(sparse.entries[i]), 1);
  }
  bits.finish();
}

}  // namespace

EntryCoding append_coded_entries(const SparseTernary& sparse, std::uint64_t row_length, std::vector<std::byte>& out,
                                 unsigned threads) {
  if (sparse.element_count > kMaxTensorElements)
    fail_usage("coded entries hold tensors of at most 2^32 elements; this one has " +
               std::to_string(sparse.element_count));
  // Working memory kept per thread: a training loop codes frames of the same sizes every step,
  // and fresh buffers would cost a page fault per 4 KiB touched.
  struct Scratch {
    EntryStream stream;
    std::vector<LaneEscapes> escapes;
    std::array<LaneOutput, kEncoderInterleave> lanes;
  };
  thread_local Scratch scratch;
  EntryStream& stream = scratch.stream;
  entry_stream(sparse, row_length, threads, scratch.escapes, stream);
  const std::size_t start = out.size();
  append_rans_section(stream, scratch.escapes, scratch.lanes, threads, out);
  if (sparse.entries.size() <= kRiceMaxEntries) {
    std::vector<std::uint64_t> gaps;
    gaps.reserve(sparse.entries.size());
    std::uint64_t previous = ~std::uint64_t{0};
    for (std::size_t b = 0, e = 0; b < sparse.bin_counts.size(); ++b)
      for (std::uint16_t j = 0; j < sparse.bin_counts[b]; ++j, ++e) {
        const std::uint64_t position = static_cast<std::uint64_t>(b) * sparse.bin_size + (sparse.entries[e] >> 2);
        gaps.push_back(position - previous);
        previous = position;
      }
    const auto [parameter, bits] = best_rice_parameter(gaps);
    if (2 + (bits + 7) / 8 <= out.size() - start) {  // not larger than the rANS section: it replaces it
      out.resize(start);
      append_rice_section(sparse, gaps, parameter, out);
      return EntryCoding::rice;
    }
  }
  return EntryCoding::rans;
}

}  // namespace adacomp
