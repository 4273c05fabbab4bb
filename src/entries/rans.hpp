#pragma once
// Interleaved rANS of wire format 2 (format_spec/wire_format.md, section 14.3): 32-bit states in
// [2^16, 2^32), 16-bit renormalisation words, 12-bit probabilities, one shared word stream.
#include <cstdint>

namespace adacomp::entries {

inline constexpr unsigned kProbabilityBits = 12;
inline constexpr std::uint32_t kProbabilityScale = 1u << kProbabilityBits;
inline constexpr std::uint32_t kRansLow = 1u << 16;

__extension__ using Uint128 = unsigned __int128;  // GCC and Clang on 64-bit targets

// A symbol as the encoder needs it, with the division of the state by its frequency done as the
// high half of a 64 x 64-bit product (ryg_rans's reciprocal encoder): with s = ceil(log2 f), the
// reciprocal ceil(2^(32+s) / f) 2^(32-s) gives floor(x / f) exactly for every 32-bit x, because
// x r / 2^(32+s) exceeds x / f by less than 1/f. A frequency of 1 has no such reciprocal below
// 2^64; there the quotient comes out one low (x - 1) and the bias makes up for it.
struct EncoderSymbol {
  std::uint64_t limit = 0;  // renormalise while the state is at or above it
  std::uint64_t reciprocal = 0;
  std::uint32_t bias = 0, complement = 0;  // x' = x + bias + q (4096 - f)

  EncoderSymbol() = default;
  EncoderSymbol(std::uint32_t start, std::uint32_t frequency)
      : limit(static_cast<std::uint64_t>((kRansLow >> kProbabilityBits) << 16) * frequency),
        complement(kProbabilityScale - frequency) {
    if (frequency == 1) {
      reciprocal = ~std::uint64_t{0};
      bias = start + kProbabilityScale - 1;
      return;
    }
    unsigned s = 0;
    while ((std::uint32_t{1} << s) < frequency) ++s;
    reciprocal = ((std::uint64_t{1} << (32 + s)) + frequency - 1) / frequency << (32 - s);
    bias = start;
  }
};

// Encodes backwards: `words` points one past the next free word and moves down. The word is
// stored whether it is kept or not, and the renormalisation chosen without a branch: whether a
// state needs one is a coin toss the branch predictor loses.
inline void rans_put(std::uint32_t& state, std::uint16_t*& words, const EncoderSymbol& symbol) {
  const std::uint32_t renormalise = state >= symbol.limit;
  words[-1] = static_cast<std::uint16_t>(state);
  words -= renormalise;
  const std::uint32_t x = state >> (renormalise << 4);  // a shift by 0 or 16, not a branch
  const auto quotient = static_cast<std::uint32_t>((static_cast<Uint128>(x) * symbol.reciprocal) >> 64);
  state = x + symbol.bias + quotient * symbol.complement;
}

// The decoder's step once the symbol of `slot` (start, frequency) is known; returns false when the
// state needs a word and none is left. Branch-free but for that check, as rans_put.
inline bool rans_advance(std::uint32_t& state, std::uint32_t start, std::uint32_t frequency, const std::uint8_t*& word,
                         const std::uint8_t* words_end) {
  state = frequency * (state >> kProbabilityBits) + (state & (kProbabilityScale - 1)) - start;
  const std::uint32_t renormalise = state < kRansLow;
  const std::uint32_t available = word != words_end;
  // masks, so that the compiler cannot turn the selection back into a branch
  const std::uint32_t take = 0u - (renormalise & available);
  const std::uint32_t next =
      available ? static_cast<std::uint32_t>(word[0]) | static_cast<std::uint32_t>(word[1]) << 8 : 0;
  state = (state & ~take) | ((state << 16 | next) & take);
  word += take & 2u;
  return available | !renormalise;
}

}  // namespace adacomp::entries
