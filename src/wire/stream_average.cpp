#include "adacomp/stream_average.hpp"

#include <map>

#include "adacomp/error.hpp"

namespace adacomp {

void average_streams(std::span<const std::span<const std::byte>> streams, std::span<const AverageTarget> targets,
                     const std::string& source, const wire::Layout* layout) {
  if (streams.empty()) fail_usage(source + ": no learner's stream to average");
  std::map<std::string, std::size_t> index;
  std::vector<std::size_t> offsets;
  std::size_t total = 0;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    if (!index.emplace(targets[t].name, t).second)
      fail_usage(source + ": tensor '" + targets[t].name + "' is named twice in the average's outputs");
    offsets.push_back(total);
    total += targets[t].values.size();
  }
  std::vector<double> sum(total, 0.0);
  std::vector<float> dense;
  for (std::size_t learner = 0; learner < streams.size(); ++learner) {
    const std::string name = source + " of learner " + std::to_string(learner);
    MemoryInput input(streams[learner], name);
    wire::StreamReader reader(input);
    reader.set_agreed_layout(layout);
    std::vector<bool> seen(targets.size(), false);
    while (auto frame = reader.next()) {
      const wire::FrameInfo& info = frame->info;
      const auto it = index.find(info.name);
      if (it == index.end()) fail_input(info.describe(name) + ": no such tensor in the average");
      const std::size_t t = it->second;
      if (seen[t]) fail_input(info.describe(name) + ": the tensor's second frame in one stream");
      seen[t] = true;
      if (info.element_count != targets[t].values.size())
        fail_input(info.describe(name) + ": " + std::to_string(info.element_count) + " elements, the output has " +
                   std::to_string(targets[t].values.size()));
      double* out = sum.data() + offsets[t];
      if (info.kind == wire::FrameKind::compressed) {
        const SparseTernary sparse = wire::sparse_from_frame(*frame, name);
        const double plus = static_cast<double>(sparse.scale), minus = -plus;
        std::size_t entry = 0;
        for (std::size_t bin = 0; bin < sparse.bin_counts.size(); ++bin) {
          const std::size_t base = bin * sparse.bin_size;
          for (const std::size_t end = entry + sparse.bin_counts[bin]; entry < end; ++entry) {
            const std::uint16_t e = sparse.entries[entry];
            out[base + (e >> 2)] += (e & 2u) ? minus : plus;  // code 2: -scale
          }
        }
      } else {
        dense.resize(info.element_count);
        wire::decode_frame_into(*frame, dense, name);
        for (std::size_t i = 0; i < dense.size(); ++i) out[i] += dense[i];
      }
    }
    for (std::size_t t = 0; t < targets.size(); ++t)
      if (!seen[t]) fail_input(name + ": no frame of tensor '" + targets[t].name + "'");
  }
  // x / 2^k and x * 2^-k are the same value: replay multiplies for power-of-two learner counts.
  const double learners = static_cast<double>(streams.size());
  const bool exact_inverse = (streams.size() & (streams.size() - 1)) == 0;
  const double inverse = 1.0 / learners;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const double* s = sum.data() + offsets[t];
    float* out = targets[t].values.data();
    const std::size_t n = targets[t].values.size();
    if (exact_inverse)
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(s[i] * inverse);
    else
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(s[i] / learners);
  }
}

}  // namespace adacomp
