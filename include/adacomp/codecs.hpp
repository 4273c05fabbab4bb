#pragma once
// The published gradient-compression methods as comparison codecs (format_spec/codecs.md): each
// turns one learner's tensor, with that learner's state (an error-feedback memory, ...), into the
// real payload bytes of its reference implementation, and any learner's payload back into a
// tensor. `adacomp replay --codec` runs them side by side with AdaComp on the same dump. Their
// payloads are comparison formats, not part of the adacomp wire format.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace adacomp::codecs {

// A tensor's step as a codec sees it: stochastic codecs draw from `seed`, shared by all learners
// where the method shares its randomness (random-k), else with the learner's own draws.
struct StepContext {
  std::uint64_t step = 0;
  std::uint64_t seed = 0;
  std::size_t tensor = 0;   // the tensor's index in the model
  std::size_t learner = 0;  // the learner encoding (decoders do not depend on it)
};

// One learner's codec for one tensor, with its state.
class TensorCodec {
 public:
  virtual ~TensorCodec() = default;
  // The payload for this step's gradient (float32, C order); the state moves on to the next step.
  // Throws Error(invalid_input) on a non-finite gradient element.
  virtual std::vector<std::byte> encode(std::span<const float> gradient, const StepContext& step) = 0;
  // The tensor any learner's payload of this tensor and step stands for, into `out` (the tensor's
  // element count). Throws Error(invalid_input) naming what is wrong for a payload that this
  // codec's encoder cannot have written.
  virtual void decode(std::span<const std::byte> payload, const StepContext& step, std::span<float> out) const = 0;
  // True where the codec applies the optimizer's momentum itself (DGC's momentum correction): the
  // replay's SGD then updates this tensor without momentum.
  virtual bool corrects_momentum() const { return false; }
};

// One learner's codec for one tensor whose exchange is a sequence of all-reduce rounds (PowerSGD:
// P, then Q). In each round every learner sends a payload of f32 values, the receivers sum them
// in float64 in learner order, and every learner goes on from that sum.
class RoundCodec {
 public:
  virtual ~RoundCodec() = default;
  virtual std::size_t rounds() const = 0;                       // 1 or more, fixed for the tensor
  virtual std::size_t round_size(std::size_t round) const = 0;  // f32 values a round's payload holds
  // Round `round`'s payload from this step's gradient and, past round 0, the previous round's sum.
  // Throws Error(invalid_input) on a non-finite gradient element.
  virtual std::vector<std::byte> send(std::size_t round, std::span<const float> gradient,
                                      std::span<const double> previous_sum, const StepContext& step) = 0;
  // The values of any learner's payload of that round, into `values` (round_size of them); throws
  // Error(invalid_input) naming what is wrong for a payload no encoder can have written.
  virtual void receive(std::size_t round, std::span<const std::byte> payload, std::span<float> values) const = 0;
  // The update (the tensor's element count) from the last round's sum over `learners`; the
  // learner's state (error feedback, warm start) moves on to the next step.
  virtual void finish(std::span<const double> last_sum, std::size_t learners, std::span<float> out) = 0;
};

struct Parameter {
  std::string name, default_value, help;
};

// A codec of the catalogue: what `adacomp codecs` lists.
// How the learners' decoded tensors of a step become the update.
enum class Aggregation {
  mean,           // the mean over the learners, summed in float64 in learner order
  majority_vote,  // sign of the sum: +1, -1, or 0 on a tie (signSGD with majority vote)
  rounds,         // the codec's own all-reduce rounds (a RoundCodec): make_round_codec
};

// One element of the update from the float64 sum (in learner order) of the learners' decoded values.
float aggregate(Aggregation aggregation, double sum, std::size_t learners);

struct CodecInfo {
  std::string name, summary, source;
  std::vector<Parameter> parameters;
  Aggregation aggregation = Aggregation::mean;
};

const std::vector<CodecInfo>& catalogue();
const CodecInfo& codec_info(const std::string& name);  // Error(usage) for an unknown name

// A codec with its parameters: `name[:key=value,...]`, every parameter present (defaults filled in).
struct CodecSpec {
  std::string name;
  std::map<std::string, std::string> values;
  std::string text() const;  // name:key=value,... in the catalogue's parameter order
};

// Throws Error(usage) naming the codec or parameter for an unknown name, key or a bad value.
CodecSpec parse_spec(std::string_view text);

// What `--codec all` runs: every codec of the catalogue with its defaults, and the variants that
// answer the methods' own questions (fp8:format=e4m3, gennorm-huffman:table=empirical).
std::vector<CodecSpec> default_codec_set();

// Specs as `--codec` takes them, in order, "all" standing for default_codec_set().
std::vector<CodecSpec> parse_specs(const std::vector<std::string>& texts);

// A fresh learner's codec (zero state) for a tensor of `shape` (C order);
// `tensor_name` only serves error messages.
// Error(usage) for a codec of Aggregation::rounds.
std::unique_ptr<TensorCodec> make_tensor_codec(const CodecSpec& spec, const std::string& tensor_name,
                                               const std::vector<std::uint64_t>& shape);
// The same for a codec of Aggregation::rounds (Error(usage) for the others).
std::unique_ptr<RoundCodec> make_round_codec(const CodecSpec& spec, const std::string& tensor_name,
                                             const std::vector<std::uint64_t>& shape);

}  // namespace adacomp::codecs
