#include "adacomp/coded_entries.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <optional>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor.hpp"
#include "codec/codec_detail.hpp"
#include "codec/kernels/kernel_registry.hpp"
#include "common/parallel_parts.hpp"
#include "common/uninitialized_vector.hpp"
#include "entries/bit_stream.hpp"
#include "entries/coded_entries_detail.hpp"
#include "entries/frequency_table.hpp"
#include "entries/gap_symbols.hpp"
#include "entries/rans.hpp"
#include "entries/rans_kernel.hpp"
#include "entries/symbol_kernel.hpp"

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

// The flags byte, and the symbol index, of no entry: the wide coder's identity (rans_kernel.hpp).
constexpr std::uint8_t kIdentityFlags = 4;
constexpr std::uint8_t kIdentityGap = kGapAlphabet;

// What one thread's part of a frame leaves for the coder: its entries whose gaps have extra bits,
// in entry order; and its working memory.
struct PartBuffers {
  // two lists, by the bit of the entry index that chooses the thread of its lane (SymbolJob), each
  // sized for every entry to be one, and 16 more
  std::array<detail::UninitializedVector<std::uint32_t>, 2> entries, gaps;
  std::array<std::size_t, 2> counts{};
  // the positions of one block of the part's entries: only the symbols need them, so they never
  // leave the cache
  detail::UninitializedVector<std::uint32_t> block_positions;
};

// The bit of an entry's index that says which of two threads codes its lane: lanes p, p + 2, ...
// of the narrow coder, and the halves of the wide one's (as the coders split them).
unsigned escape_split_bit(unsigned lanes) { return lanes == kNarrowInterleave ? 0 : 4; }

bool is_negative(std::uint16_t entry) { return (entry & 3u) == kCodeNegative; }

// Position of entry `e`, the last entry of the nearest non-empty bin before `bin` (e >= 0).
std::uint64_t position_before(const SparseTernary& sparse, std::size_t bin, std::size_t e) {
  while (sparse.bin_counts[bin - 1] == 0) --bin;
  return static_cast<std::uint64_t>(bin - 1) * sparse.bin_size + (sparse.entries[e] >> 2);
}

