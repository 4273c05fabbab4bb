#include "adacomp/codec.hpp"

#include <bit>
#include <cmath>
#include <exception>
#include <thread>
#include <string>

#include "adacomp/error.hpp"

namespace adacomp {

std::uint8_t index_width_for(std::uint32_t bin_size) noexcept {
  return bin_size <= kMaxNarrowBinSize ? 1 : 2;
}

std::uint32_t default_bin_size(std::size_t rank) noexcept { return rank == 2 ? 500 : 50; }

namespace {

[[noreturn]] void fail_non_finite(std::span<const float> gradient, std::span<const float> residue,
                                  std::size_t index, const std::string& tensor_name) {
  const std::string where = "tensor '" + tensor_name + "' element " + std::to_string(index);
  if (!std::isfinite(gradient[index]))
    fail_input(where + ": gradient value is " + (std::isnan(gradient[index]) ? "NaN" : "infinite"));
  if (!std::isfinite(residue[index]))
    fail_input(where + ": residue value is " + (std::isnan(residue[index]) ? "NaN" : "infinite"));
  fail_input(where + ": residue + gradient overflows float32");
}

// The first non-finite element from `begin` (the bins before it were checked finite), in index
// order, so that errors always name the same index.
[[noreturn]] void fail_first_non_finite(std::span<const float> gradient, std::span<const float> residue,
                                        std::size_t begin, float scale_factor,
                                        const std::string& tensor_name) {
  for (std::size_t i = begin; i < gradient.size(); ++i) {
    const float g = gradient[i];
    const float r = residue[i];
    if (!std::isfinite(g) || !std::isfinite(r) || !std::isfinite(r + g)) fail_non_finite(gradient, residue, i, tensor_name);
    if (!std::isfinite(r + scale_factor * g))
      fail_input("tensor '" + tensor_name + "' element " + std::to_string(i) +
                 ": residue + scale_factor * gradient overflows float32");
  }
  fail_input("tensor '" + tensor_name + "': non-finite value");  // unreachable by construction
}

}  // namespace

namespace {

// Entries of a run of bins, written branch-free: every element's candidate entry is stored and the
// write position advances only when it is selected, so the buffer keeps one bin of slack.
class EntryBuffer {
 public:
  void reserve_bin(std::size_t bin_size) {
    if (size_ + bin_size > data_.size()) data_.resize(std::max(data_.size() * 2, size_ + bin_size + 1024));
  }
  std::uint16_t* tail() { return data_.data() + size_; }
  void advance(std::size_t count) { size_ += count; }
  std::size_t size() const { return size_; }
  const std::uint16_t* data() const { return data_.data(); }

