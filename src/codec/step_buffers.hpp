#pragma once
// The encoder's working memory for one tensor (library-internal): per thread part, the entries
// and bin sums of its run of bins. A kept Residue holds one across steps, so that a training
// loop's steps reuse it: faulting in a fresh page costs as much as encoding its elements several
// times over (README, "Performance").
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "codec/kernels/select_kernel.hpp"

namespace adacomp::detail {

// Entries of a run of bins. The kernels write whole vectors past the last entry, so each chunk
// is selected into a small scratch buffer that stays in cache and its entries appended: growing
// the vector itself to make that room would zero-fill twice the tensor's size in bytes.
class EntryBuffer {
 public:
  // Room for a chunk of up to `entries` entries and the kernels' slack.
  std::uint16_t* chunk(std::size_t entries) {
    if (chunk_.size() < entries + kEntrySlack) chunk_.resize(entries + kEntrySlack);
    return chunk_.data();
  }
  // Appends the first `count` entries of the chunk.
  void append_chunk(std::size_t count) { data_.insert(data_.end(), chunk_.data(), chunk_.data() + count); }
  void expect(std::size_t total) {
    if (total > data_.capacity()) data_.reserve(total);
  }
  // Starts over in `storage` (emptied, its capacity kept).
  void adopt(std::vector<std::uint16_t>&& storage) {
    data_ = std::move(storage);
    data_.clear();
  }
  void clear() { data_.clear(); }
  std::size_t size() const { return data_.size(); }
  const std::uint16_t* data() const { return data_.data(); }
  std::vector<std::uint16_t> take() { return std::move(data_); }

 private:
  std::vector<std::uint16_t> data_;
  std::vector<std::uint16_t> chunk_;
};

// What one run of bins (the whole tensor, or one job of a parallel run) produces besides the
// counts.
struct Part {
  EntryBuffer entries;
  // The tensor sum adds the per-bin sums in bin order (spec). One thread adds its own as it goes;
  // a job keeps its own for the fold in job order (compress.cpp).
  bool folds_sums = false;
  double folded_sum = 0.0;
  std::vector<double> bin_sums;
  // Elements whose entries the buffer should expect room for: the one-thread run's buffer
  // becomes the result, so it expects the whole tensor's; a job's, its own.
  std::size_t expected_elements = 0;
};

struct StepBuffers {
  Part whole;  // one thread
  // A parallel run's, each reused by the jobs in turn (held by pointer: jobs keep theirs while
  // the vector grows).
  std::vector<std::unique_ptr<Part>> job_parts;
};

}  // namespace adacomp::detail
