#include <array>
#include <bit>
#include <cstring>

#include "adacomp/byte_io.hpp"
#include "adacomp/coded_entries.hpp"
#include "adacomp/error.hpp"
#include "codec/kernels/kernel_registry.hpp"
#include "entries/bit_stream.hpp"
#include "entries/coded_entries_detail.hpp"
#include "entries/decode_kernel.hpp"
#include "entries/gap_symbols.hpp"
#include "entries/rans.hpp"

namespace adacomp {

using namespace entries;

namespace {

// Where decoded entries go: the positions, checked against the tensor, then one of the sinks below.
class PositionCheck {
 public:
  PositionCheck(std::uint64_t element_count, const std::string& context)
      : element_count_(element_count), context_(context) {}
  // Goes on after an entry at `previous`, checked elsewhere.
  void resume_after(std::uint64_t previous) { previous_ = previous; }
  // The position of entry `index`, `gap` elements after the previous one.
  std::uint64_t position_after(std::uint64_t gap, std::uint64_t index) {
    const std::uint64_t position = previous_ + gap;
    if (gap > element_count_ || position >= element_count_)
      fail_input(context_ + ": entry " + std::to_string(index) + " lies beyond the tensor's " +
                 std::to_string(element_count_) + " elements");
    previous_ = position;
    return position;
  }

 private:
  std::uint64_t element_count_;
  const std::string& context_;
  std::uint64_t previous_ = ~std::uint64_t{0};
};

// Into the bins of a SparseTernary.
class BinSink {
 public:
  BinSink(SparseTernary& sparse, std::uint64_t entry_count) : sparse_(sparse) {
    sparse_.bin_counts.assign(sparse.bin_count(), 0);
    sparse_.entries.clear();
    sparse_.entries.reserve(entry_count);  // entry_count <= elements, checked by the frame reader
  }
  void add(std::uint64_t position, bool negative) {
    if (position >= bin_end_) {
      // the next bin, mostly; a division only past a long gap
      bin_ = position - bin_end_ < sparse_.bin_size ? bin_ + (bin_end_ > 0) : position / sparse_.bin_size;
      bin_start_ = bin_ * sparse_.bin_size;
      bin_end_ = bin_start_ + sparse_.bin_size;
    }
    ++sparse_.bin_counts[bin_];
    sparse_.entries.push_back(
        static_cast<std::uint16_t>((position - bin_start_) << 2 | (negative ? kCodeNegative : kCodePositive)));
  }

 private:
  SparseTernary& sparse_;
  std::uint64_t bin_ = 0, bin_start_ = 0, bin_end_ = 0;
};

// Straight into the decoded values (zero elsewhere, as the caller filled them).
class ScatterSink {
 public:
  ScatterSink(std::span<float> out, float scale) : out_(out), scale_(scale) {}
  // the sign set by an or, not chosen by a branch: signs are coin tosses for many layers
  void add(std::uint64_t position, bool negative) {
    out_[position] =
        std::bit_cast<float>(std::bit_cast<std::uint32_t>(scale_) | static_cast<std::uint32_t>(negative) << 31);
  }

