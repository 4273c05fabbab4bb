#include "replay/exchange.hpp"

#include <algorithm>
#include <fstream>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "common/parallel_parts.hpp"
#include "replay/dump.hpp"
#include "replay/precision.hpp"
#include "replay/timing.hpp"

namespace adacomp::replay_detail {

void write_stream_file(const fs::path& path, std::span<const std::byte> bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) fail_io(path.string() + ": write error");
}

fs::path stream_file(const ReplayOptions& options, std::uint64_t step, std::size_t learner) {
  return fs::path(options.stream_dir) / step_name(step) / ("learner-" + std::to_string(learner) + ".adc");
}

namespace {

// Read, check, encode to wire bytes and decode them back: the learner's side of the exchange.
void run_learner(const StepExchange& step, std::size_t learner, ResidueMap& residues, ResidueMap& shadow,
                 const ReplayOptions& options, LearnerOutput& out) {
  const fs::path& file = (*step.learner_files)[learner];
  try {
    auto start = Clock::now();
    out.gradients = read_gradients(file);
    if (step.layout) check_layout(out.gradients, file, *step.layout, step.layout_file);
    out.read = seconds_since(start);

    start = Clock::now();
    EncodeSettings settings = options.settings;
    if (!step.compress) settings.exclude = {"*"};
    // The what-if's figures are not part of the exchange: outside its timed phases.
    const bool residue_what_if = options.precision.residue_active() && step.compress;
    if (residue_what_if) add_swamping(out.gradients, residues, options.precision, settings, out.precision);
    start = Clock::now();
    std::vector<std::byte> stream;
    try {
      out.frames = encode_stream(out.gradients, residues, settings, stream);
    } catch (const Error& e) {
      throw Error(e.kind(), file.string() + ": " + e.what());
    }
    out.stream_bytes = stream.size();
    out.encode = seconds_since(start);
    if (residue_what_if)
      round_residues(out.gradients, out.frames, residues, shadow, options, learner, step.step, out.precision);
    // A report figure, not part of the exchange: computed here so that it runs on the learner's
    // thread, and timed in none of the exchange's phases.
    for (const Tensor& gradient : out.gradients) {
      const auto it = residues.find(gradient.name);
      out.residue_l2.push_back(it == residues.end() ? 0.0 : it->second.l2_norm());
    }
    if (!options.stream_dir.empty()) write_stream_file(stream_file(options, step.step, learner), stream);

    start = Clock::now();
    decode_stream(stream, file.string() + " (exchanged stream)", options, out.decoded, nullptr);
    out.decode = seconds_since(start);
    if (step.keep_streams) out.stream = std::move(stream);
  } catch (...) {
    out.error = std::current_exception();
  }
}

}  // namespace

void decode_stream(std::span<const std::byte> stream, const std::string& name, const ReplayOptions& options,
                   std::vector<DecodedTensor>& decoded, std::vector<wire::FrameInfo>* frames) {
  MemoryInput input(stream, name);
  wire::StreamReader reader(input);
  reader.set_agreed_layout(options.settings.layout);
  while (auto frame = reader.next()) {
    DecodedTensor& tensor = decoded.emplace_back();
    tensor.compressed = frame->info.kind == wire::FrameKind::compressed;
    if (tensor.compressed)
      tensor.sparse = wire::sparse_from_frame(*frame, input.name());
    else
      tensor.dense = wire::decode_frame(*frame, input.name());
    if (frames) frames->push_back(frame->info);
  }
}

void exchange_learners(const StepExchange& step, std::size_t first, std::size_t last, unsigned threads,
                       std::vector<ResidueMap>& residues, std::vector<ResidueMap>& shadows,
                       const ReplayOptions& options, std::vector<LearnerOutput>& outputs) {
  if (first >= last) return;
  const std::size_t parts = std::max<std::size_t>(1, std::min<std::size_t>(threads, last - first));
  // run_learner keeps its failures in the output, so no part throws. Learners share nothing but
  // the options, so which thread runs which learner does not change a bit of the results.
  detail::run_parts(parts, [&](std::size_t part) {
    for (std::size_t l = first + part; l < last; l += parts)
      run_learner(step, l, residues[l], shadows[l], options, outputs[l]);
  });
}

}  // namespace adacomp::replay_detail
