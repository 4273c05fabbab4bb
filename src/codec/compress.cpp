// Compression of one tensor: argument checks, the split over threads and chunks, the tensor
// scale, and the residue correction, made in a second pass over a plain residue or left pending
// in a kept Residue (residue.hpp). The per-bin work is the kernel's (select_kernel.hpp).
#include <algorithm>
#include <bit>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>

#include "adacomp/codec.hpp"
#include "adacomp/error.hpp"
#include "adacomp/residue.hpp"
#include "codec/kernels/correct_kernel.hpp"
#include "codec/kernels/select_kernel.hpp"
#include "codec_detail.hpp"
#include "common/parallel_parts.hpp"
#include "step_buffers.hpp"

namespace adacomp {

namespace {

struct Job {
  std::span<const float> gradient;
  std::span<float> residue;  // empty: a zero residue, not kept
  std::uint32_t bin_size = 1;
  float scale_factor = 2.0f;
  const std::string* tensor_name = nullptr;
  // With a residue: the selection bits written (detail::selection_words), and the pending
  // correction read, if any (SelectArgs).
  std::uint64_t* selection = nullptr;
  const std::uint64_t* pending = nullptr;
  float pending_scale = 0.0f;

  // r of element i as the kernels read it, the pending correction applied unless it already is.
  float residue_at(std::size_t i, std::size_t pending_applied_end) const {
    if (residue.empty()) return 0.0f;
    return detail::with_pending(residue[i], i >= pending_applied_end ? pending : nullptr, pending_scale, i);
  }
};

// The first non-finite element of the kernel's bad bin or after it (the bins before were checked
// finite), in index order, so that errors always name the same index.
[[noreturn]] void fail_first_non_finite(const Job& job, const detail::SelectResult& result) {
  for (std::size_t i = result.bad_bin * job.bin_size; i < job.gradient.size(); ++i) {
    const float g = job.gradient[i];
    const float r = job.residue_at(i, result.pending_applied_end);
    const float k = job.scale_factor;
    const std::string where = "tensor '" + *job.tensor_name + "' element " + std::to_string(i);
    if (!std::isfinite(g)) fail_input(where + ": gradient value is " + (std::isnan(g) ? "NaN" : "infinite"));
    if (!std::isfinite(r)) fail_input(where + ": residue value is " + (std::isnan(r) ? "NaN" : "infinite"));
    if (!std::isfinite(r + g)) fail_input(where + ": residue + gradient overflows float32");
    if (!std::isfinite(r + k * g)) fail_input(where + ": residue + scale_factor * gradient overflows float32");
  }
  fail_input("tensor '" + *job.tensor_name + "': non-finite value");  // unreachable by construction
}

void check_residue_size(std::size_t residue_size, std::size_t gradient_size, const std::string& tensor_name) {
  if (residue_size != gradient_size)
    fail_input("tensor '" + tensor_name + "': residue has " + std::to_string(residue_size) + " elements, gradient " +
               std::to_string(gradient_size));
}

void check_parameters(std::uint32_t bin_size, float scale_factor, const std::string& tensor_name) {
  if (bin_size < 1 || bin_size > kMaxBinSize)
    fail_usage("tensor '" + tensor_name + "': bin size " + std::to_string(bin_size) + " is outside 1.." +
               std::to_string(kMaxBinSize));
  if (!(scale_factor >= kMinScaleFactor && scale_factor <= kMaxScaleFactor))
    fail_usage("tensor '" + tensor_name + "': scale factor must be between 1 and 4");
}

// Entries to make room for in `elements`, from `found` entries in the first `sampled`: a margin
// over the sample's density (a denser remainder still grows the buffer).
std::size_t expected_entries(std::size_t found, std::size_t sampled, std::size_t elements) {
  const double density = static_cast<double>(found) / static_cast<double>(sampled);
  return static_cast<std::size_t>(density * static_cast<double>(elements) * 1.125);
}

// Bins [first_bin, last_bin): counts written (indexed from first_bin), entries appended, sums
// folded or kept, residue (if any) at G. Throws on the first non-finite value in index order.
void compress_bins(const Job& job, std::size_t first_bin, std::size_t last_bin, std::uint16_t* counts,
                   detail::Part& part) {
  // Chunks of 16 Ki elements keep the entries' scratch buffer (32 KiB) in cache.
  constexpr std::size_t kChunkElements = std::size_t{1} << 14;
  const std::size_t bins_per_chunk = std::max<std::size_t>(1, kChunkElements / job.bin_size);
  std::vector<std::uint32_t> scratch(detail::scratch_words(job.bin_size));
  std::vector<double> chunk_sums;
  if (part.folds_sums) chunk_sums.resize(bins_per_chunk);
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
    args.entries = part.entries.chunk((args.last_bin - chunk) * job.bin_size);
    args.scratch = scratch.data();
    args.selection = job.selection;
    args.pending = job.pending;
    args.pending_scale = job.pending_scale;
    const detail::SelectResult result = detail::select_bins(args);
    if (result.bad_bin != args.last_bin) fail_first_non_finite(job, result);
    if (chunk == first_bin && result.entries)
      part.entries.expect(
          expected_entries(result.entries, (args.last_bin - chunk) * job.bin_size, part.expected_elements) +
          kChunkElements);
    part.entries.append_chunk(result.entries);
    if (part.folds_sums)
      for (std::size_t b = 0; b < args.last_bin - chunk; ++b) part.folded_sum += chunk_sums[b];
  }
}

// Jobs of a parallel run: bins [first_bin(j), first_bin(j + 1)) of about kJobElements elements,
// starting on multiples of 64 elements so that each writes whole words of the selection bits.
struct JobSplit {
  static constexpr std::size_t kJobElements = std::size_t{1} << 17;
  std::size_t bins, job_bins, jobs;
  JobSplit(std::size_t bin_count, std::uint32_t bin_size) : bins(bin_count) {
    const std::size_t unit = 64 / std::gcd<std::size_t>(bin_size, 64);  // the fewest bins ending on a multiple of 64
    job_bins = std::max<std::size_t>(1, kJobElements / bin_size / unit) * unit;
    jobs = (bins + job_bins - 1) / job_bins;
  }
  std::size_t first_bin(std::size_t j) const { return std::min(bins, j * job_bins); }
};

// A tensor encoded by several threads, in jobs (detail::run_jobs): a core slowed by a neighbour
// does fewer of them, where fixed halves left one thread idle (README, "Performance"). Committed
// in job order,
// each job's bin sums are folded into the tensor sum and its entries appended to the result: the
// additions of one thread, in the same order.
class ParallelRun {
 public:
  ParallelRun(const Job& job, detail::StepBuffers& buffers, SparseTernary& out)
      : job_(job), split_(out.bin_count(), job.bin_size), buffers_(buffers), out_(out), parts_(split_.jobs) {
    for (auto& part : buffers_.job_parts) free_.push_back(part.get());
    out_.entries.clear();  // its memory is reused
  }

