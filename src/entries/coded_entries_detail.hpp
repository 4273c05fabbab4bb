#pragma once
// What the encoder and the decoder of the coded entries share beyond rans.hpp and gap_symbols.hpp.
#include <cstddef>

namespace adacomp::entries {

inline constexpr unsigned kEncoderInterleave = 4;    // rANS lanes this encoder writes
inline constexpr unsigned kMaxInterleave = 32;       // lanes a decoder accepts
inline constexpr std::size_t kRiceMaxEntries = 256;  // frames an encoder considers for Rice codes

}  // namespace adacomp::entries
