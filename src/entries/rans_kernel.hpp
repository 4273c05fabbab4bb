#pragma once
// The wide rANS encoder (library-internal): many lanes of format 2's coder (rans.hpp) at once in
// vector registers, compiled once per instruction set by Highway and dispatched like the
// selection kernel. Every target writes the same words and states as rans_put.
#include <cstddef>
#include <cstdint>

namespace adacomp::entries {

// A table entry of the wide encoder: start | frequency << 16. Tables carry one more entry past
// their symbols, kIdentitySymbol's: frequency 4096, which leaves every state as it is and never
// renormalises, so that lanes without an entry in the last round need no mask.
inline constexpr std::uint32_t kIdentitySymbol = 4096u << 16;

struct WideRansJob {
  const std::uint8_t* symbols;      // per entry, padded to whole rounds of `lanes` with the identity index
  const std::uint8_t* flags;        // per entry (the flags byte), padded the same way
  std::size_t lanes;                // W, a multiple of 16
  std::size_t entries;              // of the frame, before the padding
  const std::uint64_t* gap_table;   // per gap symbol, then the identity
  const double* gap_reciprocals;    // 1 / frequency rounded up, per gap symbol and the identity
  const std::uint64_t* flag_table;  // per flags byte, then the identity: 8 entries, the rest unused
  const double* flag_reciprocals;   // the same, 8 entries
};

// Codes rounds [first_round, first_round + round_count) of lanes [first_lane, first_lane +
// lane_count) of `job` (lane_count 16 or 32, first_lane a multiple of 16), the last round first,
// from the lanes' `states` on (updated). The words of the call's lane i go to region i of `words`,
// [i * capacity, (i + 1) * capacity), one word per 64-bit slot, written downwards from its end
// (capacity >= 2 * round_count + 1, lane_count * capacity < 2^31); `first_words[i]` is where
// they start within the region.
void encode_wide_rans(const WideRansJob& job, std::size_t first_lane, std::size_t lane_count, std::size_t first_round,
                      std::size_t round_count, std::uint32_t* states, std::uint64_t* words, std::size_t capacity,
                      std::uint32_t* first_words);

}  // namespace adacomp::entries
