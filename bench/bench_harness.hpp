#pragma once
// Speed of the codec against what the hardware allows, as `adacomp bench` reports it: each
// operation is timed next to a reference loop with the same memory traffic, in the same run.
#include <cstdint>
#include <string>
#include <vector>

#include "adacomp/codec.hpp"
#include "adacomp/wire.hpp"

namespace adacomp {

struct BenchOptions {
  std::vector<float> gradient;  // the values to encode
  std::vector<float> residue;   // prior residue (same length)
  std::vector<std::uint32_t> bin_sizes{50, 500};
  std::vector<unsigned> threads{1, 2};
  unsigned repetitions = 5;
  std::vector<int> zstd_levels{1, 3};
  float scale_factor = 2.0f;
  wire::EntryLayout entries = wire::EntryLayout::coded;  // how encode writes and decode reads the frame
};

struct BenchResult {
  std::string op;  // "encode" or "decode"
  std::uint32_t bin_size = 0;
  unsigned threads = 1;
  std::uint64_t elements = 0;
  double seconds = 0, reference_seconds = 0;  // medians
  double gbps = 0, reference_gbps = 0;        // GB/s of float32 input
  double fraction = 0;                        // gbps / reference_gbps
  double elements_per_second = 0;
  std::uint64_t entries = 0;
  double density = 0;
  std::string entry_layout;       // "coded" or "fixed"
  std::uint64_t frame_bytes = 0;  // the encoded frame on the wire
  double entry_bound_ratio = 0;   // entry bits / (log2 C(n, k) + k)
  // encode only: compress() on a plain residue, which it corrects in a second pass; "encode"
  // itself is a step on a kept Residue (residue.hpp), whose correction the next step applies.
  double one_shot_seconds = 0, one_shot_fraction = 0;
  // encode only: threads each encoding a tensor of their own, the tensor cut into as many equal
  // runs of whole bins, each stepped on one thread with a residue of its own, all at once (the
  // step itself on one thread); and its speed-up over the one-thread step (0 without one).
  double tensor_split_seconds = 0, tensor_split_speedup = 0;
  // The same op and bin size's one-thread median time over this one's, both from the same
  // interleaved rounds; 0 when the run has no one-thread measurement.
  double speedup = 0;
  // What the machine allows this thread count, from the same rounds (0 likewise):
  // reference_speedup, the reference loop's one-thread time over its time on these threads (how
  // the memory traffic scales); speedup_bound, the op's one-thread time over the reference's time
  // on these threads (the speed-up if the op ran as fast as its reference on them).
  double reference_speedup = 0, speedup_bound = 0;
};

struct ZstdBenchResult {
  int level = 0;
  double ratio = 0, compress_gbps = 0, decompress_gbps = 0;
};

struct BenchReport {
  std::vector<BenchResult> results;
  std::vector<ZstdBenchResult> zstd;
};

// Synthetic gradients: Laplace(0, scale) or generalized normal of shape beta (beta = 1: Laplace,
// 2: normal, < 1: heavier tails), seeded.
std::vector<float> synthetic_gradient(std::uint64_t elements, const std::string& distribution, double beta,
                                      double scale, std::uint64_t seed);

BenchReport run_bench(const BenchOptions& options);

// The decode reference's input: the element index and decoded value of every entry, so that the
// reference loop is a plain scatter (elements below 2^32).
struct ScatterList {
  std::vector<std::uint32_t> indices;
  std::vector<float> values;
};
ScatterList scatter_list(const SparseTernary& sparse);

}  // namespace adacomp
