#pragma once
// What the encoder and the decoder of the coded entries share beyond rans.hpp and gap_symbols.hpp.
#include <cstddef>

namespace adacomp::entries {

inline constexpr unsigned kMaxInterleave = 32;  // lanes a decoder accepts
// Lanes this encoder writes (format_spec/wire_format.md, section 14.3): 4 below kWideEntries
// entries, where 28 more lanes' states and counts would cost over 0.5% of the section, and
// kMaxInterleave from there on, for the vector coder (rans_kernel.hpp).
inline constexpr unsigned kNarrowInterleave = 4;
inline constexpr std::size_t kWideEntries = std::size_t{1} << 15;
inline constexpr unsigned encoder_interleave(std::size_t entries) {
  return entries < kWideEntries ? kNarrowInterleave : kMaxInterleave;
}
inline constexpr std::size_t kRiceMaxEntries = 256;  // frames an encoder considers for Rice codes

}  // namespace adacomp::entries