 private:
  std::span<float> out_;
  float scale_;
};

template <typename Sink>
void decode_rice(std::span<const std::byte> section, std::uint64_t entry_count, std::uint64_t element_count, Sink& sink,
                 const std::string& context) {
  const unsigned parameter = static_cast<std::uint8_t>(section[1]);
  if (parameter > 63) fail_input(context + ": Rice parameter " + std::to_string(parameter) + " exceeds 63");
  BitReader bits(section.data() + 2, section.data() + section.size());
  PositionCheck positions(element_count, context);
  const std::uint64_t largest_quotient = (element_count - 1) >> parameter;
  std::uint64_t i = 0;
  auto truncated = [&] { fail_input(context + ": the Rice codes end before entry " + std::to_string(i)); };
  for (; i < entry_count; ++i) {
    std::uint64_t quotient = 0, bit = 1, low = 0, sign = 0;
    for (;;) {
      if (!bits.get(1, bit)) truncated();
      if (!bit) break;
      if (++quotient > largest_quotient)
        fail_input(context + ": entry " + std::to_string(i) + " lies beyond the tensor's " +
                   std::to_string(element_count) + " elements");
    }
    if (!bits.get_wide(parameter, low) || !bits.get(1, sign)) truncated();
    sink.add(positions.position_after((quotient << parameter | low) + 1, i), sign != 0);
  }
  if (!bits.ended_cleanly())
    fail_input(context +
               ": the Rice codes do not end at the end of the frame's payload, or their padding bits are not zero");
}

template <typename Sink>
void decode_rans(std::span<const std::byte> section, std::uint64_t entry_count, std::uint64_t row_length,
                 std::uint64_t element_count, Sink& sink, const std::string& context) {
  const unsigned interleave = static_cast<std::uint8_t>(section[1]);
  if (interleave < 1 || interleave > kMaxInterleave)
    fail_input(context + ": rANS interleave count " + std::to_string(interleave) + " is outside 1..32");
  std::size_t pos = 2;
  const std::uint64_t size = read_varint(section, pos, context, "the gap table size");
  if (size < 1 || size > kGapAlphabet)
    fail_input(context + ": gap table size " + std::to_string(size) + " is outside 1..135");
  std::array<std::uint32_t, kGapAlphabet> frequencies{}, starts{};
  std::uint64_t sum = 0;
  for (std::size_t s = 0; s < size; ++s) {
    const std::uint64_t f = read_varint(section, pos, context, "the gap table");
    if (f > kProbabilityScale) fail_input(context + ": gap table frequency " + std::to_string(f) + " exceeds 4096");
    starts[s] = static_cast<std::uint32_t>(sum);
    frequencies[s] = static_cast<std::uint32_t>(f);
    sum += f;
  }
  if (sum != kProbabilityScale || frequencies[size - 1] == 0)
    fail_input(context + ": the gap table sums to " + std::to_string(sum) +
               " or ends with a zero frequency (it must sum to 4096 and end with a used symbol)");
  if (section.size() - pos < 4) fail_input(context + ": the entries section is truncated in its sign flag table");
  std::array<std::uint32_t, 2> zero_frequencies = {load_le<std::uint16_t>(section.data() + pos),
                                                   load_le<std::uint16_t>(section.data() + pos + 2)};
  pos += 4;
  for (std::uint32_t f : zero_frequencies)
    if (f < 1 || f >= kProbabilityScale)
      fail_input(context + ": sign flag frequency " + std::to_string(f) + " is outside 1..4095");
  // per lane: word count, extra-bit bytes; then the states, the lanes' words, the lanes' extra bits
  std::array<std::uint64_t, kMaxInterleave> word_counts{}, extra_sizes{};
  for (unsigned lane = 0; lane < interleave; ++lane)
    word_counts[lane] = read_varint(section, pos, context, "the rANS word counts");
  for (unsigned lane = 0; lane < interleave; ++lane)
    extra_sizes[lane] = read_varint(section, pos, context, "the extra-bit sizes");
  std::uint64_t needed = 4ull * interleave;
  for (unsigned lane = 0; lane < interleave; ++lane) {
    if (word_counts[lane] > section.size() || extra_sizes[lane] > section.size())
      fail_input(context + ": the rANS states, words or extra bits are truncated");
    needed += 2 * word_counts[lane] + extra_sizes[lane];
  }
  if (needed > section.size() - pos) fail_input(context + ": the rANS states, words or extra bits are truncated");
  if (needed < section.size() - pos)
    fail_input(context + ": " + std::to_string(section.size() - pos - needed) +
               " bytes follow the entries section's last extra bits");
  std::array<std::uint32_t, kMaxInterleave> states;
  for (unsigned lane = 0; lane < interleave; ++lane) {
    states[lane] = load_le<std::uint32_t>(section.data() + pos + 4 * lane);
    if (states[lane] < kRansLow)
      fail_input(context + ": rANS state of lane " + std::to_string(lane) + " is below 2^16");
  }
  pos += 4ull * interleave;
  std::array<const std::uint8_t*, kMaxInterleave> words, words_ends;
  for (unsigned lane = 0; lane < interleave; ++lane) {
    words[lane] = reinterpret_cast<const std::uint8_t*>(section.data() + pos);
    words_ends[lane] = words[lane] + 2 * word_counts[lane];
    pos += 2 * word_counts[lane];
  }
  std::array<BitReader, kMaxInterleave> extras;
  std::array<std::size_t, kMaxInterleave> extras_begin;
  for (unsigned lane = 0; lane < interleave; ++lane) {
    extras[lane] = BitReader(section.data() + pos, section.data() + pos + extra_sizes[lane]);
    extras_begin[lane] = pos;
    pos += extra_sizes[lane];
  }

  std::array<std::uint8_t, kProbabilityScale> slot_symbol;
  for (std::size_t s = 0; s < size; ++s)
    std::memset(slot_symbol.data() + starts[s], static_cast<int>(s), frequencies[s]);

  PositionCheck positions(element_count, context);
  auto ended = [&](std::uint64_t i) {
    fail_input(context + ": the rANS stream ends before entry " + std::to_string(i) + " of " +
               std::to_string(entry_count));
  };
  bool negative = false;
  std::uint64_t row_end = 0;
  // One entry on one lane. Inlined into the loops below with the lane's state as a local, so
  // that the four lanes of the common case stay in registers and their chains overlap.
  const std::array<GapClass, kGapAlphabet>& classes = gap_classes();
  auto entry = [&](std::uint64_t i, std::uint32_t & state, const std::uint8_t*& word, const std::uint8_t* words_end,
                   BitReader& lane_extras) __attribute__((always_inline)) {
    const unsigned symbol = slot_symbol[state & (kProbabilityScale - 1)];
    if (!rans_advance(state, starts[symbol], frequencies[symbol], word, words_end)) ended(i);
    std::uint64_t extra = 0;
    const GapClass& gap_class = classes[symbol];
    if (!lane_extras.get_wide(gap_class.extra_bits, extra))
      fail_input(context + ": the extra bits end before entry " + std::to_string(i));
    // the sign's context (same row or a new one) needs the position, so the gap comes first
    const std::uint64_t position = positions.position_after(gap_class.base + extra, i);
    const bool new_row = i == 0 || position >= row_end;
    if (new_row) [[unlikely]]
      row_end = (position / row_length + 1) * row_length;
    const std::uint32_t zero = zero_frequencies[new_row];
    // a sign flip is a coin toss for many layers: start and frequency by mask, not a branch
    const std::uint32_t flip = (state & (kProbabilityScale - 1)) >= zero;
    const std::uint32_t mask = 0u - flip;
    const std::uint32_t flag_start = zero & mask;
    const std::uint32_t flag_frequency = zero ^ ((zero ^ (kProbabilityScale - zero)) & mask);
    if (!rans_advance(state, flag_start, flag_frequency, word, words_end)) ended(i);
    negative = negative != static_cast<bool>(flip);
    sink.add(position, negative);
  };
  std::uint64_t i = 0;
  if (interleave == kWideDecodeLanes && section.size() < (std::size_t{1} << 29) &&
      entry_count >= 2 * kWideDecodeLanes && detail::chosen_kernel() != detail::kReferenceKernel) {
    // The vector decoder takes whole rounds for as long as they break no rule; this loop goes on
    // from where it stops, to the end or to the rule a round breaks (alone for the reference
    // kernel, which the vector one must match).
    std::array<std::uint32_t, kProbabilityScale> slot_table;
    for (std::uint32_t s = 0; s < size; ++s)
      for (std::uint32_t slot = starts[s]; slot < starts[s] + frequencies[s]; ++slot)
        slot_table[slot] = s | starts[s] << 8 | (frequencies[s] - 1) << 20;
    const auto* const base = reinterpret_cast<const std::uint8_t*>(section.data());
    const WideDecodeJob job{
        base,          section.size(), slot_table.data(), {zero_frequencies[0], zero_frequencies[1]},
        element_count, row_length,     entry_count};
    WideDecodeState wide;
    for (unsigned lane = 0; lane < interleave; ++lane) {
      wide.states[lane] = states[lane];
      wide.word_offsets[lane] = static_cast<std::uint32_t>(words[lane] - base);
      wide.word_ends[lane] = static_cast<std::uint32_t>(words_ends[lane] - base);
      wide.extra_offsets[lane] = static_cast<std::uint32_t>(8 * extras_begin[lane]);
      wide.extra_ends[lane] = static_cast<std::uint32_t>(8 * (extras_begin[lane] + extra_sizes[lane]));
    }
    constexpr std::size_t kBatchRounds = 64;
    std::array<std::uint32_t, kBatchRounds * kWideDecodeLanes> batch_positions;
    std::array<std::uint32_t, kBatchRounds> batch_signs;
    for (std::size_t rounds = kBatchRounds; rounds == kBatchRounds;) {
      rounds = decode_wide_rounds(job, wide, kBatchRounds, batch_positions.data(), batch_signs.data());
      for (std::size_t k = 0; k < rounds * kWideDecodeLanes; ++k)
        sink.add(batch_positions[k], (batch_signs[k / kWideDecodeLanes] >> (k % kWideDecodeLanes) & 1) != 0);
    }
    for (unsigned lane = 0; lane < interleave; ++lane) {
      states[lane] = wide.states[lane];
      words[lane] = base + wide.word_offsets[lane];
      const std::size_t bit = wide.extra_offsets[lane];
      extras[lane] = BitReader(section.data() + bit / 8, section.data() + extras_begin[lane] + extra_sizes[lane]);
      std::uint64_t skipped;
      extras[lane].get(bit % 8, skipped);  // the bits of that byte the vector decoder consumed
    }
    positions.resume_after(wide.previous_position);
    negative = wide.negative;
    row_end = wide.row_end;
    i = wide.next_entry;
  }
  if (interleave % 4 == 0) {
    // four consecutive entries are four consecutive lanes: their states as locals
    for (unsigned lane = static_cast<unsigned>(i % interleave); i + 4 <= entry_count;
         i += 4, lane = lane + 4 == interleave ? 0 : lane + 4) {
      std::uint32_t s0 = states[lane], s1 = states[lane + 1], s2 = states[lane + 2], s3 = states[lane + 3];
      const std::uint8_t *w0 = words[lane], *w1 = words[lane + 1], *w2 = words[lane + 2], *w3 = words[lane + 3];
      entry(i, s0, w0, words_ends[lane], extras[lane]);
      entry(i + 1, s1, w1, words_ends[lane + 1], extras[lane + 1]);
      entry(i + 2, s2, w2, words_ends[lane + 2], extras[lane + 2]);
      entry(i + 3, s3, w3, words_ends[lane + 3], extras[lane + 3]);
      states[lane] = s0, states[lane + 1] = s1, states[lane + 2] = s2, states[lane + 3] = s3;
      words[lane] = w0, words[lane + 1] = w1, words[lane + 2] = w2, words[lane + 3] = w3;
    }
  }
  for (std::uint64_t lane = i % interleave; i < entry_count; ++i, lane = lane + 1 == interleave ? 0 : lane + 1)
    entry(i, states[lane], words[lane], words_ends[lane], extras[lane]);
  for (unsigned lane = 0; lane < interleave; ++lane) {
    const std::string name = "rANS lane " + std::to_string(lane);
    if (words[lane] != words_ends[lane])
      fail_input(context + ": " + name + " has " + std::to_string((words_ends[lane] - words[lane]) / 2) +
                 " words left over");
    if (states[lane] != kRansLow)
      fail_input(context + ": " + name + " ends in state " + std::to_string(states[lane]) +
                 ", not its initial state 65536");
    if (!extras[lane].ended_cleanly())
      fail_input(context + ": the extra bits of " + name +
                 " do not end at their last byte, or their padding bits are not zero");
  }
}

template <typename Sink>
EntryCoding decode_section(std::span<const std::byte> section, std::uint64_t entry_count, std::uint64_t row_length,
                           std::uint64_t element_count, Sink& sink, const std::string& context) {
  if (section.size() < 2) fail_input(context + ": the entries section is truncated");
  const auto mode = static_cast<std::uint8_t>(section[0]);
  if (mode == static_cast<std::uint8_t>(EntryCoding::rice)) {
    decode_rice(section, entry_count, element_count, sink, context);
    return EntryCoding::rice;
  }
  if (mode != static_cast<std::uint8_t>(EntryCoding::rans))
    fail_input(context + ": unknown entry coding mode " + std::to_string(mode));
  decode_rans(section, entry_count, row_length, element_count, sink, context);
  return EntryCoding::rans;
}

}  // namespace

EntryCoding decode_coded_entries(std::span<const std::byte> section, std::uint64_t entry_count,
                                 std::uint64_t row_length, SparseTernary& sparse, const std::string& context) {
  BinSink sink(sparse, entry_count);
  return decode_section(section, entry_count, row_length, sparse.element_count, sink, context);
}

void scatter_coded_entries(std::span<const std::byte> section, std::uint64_t entry_count, std::uint64_t row_length,
                           float scale, std::span<float> out, const std::string& context) {
  ScatterSink sink(out, scale);
  decode_section(section, entry_count, row_length, out.size(), sink, context);
}

}  // namespace adacomp
