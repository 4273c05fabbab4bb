#include "replay/ranks.hpp"

#include <sys/resource.h>
#include <xxhash.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "replay/timing.hpp"

namespace adacomp::replay_detail {

namespace {

class Packer {
 public:
  template <typename T>
  void put(T value) {
    const std::size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &value, sizeof(T));
  }
  void put_bytes(std::span<const std::byte> data) {
    put<std::uint64_t>(data.size());
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  std::vector<std::byte> bytes;
};

// Reads what a Packer wrote; the ranks are one program, so a short message is a bug.
class Unpacker {
 public:
  explicit Unpacker(std::span<const std::byte> bytes) : bytes_(bytes) {}
  template <typename T>
  T get() {
    need(sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }
  std::span<const std::byte> get_bytes() {
    const auto size = get<std::uint64_t>();
    need(size);
    const auto out = bytes_.subspan(at_, size);
    at_ += size;
    return out;
  }

 private:
  void need(std::size_t size) const {
    if (bytes_.size() - at_ < size)
      throw Error(ErrorKind::internal, "a message between the ranks is shorter than its sender wrote it");
  }
  std::span<const std::byte> bytes_;
  std::size_t at_ = 0;
};

std::span<const std::byte> bytes_of_text(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

}  // namespace

LearnerBlock learner_block(std::size_t learners, std::size_t ranks, std::size_t rank) {
  return {learners * rank / ranks, learners * (rank + 1) / ranks};
}

std::vector<std::byte> layout_bytes(const std::vector<Tensor>& layout) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const Tensor& t : layout)
    tensors.push_back({{"name", t.name}, {"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape()}});
  const std::string text = tensors.dump();
  const auto bytes = bytes_of_text(text);
  return {bytes.begin(), bytes.end()};
}

std::vector<Tensor> layout_from_bytes(std::span<const std::byte> bytes) {
  const auto tensors = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  std::vector<Tensor> layout;
  for (const auto& t : tensors) {
    const auto dtype = dtype_from_name(t.at("dtype").get<std::string>());
    if (!dtype) throw Error(ErrorKind::internal, "rank 0 sent a layout with an unknown dtype");
    layout.push_back(
        make_tensor(t.at("name").get<std::string>(), *dtype, t.at("shape").get<std::vector<std::uint64_t>>()));
  }
  return layout;
}

void share_learners(Collective& world, const std::vector<LearnerBlock>& blocks, const ReplayOptions& options,
                    std::uint64_t step, std::vector<LearnerOutput>& outputs, double& exchange_seconds,
                    double& decode_seconds) {
  const LearnerBlock own = blocks[world.rank()];
  Packer packer;
  for (std::size_t l = own.first; l < own.last; ++l) {
    LearnerOutput& out = outputs[l];
    packer.put_bytes(out.stream);
    packer.put<std::uint64_t>(out.residue_l2.size());
    for (double r : out.residue_l2) packer.put(r);
    packer.put(out.read);
    packer.put(out.encode);
    packer.put(out.decode);
    out.stream = {};
  }
  auto start = Clock::now();
  const auto messages = world.all_gather(packer.bytes);
  exchange_seconds += seconds_since(start);
  start = Clock::now();
  for (std::size_t r = 0; r < messages.size(); ++r) {
    if (r == world.rank()) continue;
    Unpacker in(messages[r]);
    for (std::size_t l = blocks[r].first; l < blocks[r].last; ++l) {
      LearnerOutput& out = outputs[l];
      const auto stream = in.get_bytes();
      out.stream_bytes = stream.size();
      decode_stream(stream,
                    "step " + std::to_string(step) + " learner " + std::to_string(l) + " (stream from rank " +
                        std::to_string(r) + ")",
                    options, out.decoded, &out.frames);
      out.residue_l2.resize(in.get<std::uint64_t>());
      for (double& v : out.residue_l2) v = in.get<double>();
      out.read = in.get<double>();
      out.encode = in.get<double>();
      out.decode = in.get<double>();
    }
  }
  decode_seconds += seconds_since(start);
}

std::vector<RankFigures> gather_rank_figures(Collective& world, const RankFigures& mine) {
  Packer packer;
  for (double v : {mine.read, mine.encode, mine.exchange, mine.decode, mine.average, mine.update, mine.wall})
    packer.put(v);
  packer.put<std::uint64_t>(mine.peak_rss_bytes);
  packer.put<std::uint64_t>(mine.learners);
  std::vector<RankFigures> out;
  for (const auto& message : world.all_gather(packer.bytes)) {
    Unpacker in(message);
    RankFigures f;
    for (double* v : {&f.read, &f.encode, &f.exchange, &f.decode, &f.average, &f.update, &f.wall})
      *v = in.get<double>();
    f.peak_rss_bytes = in.get<std::uint64_t>();
    f.learners = in.get<std::uint64_t>();
    out.push_back(f);
  }
  return out;
}

void check_weights_agree(Collective& world, const std::vector<Tensor>& weights, const std::string& when) {
  if (world.size() < 2) return;
  Packer packer;
  for (const Tensor& w : weights) {
    const auto values = w.flat();
    packer.put<std::uint64_t>(XXH64(values.data(), values.size() * sizeof(float), 0));
  }
  const auto hashes = world.all_gather(packer.bytes);
  for (std::size_t t = 0; t < weights.size(); ++t)
    for (std::size_t r = 1; r < hashes.size(); ++r)
      if (std::memcmp(hashes[r].data() + 8 * t, hashes[0].data() + 8 * t, 8) != 0)
        throw Error(ErrorKind::internal, "ranks 0 and " + std::to_string(r) + " disagree on the weights of tensor '" +
                                             weights[t].name + "' " + when);
}

std::uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // kilobytes on Linux
}

}  // namespace adacomp::replay_detail