// Positions, symbols, flags and escapes of the entries of bins [first_bin, last_bin), entries
// [first, last), with their counts, for a tensor of rows of `row_length`. In blocks of a few
// thousand entries, each pass reading what the one before wrote while it is in cache.
void fill_symbols(const SparseTernary& sparse, std::uint64_t row_length, unsigned split_bit, std::size_t first_bin,
                  std::size_t last_bin, std::size_t first, std::size_t last, EntryStream& stream, TableCounts& counts,
                  PartBuffers& part) {
  constexpr std::size_t kBlockEntries = 4096;
  for (auto& list : part.entries) list.resize(last - first + 16);
  for (auto& list : part.gaps) list.resize(last - first + 16);
  part.counts = {};
  std::uint64_t previous = first == 0 ? ~std::uint64_t{0} : position_before(sparse, first_bin, first - 1);
  bool previous_negative = first != 0 && is_negative(sparse.entries[first - 1]);
  std::uint64_t row_end = first == 0 ? 0 : (previous / row_length + 1) * row_length;
  // eight histograms, so that runs of one symbol do not chain their increments
  std::array<std::array<std::uint32_t, kGapAlphabet>, 8> histograms{};
  std::size_t flips = 0, new_rows = 0, new_row_zeros = 0;
  // a block ends at the bin that takes it to kBlockEntries or past it
  part.block_positions.resize(kBlockEntries + sparse.bin_size + 16);
  std::uint32_t* const block_positions = part.block_positions.data();
  std::uint8_t* const symbols = stream.symbols.data();
  std::uint8_t* const flags = stream.flags.data();
  for (std::size_t bin = first_bin, e = first; bin < last_bin;) {
    std::size_t block_bin_end = bin, block_end = e;
    while (block_bin_end < last_bin && block_end - e < kBlockEntries) block_end += sparse.bin_counts[block_bin_end++];
    entry_positions(
        {sparse.bin_counts.data(), sparse.entries.data(), sparse.entries.size(), sparse.bin_size, block_positions, e},
        bin, block_bin_end, e, e + part.block_positions.size());
    const SymbolJob job{block_positions,
                        e,
                        sparse.entries.data(),
                        symbols,
                        flags,
                        {part.entries[0].data() + part.counts[0], part.entries[1].data() + part.counts[1]},
                        {part.gaps[0].data() + part.counts[0], part.gaps[1].data() + part.counts[1]},
                        split_bit};
    const SymbolCounts block = entry_symbols(job, e, block_end, previous, previous_negative);
    part.counts[0] += block.escapes[0];
    part.counts[1] += block.escapes[1];
    flips += block.flips;
    auto new_row = [&](std::size_t i) {
      ++new_rows;
      new_row_zeros += flags[i] == 0;
      flags[i] |= 2;
    };
    if (row_length < sparse.element_count) {
      for (std::size_t i = e; i < block_end; ++i)
        if (const std::uint64_t position = block_positions[i - e]; position >= row_end) {  // true for entry 0
          new_row(i);
          row_end = (position / row_length + 1) * row_length;
        }
    } else if (e == 0 && block_end > 0) {
      new_row(0);  // one row: only the first entry starts one
    }
    std::size_t i = e;
    for (; i + 8 <= block_end; i += 8)
      for (std::size_t j = 0; j < 8; ++j) ++histograms[j][symbols[i + j]];
    for (; i < block_end; ++i) ++histograms[0][symbols[i]];
    if (block_end > e) {
      previous = block_positions[block_end - 1 - e];
      previous_negative = is_negative(sparse.entries[block_end - 1]);
    }
    bin = block_bin_end;
    e = block_end;
  }
  for (const auto& histogram : histograms)
    for (std::size_t s = 0; s < kGapAlphabet; ++s) counts.symbol_counts[s] += histogram[s];
  const std::size_t entries = last - first;
  counts.flag_totals = {entries - new_rows, new_rows};
  counts.flag_zeros = {entries - flips - new_row_zeros, new_row_zeros};
}

// Fills `stream` (its buffers reused from call to call), padded with the identity to whole rounds
// of `lanes`.
void entry_stream(const SparseTernary& sparse, std::uint64_t row_length, unsigned lanes, unsigned threads,
                  std::vector<PartBuffers>& parts_buffers, EntryStream& stream) {
  const std::size_t count = sparse.entries.size();
  const std::size_t padded = (count + lanes - 1) / lanes * lanes;
  stream.counts = {};
  stream.symbols.resize(padded);
  stream.flags.resize(padded);
  std::fill(stream.symbols.begin() + static_cast<std::ptrdiff_t>(count), stream.symbols.end(), kIdentityGap);
  std::fill(stream.flags.begin() + static_cast<std::ptrdiff_t>(count), stream.flags.end(), kIdentityFlags);
  const std::size_t bins = sparse.bin_counts.size();
  const std::size_t parts = detail::thread_parts(sparse.element_count, threads);
  std::vector<std::size_t> firsts(parts + 1, count);
  for (std::size_t p = 0; p < parts; ++p) firsts[p] = detail::first_entry_of(sparse, bins * p / parts);
  std::vector<TableCounts> counts(parts);
  parts_buffers.resize(parts);
  detail::run_parts(parts, [&](std::size_t p) {
    fill_symbols(sparse, row_length, escape_split_bit(lanes), bins * p / parts, bins * (p + 1) / parts, firsts[p],
                 firsts[p + 1], stream, counts[p], parts_buffers[p]);
  });
  for (const TableCounts& part : counts) stream.counts.add(part);
}

// The coded words of every lane, each lane's from first_words[lane] on in the decoder's order,
// and their extra bits.
struct LaneOutputs {
  unsigned lanes = kNarrowInterleave;
  std::array<detail::UninitializedVector<std::uint16_t>, kMaxInterleave> words;
  std::array<std::uint32_t, kMaxInterleave> first_words{}, states{};
  std::array<std::vector<std::byte>, kMaxInterleave> extra_bits;
  std::array<detail::UninitializedVector<std::uint64_t>, 2> wide_chunks;  // the wide coder's, per thread

