// Compression of one tensor: argument checks, the split over threads and chunks, the tensor
// scale, and the sparse residue update. The per-bin work is the kernel's (select_kernel.hpp).
#include <algorithm>
#include <bit>
#include <cmath>
#include <exception>
#include <memory>
#include <string>

#include "adacomp/codec.hpp"
#include "adacomp/error.hpp"
#include "codec_detail.hpp"
#include "correct_kernel.hpp"
#include "parallel_parts.hpp"
#include "select_kernel.hpp"

namespace adacomp {

namespace {

// The first non-finite element from `begin` (the bins before it were checked finite), in index
// order, so that errors always name the same index. `residue` empty: a zero residue.
[[noreturn]] void fail_first_non_finite(std::span<const float> gradient, std::span<const float> residue,
                                        std::size_t begin, float scale_factor, const std::string& tensor_name) {
  for (std::size_t i = begin; i < gradient.size(); ++i) {
    const float g = gradient[i];
    const float r = residue.empty() ? 0.0f : residue[i];
    const std::string where = "tensor '" + tensor_name + "' element " + std::to_string(i);
    if (!std::isfinite(g)) fail_input(where + ": gradient value is " + (std::isnan(g) ? "NaN" : "infinite"));
    if (!std::isfinite(r)) fail_input(where + ": residue value is " + (std::isnan(r) ? "NaN" : "infinite"));
    if (!std::isfinite(r + g)) fail_input(where + ": residue + gradient overflows float32");
    if (!std::isfinite(r + scale_factor * g))
      fail_input(where + ": residue + scale_factor * gradient overflows float32");
  }
  fail_input("tensor '" + tensor_name + "': non-finite value");  // unreachable by construction
}

void check_parameters(std::uint32_t bin_size, float scale_factor, const std::string& tensor_name) {
  if (bin_size < 1 || bin_size > kMaxBinSize)
    fail_usage("tensor '" + tensor_name + "': bin size " + std::to_string(bin_size) + " is outside 1.." +
               std::to_string(kMaxBinSize));
  if (!(scale_factor >= kMinScaleFactor && scale_factor <= kMaxScaleFactor))
    fail_usage("tensor '" + tensor_name + "': scale factor must be between 1 and 4");
}

// residue[x] -= sign * scale at the entries of bins [first_bin, last_bin), the first of them
// being entry `e`: the residue becomes G - decoded. The reference loop's correction; the SIMD
// kernels mark the selected elements for correct_residue instead.
void apply_correction(std::span<float> residue, const SparseTernary& sparse, std::size_t first_bin,
                      std::size_t last_bin, std::size_t e) {
  const std::size_t T = sparse.bin_size;
  for (std::size_t bin = first_bin; bin < last_bin; ++bin) {
    float* r = residue.data() + bin * T;
    for (std::uint16_t c = 0; c < sparse.bin_counts[bin]; ++c, ++e) {
      // x + (-s) is x - s exactly (IEEE 754 defines subtraction so); the sign is flipped with
      // bits rather than a branch, as codes are as unpredictable as gradient signs.
      const std::uint16_t entry = sparse.entries[e];
      const std::uint32_t negate = static_cast<std::uint32_t>((entry & 3u) == kCodePositive) << 31;
      r[entry >> 2] += std::bit_cast<float>(std::bit_cast<std::uint32_t>(sparse.scale) ^ negate);
    }
  }
}

// Entries of a run of bins, in a vector that becomes the result's (no copy for the first part).
// The kernels write whole vectors past the last entry, so room is reserved per chunk with slack.
// Page faults on fresh memory cost as much as the selection itself on a 16M-element tensor, so
// the buffer is sized once from the density of the first chunk instead of growing by copies.
class EntryBuffer {
 public:
  void reserve(std::size_t more) {
    if (size_ + more <= data_.size()) return;
    if (size_ + more > data_.capacity()) data_.reserve(std::max(2 * data_.capacity(), size_ + more));
    data_.resize(size_ + more);
  }
  void expect(std::size_t total) {
    if (total > data_.capacity()) data_.reserve(total);
  }
  std::uint16_t* tail() { return data_.data() + size_; }
  void advance(std::size_t count) { size_ += count; }
  std::size_t size() const { return size_; }
  const std::uint16_t* data() const { return data_.data(); }
  std::vector<std::uint16_t> take() {
    data_.resize(size_);
    return std::move(data_);
  }

