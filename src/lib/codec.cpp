#include "adacomp/codec.hpp"

#include <cmath>
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

SparseTernary compress(std::span<const float> gradient, std::span<float> residue,
                       std::uint32_t bin_size, float scale_factor, const std::string& tensor_name) {
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
  out.bin_counts.resize(out.bin_count());

  // Spec: the tensor sum is the bin-order sum of per-bin double sums, so that any split of the
  // bins over threads gives the same bits.
  double selected_sum = 0.0;
  for (std::size_t bin = 0, begin = 0; begin < n; ++bin, begin += bin_size) {
    const std::size_t end = std::min<std::size_t>(n, begin + bin_size);
    float gmax = 0.0f;
    bool finite = true;
    for (std::size_t i = begin; i < end; ++i) {
      const float G = residue[i] + gradient[i];
      const float H = residue[i] + scale_factor * gradient[i];
      finite &= std::isfinite(G);
      finite &= std::isfinite(H);
      gmax = std::max(gmax, std::fabs(G));
    }
    if (!finite) fail_first_non_finite(gradient, residue, begin, scale_factor, tensor_name);
    double bin_sum = 0.0;
    std::uint16_t count = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const float r = residue[i];
      const float g = gradient[i];
      const float G = r + g;
      const float H = r + scale_factor * g;
      residue[i] = G;
      if (std::fabs(H) >= gmax && G != 0.0f) {
        const auto offset = static_cast<std::uint16_t>(i - begin);
        out.entries.push_back(static_cast<std::uint16_t>((offset << 2) | (G > 0.0f ? kCodePositive : kCodeNegative)));
        bin_sum += std::fabs(G);
        ++count;
      }
    }
    out.bin_counts[bin] = count;
    selected_sum += bin_sum;
  }

  if (!out.entries.empty()) {
    out.scale = static_cast<float>(selected_sum / static_cast<double>(out.entries.size()));
    // Sparse residue update: only the selected elements change from G to G - sign * scale.
    std::size_t e = 0;
    for (std::size_t bin = 0; bin < out.bin_counts.size(); ++bin) {
      const std::size_t begin = bin * bin_size;
      for (std::uint16_t c = 0; c < out.bin_counts[bin]; ++c, ++e) {
        const std::uint16_t entry = out.entries[e];
        float& r = residue[begin + (entry >> 2)];
        r = (entry & 3u) == kCodePositive ? r - out.scale : r + out.scale;
      }
    }
  }
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

void decompress(const SparseTernary& sparse, std::span<float> out, const std::string& context) {
  validate(sparse, context);
  if (out.size() != sparse.element_count)
    fail_input(context + ": output has " + std::to_string(out.size()) + " elements, frame " +
               std::to_string(sparse.element_count));
  std::fill(out.begin(), out.end(), 0.0f);
  std::size_t e = 0;
  for (std::size_t bin = 0; bin < sparse.bin_counts.size(); ++bin) {
    float* base = out.data() + bin * static_cast<std::size_t>(sparse.bin_size);
    for (std::uint16_t c = 0; c < sparse.bin_counts[bin]; ++c, ++e) {
      const std::uint16_t entry = sparse.entries[e];
      base[entry >> 2] = (entry & 3u) == kCodePositive ? sparse.scale : -sparse.scale;
    }
  }
}

}  // namespace adacomp