 private:
  std::vector<std::uint16_t> data_;
  std::size_t size_ = 0;
};

constexpr std::uint32_t kAbsMask = 0x7fffffffu;
constexpr std::uint32_t kInfinityBits = 0x7f800000u;

// Bins [first_bin, last_bin): residue becomes G, per-bin counts and sums (binary64, index order)
// are written, entries appended. Throws on the first non-finite value in index order.
void compress_bins(const float* gradient, float* residue, std::size_t n, std::uint32_t bin_size, float k,
                   std::size_t first_bin, std::size_t last_bin, std::uint16_t* counts, double* bin_sums,
                   EntryBuffer& entries, std::span<const float> all_gradient, std::span<const float> all_residue,
                   const std::string& tensor_name) {
  for (std::size_t bin = first_bin; bin < last_bin; ++bin) {
    const std::size_t begin = bin * bin_size;
    const std::size_t length = std::min<std::size_t>(bin_size, n - begin);
    const float* g = gradient + begin;
    float* r = residue + begin;
    // Pass 1: max |G| as bits (|x| of finite floats orders like its bit pattern), and the largest
    // |H| bits, whose value says whether anything is non-finite. Branch-free: vectorizes.
    std::uint32_t gmax_bits = 0, worst_bits = 0;
    for (std::size_t i = 0; i < length; ++i) {
      const float G = r[i] + g[i];
      const float H = r[i] + k * g[i];
      const std::uint32_t gb = std::bit_cast<std::uint32_t>(G) & kAbsMask;
      const std::uint32_t hb = std::bit_cast<std::uint32_t>(H) & kAbsMask;
      gmax_bits = gmax_bits > gb ? gmax_bits : gb;
      const std::uint32_t both = gb > hb ? gb : hb;
      worst_bits = worst_bits > both ? worst_bits : both;
    }
    if (worst_bits >= kInfinityBits) fail_first_non_finite(all_gradient, all_residue, begin, k, tensor_name);
    // Pass 2: write G, select |H| >= gmax and G != 0, compact the entries.
    entries.reserve_bin(length);
    std::uint16_t* out = entries.tail();
    std::size_t count = 0;
    for (std::size_t i = 0; i < length; ++i) {
      const float G = r[i] + g[i];
      const float H = r[i] + k * g[i];
      r[i] = G;
      const std::uint32_t gbits = std::bit_cast<std::uint32_t>(G);
      const std::uint32_t hb = std::bit_cast<std::uint32_t>(H) & kAbsMask;
      const bool selected = (hb >= gmax_bits) & ((gbits & kAbsMask) != 0);
      out[count] = static_cast<std::uint16_t>((i << 2) | (gbits >> 31 ? kCodeNegative : kCodePositive));
      count += selected;
    }
    // The bin's sum over the selected elements, in index order, from the compacted entries.
    double sum = 0.0;
    for (std::size_t e = 0; e < count; ++e) sum += std::fabs(static_cast<double>(r[out[e] >> 2]));
    entries.advance(count);
    counts[bin] = static_cast<std::uint16_t>(count);
    bin_sums[bin] = sum;
  }
}

void apply_scale_to_residue(float* residue, std::uint32_t bin_size, const std::uint16_t* counts,
                            std::size_t first_bin, std::size_t last_bin, const std::uint16_t* entries, float scale) {
  std::size_t e = 0;
  for (std::size_t bin = first_bin; bin < last_bin; ++bin) {
    float* r = residue + bin * static_cast<std::size_t>(bin_size);
    for (std::uint16_t c = 0; c < counts[bin]; ++c, ++e) {
      const std::uint16_t entry = entries[e];
      float& x = r[entry >> 2];
      x = (entry & 3u) == kCodePositive ? x - scale : x + scale;
    }
  }
}

// Contiguous runs of bins per thread; a tensor is split only where each part gets at least
// 64 Ki elements (smaller tensors are not worth a thread). compress and decompress share the rule.
std::size_t thread_parts(std::size_t elements, unsigned threads) {
  constexpr std::size_t kMinElementsPerThread = std::size_t{1} << 16;
  return std::max<std::size_t>(1, std::min<std::size_t>(threads, elements / kMinElementsPerThread));
}

// work(p) for p in [0, parts): parts 1.. on their own threads, part 0 on the caller's.
template <typename Work>
void run_parts(std::size_t parts, Work&& work) {
  std::vector<std::thread> pool;
  for (std::size_t p = 1; p < parts; ++p) pool.emplace_back(work, p);
  work(0);
  for (auto& thread : pool) thread.join();
}

}  // namespace

SparseTernary compress(std::span<const float> gradient, std::span<float> residue, std::uint32_t bin_size,
                       float scale_factor, const std::string& tensor_name, unsigned threads) {
  if (bin_size < 1 || bin_size > kMaxBinSize)
    fail_usage("tensor '" + tensor_name + "': bin size " + std::to_string(bin_size) +
               " is outside 1.." + std::to_string(kMaxBinSize));
  if (!(scale_factor >= kMinScaleFactor && scale_factor <= kMaxScaleFactor))
    fail_usage("tensor '" + tensor_name + "': scale factor must be between 1 and 4");
  if (gradient.size() != residue.size())
    fail_input("tensor '" + tensor_name + "': residue has " + std::to_string(residue.size()) +
               " elements, gradient " + std::to_string(gradient.size()));

  const std::size_t n = gradient.size();
  SparseTernary out;
  out.element_count = n;
  out.bin_size = bin_size;
  const std::size_t bins = out.bin_count();
  out.bin_counts.resize(bins);
  std::vector<double> bin_sums(bins);

  const std::size_t parts = thread_parts(n, threads);
  std::vector<std::size_t> bounds(parts + 1);
  for (std::size_t p = 0; p <= parts; ++p) bounds[p] = bins * p / parts;
  std::vector<EntryBuffer> buffers(parts);
  std::vector<std::exception_ptr> errors(parts);
  auto run_part = [&](std::size_t p) {
    try {
      compress_bins(gradient.data(), residue.data(), n, bin_size, scale_factor, bounds[p], bounds[p + 1],
                    out.bin_counts.data(), bin_sums.data(), buffers[p], gradient, residue, tensor_name);
    } catch (...) {
      errors[p] = std::current_exception();
    }
  };
  run_parts(parts, run_part);
  for (const auto& error : errors)  // the lowest part holds the first bad index
    if (error) std::rethrow_exception(error);

  // Spec: the tensor sum adds the per-bin binary64 sums in bin order, whatever the split.
  double total = 0.0;
  for (double s : bin_sums) total += s;
  std::size_t entries = 0;
  for (const auto& buffer : buffers) entries += buffer.size();
  if (entries) {
    out.scale = static_cast<float>(total / static_cast<double>(entries));
    // Sparse residue update: only the selected elements change from G to G - sign * scale.
    run_parts(parts, [&](std::size_t p) {
      apply_scale_to_residue(residue.data(), bin_size, out.bin_counts.data(), bounds[p], bounds[p + 1],
                             buffers[p].data(), out.scale);
    });
  }
  out.entries.reserve(entries);
  for (const auto& buffer : buffers) out.entries.insert(out.entries.end(), buffer.data(), buffer.data() + buffer.size());
  return out;
}

void validate(const SparseTernary& sparse, const std::string& context) {
  const std::uint32_t T = sparse.bin_size;
  if (T < 1 || T > kMaxBinSize) fail_input(context + ": bin size " + std::to_string(T) + " is outside 1..16384");
  if (sparse.bin_counts.size() != sparse.bin_count())
    fail_input(context + ": " + std::to_string(sparse.bin_counts.size()) + " bin headers for " +
               std::to_string(sparse.bin_count()) + " bins");
  if (!std::isfinite(sparse.scale) || sparse.scale < 0.0f)
    fail_input(context + ": scale is negative or not finite");
  if ((sparse.scale == 0.0f) != sparse.entries.empty())
    fail_input(context + ": scale " + std::to_string(sparse.scale) + " with " +
               std::to_string(sparse.entries.size()) + " entries (the scale is 0 exactly when there are none)");
  std::size_t e = 0;
  for (std::size_t bin = 0; bin < sparse.bin_counts.size(); ++bin) {
    const std::uint64_t begin = static_cast<std::uint64_t>(bin) * T;
    const std::uint64_t length = std::min<std::uint64_t>(T, sparse.element_count - begin);
    const std::uint16_t count = sparse.bin_counts[bin];
    if (count > length)
      fail_input(context + ": bin " + std::to_string(bin) + " declares " + std::to_string(count) +
                 " entries but holds " + std::to_string(length) + " elements");
    if (sparse.entries.size() - e < count)
      fail_input(context + ": bin headers declare more entries than the frame holds");
    int previous = -1;
    for (std::uint16_t c = 0; c < count; ++c, ++e) {
      const std::uint16_t entry = sparse.entries[e];
      const int offset = entry >> 2;
      const unsigned code = entry & 3u;
      if (code != kCodePositive && code != kCodeNegative)
        fail_input(context + ": entry " + std::to_string(e) + " (bin " + std::to_string(bin) +
                   ") has reserved ternary code " + std::to_string(code));
      if (static_cast<std::uint64_t>(offset) >= length)
        fail_input(context + ": entry " + std::to_string(e) + " offset " + std::to_string(offset) +
                   " is beyond bin " + std::to_string(bin) + " of " + std::to_string(length) + " elements");
      if (offset <= previous)
        fail_input(context + ": entry " + std::to_string(e) + " offset " + std::to_string(offset) +
                   " in bin " + std::to_string(bin) + " is not above the previous offset " +
                   std::to_string(previous));
      previous = offset;
    }
  }
  if (e != sparse.entries.size())
    fail_input(context + ": " + std::to_string(sparse.entries.size()) + " entries but bin headers sum to " +
               std::to_string(e));
}

void decompress(const SparseTernary& sparse, std::span<float> out, const std::string& context, unsigned threads) {
  validate(sparse, context);
  if (out.size() != sparse.element_count)
    fail_input(context + ": output has " + std::to_string(out.size()) + " elements, frame " +
               std::to_string(sparse.element_count));
  const std::size_t bins = sparse.bin_counts.size();
  const std::size_t parts = thread_parts(out.size(), threads);
  // Each part zero-fills its elements and scatters its bins' entries.
  auto run_part = [&](std::size_t p) {
    const std::size_t first = bins * p / parts, last = bins * (p + 1) / parts;
    std::size_t e = 0;
    for (std::size_t bin = 0; bin < first; ++bin) e += sparse.bin_counts[bin];
    const std::size_t begin = first * sparse.bin_size;
    const std::size_t end = std::min<std::size_t>(out.size(), last * static_cast<std::size_t>(sparse.bin_size));
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(begin), out.begin() + static_cast<std::ptrdiff_t>(end), 0.0f);
    for (std::size_t bin = first; bin < last; ++bin) {
      float* base = out.data() + bin * static_cast<std::size_t>(sparse.bin_size);
      for (std::uint16_t c = 0; c < sparse.bin_counts[bin]; ++c, ++e) {
        const std::uint16_t entry = sparse.entries[e];
        base[entry >> 2] = (entry & 3u) == kCodePositive ? sparse.scale : -sparse.scale;
      }
    }
  };
  run_parts(parts, run_part);
}

}  // namespace adacomp