 private:
  std::vector<std::uint16_t> data_;
  std::size_t size_ = 0;
};

struct Job {
  std::span<const float> gradient;
  std::span<float> residue;  // empty: a zero residue, not kept
  std::uint32_t bin_size = 1;
  float scale_factor = 2.0f;
  const std::string* tensor_name = nullptr;
};

// What one thread's run of bins produces besides the counts.
struct Part {
  EntryBuffer entries;
  // The tensor sum adds the per-bin sums in bin order (spec). The first part adds its own as it
  // goes; the others keep theirs for the fold after the parts before them.
  bool folds_sums = false;
  double folded_sum = 0.0;
  std::vector<double> bin_sums;  // sized by the caller's thread, whose allocator memory is reused
  // Elements whose entries the buffer should expect room for: the first part's buffer becomes the
  // result, so it expects the whole tensor's and the other parts' are appended without a copy.
  std::size_t expected_elements = 0;
  // With a residue: one bit per element of the part, set where selected, if the kernel marks them.
  std::unique_ptr<std::uint64_t[]> selection;
  bool selection_written = false;
};

// Bins [first_bin, last_bin): counts written (indexed from first_bin), entries appended, sums
// folded or kept, residue (if any) at G. Throws on the first non-finite value in index order.
void compress_bins(const Job& job, std::size_t first_bin, std::size_t last_bin, std::uint16_t* counts, Part& part) {
  // Chunks of 16 Ki elements bound the entry room reserved ahead of the kernel.
  constexpr std::size_t kChunkElements = std::size_t{1} << 14;
  const std::size_t bins_per_chunk = std::max<std::size_t>(1, kChunkElements / job.bin_size);
  std::vector<std::uint32_t> scratch(detail::scratch_words(job.bin_size));
  std::vector<double> chunk_sums;
  if (part.folds_sums) chunk_sums.resize(bins_per_chunk);
  const std::size_t part_begin = first_bin * job.bin_size;
  if (!job.residue.empty()) {
    const std::size_t part_elements = std::min(last_bin * job.bin_size, job.gradient.size()) - part_begin;
    // Not cleared: the kernel writes every word it reaches.
    part.selection.reset(new std::uint64_t[part_elements / 64 + 1]);
  }
  part.selection_written = part.selection != nullptr;
  for (std::size_t chunk = first_bin; chunk < last_bin; chunk += bins_per_chunk) {
    detail::SelectArgs args;
    args.gradient = job.gradient.data();
    args.residue = job.residue.empty() ? nullptr : job.residue.data();
    args.element_count = job.gradient.size();
    args.bin_size = job.bin_size;
    args.scale_factor = job.scale_factor;
    args.first_bin = chunk;
    args.last_bin = std::min(last_bin, chunk + bins_per_chunk);
    args.counts = counts + (chunk - first_bin);
    args.sums = part.folds_sums ? chunk_sums.data() : part.bin_sums.data() + (chunk - first_bin);
    part.entries.reserve((args.last_bin - chunk) * job.bin_size + detail::kEntrySlack);
    args.entries = part.entries.tail();
    args.scratch = scratch.data();
    args.selection = part.selection.get();
    args.selection_origin = part_begin;
    const detail::SelectResult result = detail::select_bins(args);
    part.selection_written = part.selection_written && result.selection_written;
    part.entries.advance(result.entries);
    if (result.bad_bin != args.last_bin)
      fail_first_non_finite(job.gradient, job.residue, result.bad_bin * job.bin_size, job.scale_factor,
                            *job.tensor_name);
    if (part.folds_sums)
      for (std::size_t b = 0; b < args.last_bin - chunk; ++b) part.folded_sum += chunk_sums[b];
    if (chunk == first_bin && result.entries) {
      // A margin over the first chunk's density; a denser tail still grows the buffer.
      const double density = static_cast<double>(result.entries) / static_cast<double>((args.last_bin - chunk) * job.bin_size);
      const double elements = static_cast<double>(part.expected_elements);
      part.entries.expect(static_cast<std::size_t>(density * elements * 1.125) + kChunkElements + detail::kEntrySlack);
    }
  }
}

SparseTernary run(const Job& job, unsigned threads) {
  const std::size_t n = job.gradient.size();
  SparseTernary out;
  out.element_count = n;
  out.bin_size = job.bin_size;
  const std::size_t bins = out.bin_count();
  out.bin_counts.resize(bins);

  const std::size_t parts = detail::thread_parts(n, threads);
  std::vector<Part> results(parts);
  results[0].folds_sums = true;
  results[0].expected_elements = n;
  for (std::size_t p = 1; p < parts; ++p) {
    const std::size_t first = bins * p / parts, last = bins * (p + 1) / parts;
    results[p].bin_sums.resize(last - first);
    results[p].expected_elements = (last - first) * job.bin_size;
  }
  std::vector<std::exception_ptr> errors(parts);
  detail::run_parts(parts, [&](std::size_t p) {
    try {
      const std::size_t first = bins * p / parts;
      compress_bins(job, first, bins * (p + 1) / parts, out.bin_counts.data() + first, results[p]);
    } catch (...) {
      errors[p] = std::current_exception();
    }
  });
  for (const auto& error : errors)  // the lowest part holds the first bad index
    if (error) std::rethrow_exception(error);

  double total = results[0].folded_sum;
  for (std::size_t p = 1; p < parts; ++p)
    for (double s : results[p].bin_sums) total += s;
  std::size_t entries = 0;
  for (const Part& part : results) entries += part.entries.size();
  if (entries) out.scale = static_cast<float>(total / static_cast<double>(entries));
  out.entries = results[0].entries.take();
  out.entries.reserve(entries);
  for (std::size_t p = 1; p < parts; ++p)
    out.entries.insert(out.entries.end(), results[p].entries.data(), results[p].entries.data() + results[p].entries.size());

  // The residue update changes only the selected elements: G - sign * scale.
  if (!job.residue.empty() && entries)
    detail::run_parts(parts, [&](std::size_t p) {
      const std::size_t first = bins * p / parts, last = bins * (p + 1) / parts;
      if (results[p].selection_written) {
        const std::size_t begin = first * job.bin_size, end = std::min(last * job.bin_size, n);
        detail::correct_residue(job.residue.data() + begin, results[p].selection.get(), end - begin, out.scale);
      } else {
        apply_correction(job.residue, out, first, last, detail::first_entry_of(out, first));
      }
    });
  return out;
}

}  // namespace

SparseTernary compress(std::span<const float> gradient, std::span<float> residue, std::uint32_t bin_size,
                       float scale_factor, const std::string& tensor_name, unsigned threads) {
  check_parameters(bin_size, scale_factor, tensor_name);
  if (gradient.size() != residue.size())
    fail_input("tensor '" + tensor_name + "': residue has " + std::to_string(residue.size()) +
               " elements, gradient " + std::to_string(gradient.size()));
  return run(Job{gradient, residue, bin_size, scale_factor, &tensor_name}, threads);
}

SparseTernary compress_fresh(std::span<const float> gradient, std::uint32_t bin_size, float scale_factor,
                             const std::string& tensor_name, unsigned threads) {
  check_parameters(bin_size, scale_factor, tensor_name);
  return run(Job{gradient, {}, bin_size, scale_factor, &tensor_name}, threads);
}

}  // namespace adacomp