  std::size_t word_count(unsigned lane) const { return words[lane].size() - first_words[lane]; }
};

struct LaneTables {
  std::array<EncoderSymbol, kGapAlphabet> gaps;
  std::array<EncoderSymbol, 4> flags;  // indexed by the flags byte
  // the same for the wide coder, each followed by the identity
  std::array<std::uint64_t, kGapAlphabet + 1> wide_gaps;
  std::array<double, kGapAlphabet + 1> wide_gap_reciprocals;
  std::array<std::uint64_t, 8> wide_flags;  // a vector's worth
  std::array<double, 8> wide_flag_reciprocals;
};

// The extra bits of the lanes of escape list `list` (both lists when `both`), each lane into its
// own bit stream, from the escapes of every part in entry order.
void lanes_extra_bits(const std::vector<PartBuffers>& escapes, unsigned lanes, std::size_t list, bool both,
                      LaneOutputs& out) {
  std::array<std::optional<BitWriter>, kMaxInterleave> writers;
  const unsigned split_bit = escape_split_bit(lanes);
  for (unsigned lane = 0; lane < lanes; ++lane)
    if (both || (lane >> split_bit & 1) == list) {
      out.extra_bits[lane].clear();
      writers[lane].emplace(out.extra_bits[lane]);
    }
  for (std::size_t l = both ? 0 : list; l <= list; ++l)
    for (const PartBuffers& part : escapes)
      for (std::size_t k = 0; k < part.counts[l]; ++k) {
        const GapSymbol gap = gap_symbol(part.gaps[l][k]);
        writers[part.entries[l][k] & (lanes - 1)]->put(gap.extra, gap.extra_bits);
      }
  for (auto& writer : writers)
    if (writer) writer->finish();
}

// Lanes first, first + Step, ... (Lanes of them) of the narrow coder in one loop, so that their
// independent state chains overlap in the core instead of waiting on each other's latency.
// `lanes` is W: the narrow coder's 4, or the wide coder's 32 in groups of four lanes (the
// reference kernel's plain loop, which the vector coder must match).
template <std::size_t Lanes, std::size_t Step>
void encode_lanes(const EntryStream& stream, std::size_t count, unsigned lanes, std::size_t first,
                  const LaneTables& tables, LaneOutputs& out) {
  const std::size_t rounds = (count + lanes - 1) / lanes;
  std::array<std::uint16_t*, Lanes> next;
  std::array<std::uint32_t, Lanes> states;
  for (std::size_t j = 0; j < Lanes; ++j) {
    auto& words = out.words[first + j * Step];
    // every symbol emits at most one word; one more in front takes rans_put's unkept store
    words.resize(2 * rounds + 1);
    next[j] = words.data() + words.size();
    states[j] = kRansLow;
  }
  for (std::size_t k = rounds; k-- > 0;) {
    for (std::size_t j = 0; j < Lanes; ++j) {
      const std::size_t e = k * lanes + first + j * Step;
      if (e >= count) continue;  // the last round may leave some lanes without an entry
      rans_put(states[j], next[j], tables.flags[stream.flags[e]]);
      rans_put(states[j], next[j], tables.gaps[stream.symbols[e]]);
    }
  }
  for (std::size_t j = 0; j < Lanes; ++j) {
    const std::size_t lane = first + j * Step;
    out.first_words[lane] = static_cast<std::uint32_t>(next[j] - out.words[lane].data());
    out.states[lane] = states[j];
  }
}