  void run(std::size_t threads) {
    detail::run_jobs(
        split_.jobs, threads, [this](std::size_t j) { do_job(j); }, [this](std::size_t j) { commit(j); });
    if (!out_.entries.empty()) out_.scale = static_cast<float>(total_ / static_cast<double>(out_.entries.size()));
  }

 private:
  void do_job(std::size_t j) {
    detail::Part& part = acquire();
    const std::size_t first = split_.first_bin(j), last = split_.first_bin(j + 1);
    part.folds_sums = false;
    part.bin_sums.resize(last - first);
    part.entries.clear();
    part.expected_elements = (last - first) * job_.bin_size;
    try {
      compress_bins(job_, first, last, out_.bin_counts.data() + first, part);
    } catch (...) {
      release(part);
      throw;
    }
    parts_[j] = &part;
  }

  void commit(std::size_t j) {
    detail::Part& part = *parts_[j];
    for (double s : part.bin_sums) total_ += s;
    if (j == 0 && part.entries.size()) {
      const std::size_t expected = expected_entries(part.entries.size(), part.expected_elements, job_.gradient.size());
      if (expected > out_.entries.capacity()) out_.entries.reserve(expected);
    }
    out_.entries.insert(out_.entries.end(), part.entries.data(), part.entries.data() + part.entries.size());
    release(part);
  }

  detail::Part& acquire() {
    const std::lock_guard lock(pool_mutex_);
    if (free_.empty()) {
      buffers_.job_parts.push_back(std::make_unique<detail::Part>());
      return *buffers_.job_parts.back();
    }
    detail::Part* part = free_.back();
    free_.pop_back();
    return *part;
  }

  void release(detail::Part& part) {
    const std::lock_guard lock(pool_mutex_);
    free_.push_back(&part);
  }

