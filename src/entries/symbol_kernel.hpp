#pragma once
// The coded entries' positions, gap symbols and sign flips in vector registers (library-internal),
// compiled once per instruction set by Highway and dispatched like the selection kernel. Every
// target gives the symbols of gap_symbols.hpp.
#include <array>
#include <cstddef>
#include <cstdint>

namespace adacomp::entries {

struct PositionJob {
  const std::uint16_t* bin_counts;  // the codec's SparseTernary
  const std::uint16_t* codes;       // its entries
  std::size_t code_count;
  std::uint32_t bin_size;
  std::uint32_t* positions;  // out: the position of entry positions_first + i at positions[i]
  std::size_t positions_first;
};

// Positions of the entries of bins [first_bin, last_bin), entries [first, block_end). A vector's
// worth of entries at a time whatever the bin's count, the next bin overwriting what lies past
// this one's, up to entry `last` (where job.positions ends; the codes are read no further than
// theirs): a loop over each bin's count would mispredict its exit once per bin.
void entry_positions(const PositionJob& job, std::size_t first_bin, std::size_t last_bin, std::size_t first,
                     std::size_t last);

struct SymbolJob {
  const std::uint32_t* positions;  // strictly increasing: entry positions_first + i's at positions[i]
  std::size_t positions_first;
  const std::uint16_t* codes;  // per entry: the codec's entry (offset << 2 | sign code)
  std::uint8_t* symbols;       // out: per entry, its gap symbol
  std::uint8_t* flags;         // out: per entry, 1 where its sign differs from the previous entry's
  // out: the entries whose symbols have extra bits, in order, in two lists: escapes[b] those whose
  // index has bit `split_bit` equal to b (so that two threads can write their lanes' extra bits
  // without sifting each other's)
  std::uint32_t* escapes[2];
  std::uint32_t* escape_gaps[2];  // out: the gap of each of those entries
  unsigned split_bit;
};

// Entries [first, last) of `job`, after an entry at position `previous` of sign
// `previous_negative` (for the first entry of a frame: ~0 and positive, so that its gap is its
// position + 1). Writes the escapes from job.escapes[b] and job.escape_gaps[b] on, each with room
// for 16 more than there are. Gaps below 2^32.
struct SymbolCounts {
  std::array<std::size_t, 2> escapes{};  // per list
  std::size_t flips = 0;                 // flags of 1
};
SymbolCounts entry_symbols(const SymbolJob& job, std::size_t first, std::size_t last, std::uint64_t previous,
                           bool previous_negative);

}  // namespace adacomp::entries
