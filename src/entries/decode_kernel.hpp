#pragma once
// The wide rANS decoder (library-internal): whole rounds of a 32-lane section's entries with the
// lanes' states in vector registers, compiled once per instruction set by Highway and dispatched
// like the selection kernel. It decodes only rounds that break no rule and read nothing past the
// section, and stops before any other: the scalar decoder (decode_entries.cpp) carries on from
// where it stopped, and names the rule a stream breaks.
#include <cstddef>
#include <cstdint>

namespace adacomp::entries {

inline constexpr unsigned kWideDecodeLanes = 32;

struct WideDecodeJob {
  const std::uint8_t* section;  // the whole entries section
  std::size_t size;             // its bytes, below 2^29 (offsets below are 32-bit)
  // per slot of the 12-bit probability: symbol | start << 8 | (frequency - 1) << 20
  const std::uint32_t* slot_table;
  std::uint32_t zero_frequencies[2];  // the sign flag's, same row and new row
  std::uint64_t element_count, row_length, entry_count;
};

// Where the decoding stands, per lane and in the entries.
struct WideDecodeState {
  std::uint32_t states[kWideDecodeLanes];
  std::uint32_t word_offsets[kWideDecodeLanes], word_ends[kWideDecodeLanes];    // bytes from the section's start
  std::uint32_t extra_offsets[kWideDecodeLanes], extra_ends[kWideDecodeLanes];  // bits from the section's start
  std::uint64_t next_entry = 0;                                                 // a multiple of 32
  std::uint64_t previous_position = ~std::uint64_t{0};
  std::uint64_t row_end = 0;
  bool negative = false;
};

// Decodes up to `max_rounds` rounds of 32 entries from state.next_entry on into `positions`
// (32 per round) and `negative_bits` (one word per round: bit j is entry 32 k + j's sign), and
// returns how many it decoded.
std::size_t decode_wide_rounds(const WideDecodeJob& job, WideDecodeState& state, std::size_t max_rounds,
                               std::uint32_t* positions, std::uint32_t* negative_bits);

}  // namespace adacomp::entries
