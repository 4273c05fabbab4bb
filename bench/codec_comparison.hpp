#pragma once
// Speed of the comparison codecs (`adacomp bench --codec`): each codec's encoder and decoder on
// one learner's tensors, as the replay runs them, median of several fresh runs.
#include <cstdint>
#include <string>
#include <vector>

#include "adacomp/codecs.hpp"
#include "adacomp/encoder.hpp"
#include "adacomp/tensor.hpp"

namespace adacomp {

struct CodecBenchResult {
  std::string codec;  // the full spec
  std::uint64_t elements = 0, payload_bytes = 0;
  double ratio = 0;                               // float32 bytes over payload bytes
  double encode_seconds = 0, decode_seconds = 0;  // medians over the tensors together
  double encode_ns_per_element = 0, decode_ns_per_element = 0;
};

// For each spec: `repetitions` runs, each with fresh state: one untimed step (so that error
// feedback, residues and warm starts hold something), then a timed step of every tensor
// (encode: the payload from the gradient and state; decode: the tensor from the payload; for
// all-reduce-round codecs every round's send and receive, one learner, and its finish as decode).
// "adacomp" runs through the wire format with `settings` (a residue map, the whole stream).
std::vector<CodecBenchResult> run_codec_bench(const std::vector<codecs::CodecSpec>& specs,
                                              const std::vector<Tensor>& tensors, const EncodeSettings& settings,
                                              unsigned repetitions);

}  // namespace adacomp
