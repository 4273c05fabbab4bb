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

void merge_learner_files(Collective& world, Dump& dump, std::vector<std::vector<bool>>& local) {
  Packer packer;
  packer.put<std::uint8_t>(dump.init.has_value());
  packer.put<std::uint8_t>(dump.final.has_value());
  packer.put<std::uint8_t>(!dump.meta.is_null());
  packer.put<std::uint64_t>(dump.steps.size());
  for (const DumpStep& step : dump.steps) {
    packer.put<std::uint64_t>(step.number);
    packer.put<std::uint64_t>(step.learner_files.size());
    for (const fs::path& file : step.learner_files) {
      const std::string name = file.empty() ? std::string() : file.filename().string();
      packer.put_bytes(bytes_of_text(name));
    }
  }
  const auto parts = world.all_gather(packer.bytes);
  std::vector<std::vector<std::string>> names(dump.steps.size());  // [step][learner], "" if nobody has it
  local.assign(dump.steps.size(), {});
  // what a rank has, and the ranks without, of: init weights, final weights, meta.json
  const char* const whole[] = {"init.npz (or .safetensors)", "final.npz (or .safetensors)", "meta.json"};
  std::vector<std::string> lacking(3);
  std::vector<int> holders(3, 0);
  for (std::size_t r = 0; r < parts.size(); ++r) {
    Unpacker in(parts[r]);
    for (int k = 0; k < 3; ++k) {
      if (in.get<std::uint8_t>())
        ++holders[k];
      else
        lacking[k] += (lacking[k].empty() ? "" : ", ") + std::to_string(r);
    }
    if (in.get<std::uint64_t>() != dump.steps.size())
      fail_input(dump.steps.front().dir.parent_path().string() + ": rank " + std::to_string(r) +
                 " has other step directories than rank " + std::to_string(world.rank()));
    for (std::size_t s = 0; s < dump.steps.size(); ++s) {
      if (in.get<std::uint64_t>() != dump.steps[s].number)
        fail_input(dump.steps.front().dir.parent_path().string() + ": rank " + std::to_string(r) +
                   " has other step directories than rank " + std::to_string(world.rank()));
      const auto count = in.get<std::uint64_t>();
      if (names[s].size() < count) names[s].resize(count);
      for (std::size_t l = 0; l < count; ++l) {
        const auto bytes = in.get_bytes();
        const std::string name(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        if (r == world.rank()) {
          local[s].resize(count, false);
          local[s][l] = !name.empty();
        }
        if (name.empty()) continue;
        if (!names[s][l].empty() && names[s][l] != name)
          fail_input(dump.steps[s].dir.string() + ": learner " + std::to_string(l) + " is " + names[s][l] +
                     " on one rank and " + name + " on rank " + std::to_string(r));
        names[s][l] = name;
      }
    }
  }
  for (int k = 0; k < 3; ++k)
    if (holders[k] > 0 && !lacking[k].empty())
      fail_input(dump.steps.front().dir.parent_path().string() + ": " + whole[k] +
                 " is on some ranks but not on rank " + lacking[k]);
  for (std::size_t s = 0; s < dump.steps.size(); ++s) {
    DumpStep& step = dump.steps[s];
    if (names[s].empty()) fail_input(step.dir.string() + ": no learner-L.npz files on any rank");
    step.learner_files.clear();
    for (std::size_t l = 0; l < names[s].size(); ++l) {
      if (names[s][l].empty())
        fail_input(step.dir.string() + ": learner-" + std::to_string(l) + " is on no rank (learner-" +
                   std::to_string(names[s].size() - 1) + " exists)");
      step.learner_files.push_back(step.dir / names[s][l]);
    }
    local[s].resize(names[s].size(), false);
    if (step.learner_files.size() != dump.steps.front().learner_files.size())
      fail_input(step.dir.string() + ": " + std::to_string(step.learner_files.size()) + " learners, but " +
                 dump.steps.front().dir.filename().string() + " has " +
                 std::to_string(dump.steps.front().learner_files.size()));
  }
}

void check_own_files(const Dump& dump, const std::vector<std::vector<bool>>& local, const LearnerBlock& own,
                     std::size_t rank) {
  for (std::size_t s = 0; s < dump.steps.size(); ++s)
    for (std::size_t l = own.first; l < own.last; ++l)
      if (!local[s][l])
        fail_input(dump.steps[s].learner_files[l].string() + ": not on this rank's disk (rank " + std::to_string(rank) +
                   " replays learners " + std::to_string(own.first) + " to " + std::to_string(own.last - 1) + ")");
}

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
      if (!options.stream_dir.empty()) write_stream_file(stream_file(options, step, l), stream);  // rank 0's
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
