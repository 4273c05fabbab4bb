#pragma once
// The learners' side of a replay step (replay-internal): each learner's gradients read and
// checked, compressed with its own residue into the real wire stream, and decoded back.
#include <cstdint>
#include <exception>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "adacomp/codec.hpp"
#include "adacomp/encoder.hpp"
#include "adacomp/replay.hpp"
#include "adacomp/tensor.hpp"
#include "adacomp/wire.hpp"

namespace adacomp::replay_detail {

namespace fs = std::filesystem;

// One tensor of a learner's stream as the receiving side decodes it: the entries of a compressed
// frame stay sparse (the average scatters them), a passthrough frame's values are dense.
struct DecodedTensor {
  bool compressed = false;
  SparseTernary sparse;  // compressed frames
  Tensor dense;          // passthrough frames
};

// What one learner produces in one step.
struct LearnerOutput {
  std::vector<Tensor> gradients;
  std::vector<DecodedTensor> decoded;
  std::vector<wire::FrameInfo> frames;
  std::vector<double> residue_l2;             // per tensor after the step; 0 for a tensor without a residue
  std::vector<PrecisionStepStats> precision;  // per tensor: the residue what-if's figures, when on
  std::uint64_t stream_bytes = 0;
  std::vector<std::byte> stream;  // the wire stream itself, when StepExchange::keep_streams
  double read = 0, encode = 0, decode = 0;
  std::exception_ptr error;
};

// What every learner of a step shares.
struct StepExchange {
  const std::vector<fs::path>* learner_files = nullptr;  // index = learner
  std::uint64_t step = 0;
  bool compress = true;                         // false: a warm-up step, every tensor passthrough
  const std::vector<Tensor>* layout = nullptr;  // null: this learner's file defines the layout
  fs::path layout_file;
  bool keep_streams = false;  // keep each learner's stream in its output (to send it to other ranks)
};

// Learners [first, last) of a step into outputs[first, last), on up to `threads` of the
// library's pooled threads (learner l's residues are residues[l], and with a residue format its
// float32 shadows shadows[l]); a learner's failure is left in its output's `error`.
void exchange_learners(const StepExchange& step, std::size_t first, std::size_t last, unsigned threads,
                       std::vector<ResidueMap>& residues, std::vector<ResidueMap>& shadows,
                       const ReplayOptions& options, std::vector<LearnerOutput>& outputs);

// --save-stream's file of a learner's stream of a step, and its writing (directories made).
fs::path stream_file(const ReplayOptions& options, std::uint64_t step, std::size_t learner);
void write_stream_file(const fs::path& path, std::span<const std::byte> bytes);

// The tensors of a wire stream as the receiving side decodes them, appended to `decoded`, and
// its frames' figures to `frames` (when not null); `name` names the stream in errors.
void decode_stream(std::span<const std::byte> stream, const std::string& name, const ReplayOptions& options,
                   std::vector<DecodedTensor>& decoded, std::vector<wire::FrameInfo>* frames);

}  // namespace adacomp::replay_detail