// Part p's share of the wide coder's lanes (half of them for each of two parts), in chunks of
// rounds: a chunk's words go to a buffer that stays in cache (and whose indices stay below 2^31
// for any frame), and from there in front of the chunks coded before it.
void encode_wide_lanes(const EntryStream& stream, std::size_t count, const LaneTables& tables, std::size_t parts,
                       std::size_t p, LaneOutputs& out) {
  constexpr std::size_t kChunkRounds = 1024;
  const std::size_t rounds = (count + kMaxInterleave - 1) / kMaxInterleave;
  const WideRansJob job{stream.symbols.data(),    stream.flags.data(),
                        kMaxInterleave,           count,
                        tables.wide_gaps.data(),  tables.wide_gap_reciprocals.data(),
                        tables.wide_flags.data(), tables.wide_flag_reciprocals.data()};
  const std::size_t share = kMaxInterleave / parts;
  const std::size_t first_lane = p * share;
  const std::size_t capacity = 2 * std::min(rounds, kChunkRounds) + 1;
  auto& chunk = out.wide_chunks[p];
  chunk.resize(share * capacity);
  std::array<std::uint32_t, kMaxInterleave> states, chunk_first_words;
  std::array<std::size_t, kMaxInterleave> next;  // per lane: where its words start so far
  for (std::size_t i = 0; i < share; ++i) {
    states[i] = kRansLow;
    out.words[first_lane + i].resize(2 * rounds);  // at most a word per symbol
    next[i] = 2 * rounds;
  }
  for (std::size_t end = rounds; end > 0;) {
    const std::size_t begin = end > kChunkRounds ? end - kChunkRounds : 0;
    encode_wide_rans(job, first_lane, share, begin, end - begin, states.data(), chunk.data(), capacity,
                     chunk_first_words.data());
    for (std::size_t i = 0; i < share; ++i) {
      const std::uint64_t* words = chunk.data() + i * capacity + chunk_first_words[i];
      const std::size_t n = capacity - chunk_first_words[i];
      next[i] -= n;
      std::uint16_t* to = out.words[first_lane + i].data() + next[i];
      for (std::size_t w = 0; w < n; ++w) to[w] = static_cast<std::uint16_t>(words[w]);
    }
    end = begin;
  }
  for (std::size_t i = 0; i < share; ++i) {
    out.first_words[first_lane + i] = static_cast<std::uint32_t>(next[i]);
    out.states[first_lane + i] = states[i];
  }
}

// The words of `lane` in the decoder's order, appended little-endian.
void append_lane_words(const LaneOutputs& lanes, unsigned lane, std::vector<std::byte>& out) {
  const std::size_t count = lanes.word_count(lane);
  const std::size_t size = out.size();
  out.resize(size + 2 * count);
  std::memcpy(out.data() + size, lanes.words[lane].data() + lanes.first_words[lane], 2 * count);  // little-endian
}