  const Job& job_;
  const JobSplit split_;
  detail::StepBuffers& buffers_;
  SparseTernary& out_;
  std::vector<detail::Part*> parts_;  // of each done job, until committed
  double total_ = 0.0;                // of the committed jobs' bin sums
  std::mutex pool_mutex_;             // guards free_ and buffers_.job_parts
  std::vector<detail::Part*> free_;
};

// The selection, the sums and the scale into `out`, whose memory is reused, as is that of
// `buffers`; the residue, if any, left at G (the correction is the caller's, with the bits at
// job.selection). Returns the number of threads used.
std::size_t run(const Job& job, unsigned threads, detail::StepBuffers& buffers, SparseTernary& out) {
  const std::size_t n = job.gradient.size();
  out.element_count = n;
  out.bin_size = job.bin_size;
  out.scale = 0.0f;
  out.bin_counts.resize(out.bin_count());  // the kernels write every count

  const std::size_t workers = detail::thread_parts(n, threads);
  if (workers > 1) {
    ParallelRun(job, buffers, out).run(workers);
    return workers;
  }
  // One thread: the result's own memory collects the entries, and the sums are folded as they come.
  detail::Part& whole = buffers.whole;
  whole.folds_sums = true;
  whole.folded_sum = 0.0;
  whole.bin_sums.clear();
  whole.expected_elements = n;
  whole.entries.adopt(std::move(out.entries));
  compress_bins(job, 0, out.bin_count(), out.bin_counts.data(), whole);
  out.entries = whole.entries.take();
  if (!out.entries.empty()) out.scale = static_cast<float>(whole.folded_sum / static_cast<double>(out.entries.size()));
  return 1;
}

// A bit array for the selection of `elements`. Not cleared, as the kernels write every word
// they reach, except the words past the last element's, which their 8-byte reads may load.
std::vector<std::uint64_t>& size_selection(std::vector<std::uint64_t>& words, std::size_t elements) {
  const std::size_t size = detail::selection_words(elements);
  if (words.size() != size) words.resize(size);
  words[size - 2] = words[size - 1] = 0;
  return words;
}

}  // namespace

SparseTernary compress(std::span<const float> gradient, std::span<float> residue, std::uint32_t bin_size,
                       float scale_factor, const std::string& tensor_name, unsigned threads) {
  check_parameters(bin_size, scale_factor, tensor_name);
  check_residue_size(residue.size(), gradient.size(), tensor_name);
  std::unique_ptr<std::uint64_t[]> selection(new std::uint64_t[detail::selection_words(residue.size())]);
  Job job{gradient, residue, bin_size, scale_factor, &tensor_name};
  job.selection = selection.get();
  detail::StepBuffers buffers;
  SparseTernary out;
  const std::size_t threads_used = run(job, threads, buffers, out);
  // The correction, a second pass over the residue: G - sign(G) * scale at the selected.
  if (!out.entries.empty()) {
    const JobSplit split(out.bin_count(), bin_size);
    detail::run_jobs(
        split.jobs, threads_used,
        [&](std::size_t j) {
          const std::size_t begin = split.first_bin(j) * bin_size;
          const std::size_t end = std::min(split.first_bin(j + 1) * bin_size, residue.size());
          detail::correct_residue(residue.data() + begin, selection.get() + begin / 64, end - begin, out.scale);
        },
        [](std::size_t) {});
  }
  return out;
}

const SparseTernary& Residue::step(std::span<const float> gradient, std::uint32_t bin_size, float scale_factor,
                                   const std::string& tensor_name, unsigned threads) {
  check_parameters(bin_size, scale_factor, tensor_name);
  check_residue_size(size(), gradient.size(), tensor_name);
  Job job{gradient, stored_.flat(), bin_size, scale_factor, &tensor_name};
  job.selection = size_selection(next_bits_, gradient.size()).data();
  if (pending_) {
    job.pending = pending_bits_.data();
    job.pending_scale = pending_scale_;
  }
  if (!buffers_) buffers_ = std::make_unique<detail::StepBuffers>();
  run(job, threads, *buffers_, last_);
  // The residue is now G everywhere; its correction waits for the next step or values().
  std::swap(pending_bits_, next_bits_);
  pending_scale_ = last_.scale;
  pending_ = !last_.entries.empty();
  return last_;
}

SparseTernary compress_fresh(std::span<const float> gradient, std::uint32_t bin_size, float scale_factor,
                             const std::string& tensor_name, unsigned threads) {
  check_parameters(bin_size, scale_factor, tensor_name);
  detail::StepBuffers buffers;
  SparseTernary out;
  run(Job{gradient, {}, bin_size, scale_factor, &tensor_name}, threads, buffers, out);
  return out;
}

}  // namespace adacomp