// Appends the rANS section of `stream`'s first `count` entries to `out`.
void append_rans_section(const EntryStream& stream, std::size_t count, const std::vector<PartBuffers>& escapes,
                         LaneOutputs& lanes, unsigned threads, std::vector<std::byte>& out) {
  const TableCounts& counts = stream.counts;
  std::size_t size = kGapAlphabet;
  while (counts.symbol_counts[size - 1] == 0) --size;
  const std::vector<std::uint32_t> frequencies =
      normalized_frequencies(std::span<const std::uint64_t>(counts.symbol_counts.data(), size));
  LaneTables tables;
  // 1 / f rounded up, as the wide coder's floor needs (rans_kernel.cpp)
  auto reciprocal = [](std::uint32_t f) { return std::nextafter(1.0 / f, 2.0); };
  tables.wide_gaps.fill(kIdentitySymbol);
  tables.wide_gap_reciprocals.fill(reciprocal(kProbabilityScale));
  tables.wide_flags.fill(kIdentitySymbol);
  tables.wide_flag_reciprocals.fill(reciprocal(kProbabilityScale));
  for (std::uint32_t s = 0, start = 0; s < size; start += frequencies[s], ++s)
    if (frequencies[s]) {
      tables.gaps[s] = EncoderSymbol(start, frequencies[s]);
      tables.wide_gaps[s] = start | frequencies[s] << 16;
      tables.wide_gap_reciprocals[s] = reciprocal(frequencies[s]);
    }
  const std::array<std::uint32_t, 2> flag_frequencies = {flag_frequency(counts.flag_zeros[0], counts.flag_totals[0]),
                                                         flag_frequency(counts.flag_zeros[1], counts.flag_totals[1])};
  // indexed by the flags byte: bit 0 the flag, bit 1 the context (new row)
  for (unsigned context = 0; context < 2; ++context) {
    const std::uint32_t zero = flag_frequencies[context];
    tables.flags[2 * context] = EncoderSymbol(0, zero);
    tables.flags[2 * context + 1] = EncoderSymbol(zero, kProbabilityScale - zero);
    tables.wide_flags[2 * context] = zero << 16;
    tables.wide_flags[2 * context + 1] = zero | (kProbabilityScale - zero) << 16;
    tables.wide_flag_reciprocals[2 * context] = reciprocal(zero);
    tables.wide_flag_reciprocals[2 * context + 1] = reciprocal(kProbabilityScale - zero);
  }

  // Lanes share nothing, so they are coded in parallel; the bytes do not depend on the threads.
  // Two threads from 4 Ki entries on (thread_parts' minimum share of elements, over 64): fewer
  // entries take less time than handing them over.
  const std::size_t parts = detail::thread_parts(count * 64, threads) >= 2 ? 2 : 1;
  lanes.lanes = encoder_interleave(count);
  const bool reference = detail::chosen_kernel() == detail::kReferenceKernel;
  // each part codes its share of the lanes, then writes the extra bits of its list of escapes
  detail::run_parts(parts, [&](std::size_t p) {
    if (lanes.lanes == kNarrowInterleave) {
      if (parts == 1)
        encode_lanes<4, 1>(stream, count, kNarrowInterleave, 0, tables, lanes);
      else
        encode_lanes<2, 2>(stream, count, kNarrowInterleave, p, tables, lanes);
    } else if (reference) {
      for (std::size_t first = 4 * p; first < kMaxInterleave; first += 4 * parts)
        encode_lanes<4, 1>(stream, count, kMaxInterleave, first, tables, lanes);
    } else {
      encode_wide_lanes(stream, count, tables, parts, p, lanes);
    }
    lanes_extra_bits(escapes, lanes.lanes, parts == 1 ? 1 : p, parts == 1, lanes);
  });

  std::size_t size_bound = 2 + 10 * (1 + size) + 4 + 24 * lanes.lanes;  // varints of at most 10 bytes
  for (unsigned lane = 0; lane < lanes.lanes; ++lane)
    size_bound += 2 * lanes.word_count(lane) + lanes.extra_bits[lane].size();
  out.reserve(out.size() + size_bound);
  out.push_back(static_cast<std::byte>(EntryCoding::rans));
  out.push_back(static_cast<std::byte>(lanes.lanes));
  append_varint(out, size);
  for (std::uint32_t f : frequencies) append_varint(out, f);
  append_le<std::uint16_t>(out, static_cast<std::uint16_t>(flag_frequencies[0]));
  append_le<std::uint16_t>(out, static_cast<std::uint16_t>(flag_frequencies[1]));
  for (unsigned lane = 0; lane < lanes.lanes; ++lane) append_varint(out, lanes.word_count(lane));
  for (unsigned lane = 0; lane < lanes.lanes; ++lane) append_varint(out, lanes.extra_bits[lane].size());
  for (unsigned lane = 0; lane < lanes.lanes; ++lane) append_le<std::uint32_t>(out, lanes.states[lane]);
  for (unsigned lane = 0; lane < lanes.lanes; ++lane) append_lane_words(lanes, lane, out);
  for (unsigned lane = 0; lane < lanes.lanes; ++lane)
    out.insert(out.end(), lanes.extra_bits[lane].begin(), lanes.extra_bits[lane].end());
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
    std::vector<PartBuffers> escapes;
    LaneOutputs lanes;
  };
  thread_local Scratch scratch;
  EntryStream& stream = scratch.stream;
  const std::size_t count = sparse.entries.size();
  entry_stream(sparse, row_length, encoder_interleave(count), threads, scratch.escapes, stream);
  const std::size_t start = out.size();
  append_rans_section(stream, count, scratch.escapes, scratch.lanes, threads, out);
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
