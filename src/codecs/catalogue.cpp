// The comparison codecs' catalogue, their specs (`name[:key=value,...]`) and constructors.
#include <cmath>
#include <functional>
#include <optional>

#include "adacomp/codecs.hpp"
#include "adacomp/error.hpp"
#include "codecs/factories.hpp"

namespace adacomp::codecs {

namespace {

const Parameter kRatio{"ratio", "0.01", "fraction of the elements sent: k = max(1, floor(n * ratio)), 0 < ratio <= 1"};
const Parameter kErrorFeedback{"ef", "1", "error feedback: 1 keeps memory = p - decoded and compresses p = memory + g"};
const Parameter kNoErrorFeedback{"ef", "0", kErrorFeedback.help};

using Factory = std::function<std::unique_ptr<TensorCodec>(const CodecSpec&, const std::string&,
                                                           const std::vector<std::uint64_t>&, std::size_t)>;
using RoundFactory = std::function<std::unique_ptr<RoundCodec>(const CodecSpec&, const std::string&,
                                                               const std::vector<std::uint64_t>&, std::size_t)>;

struct Entry {
  CodecInfo info;
  Factory make;                   // empty for adacomp, which the replay runs through the wire format itself
  RoundFactory make_rounds = {};  // for Aggregation::rounds, instead of `make`
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"adacomp",
        "this project's codec through the real wire format; its options are the replay's own (--bin-size, "
        "--scale-factor, --entries, --zstd, --exclude, --layout)",
        "Chen et al., AAAI 2018; format_spec/wire_format.md",
        {}},
       {}},
      {{"adacomp-hipress",
        "AdaComp as HiPress does it: per bin of T the max |G|; |H| >= it sent as sign(G) v, v the mean of the bin "
        "maxima; payload i32 size + f32 v + i32 index per element sent + 1 sign bit each",
        "mark14wu/hipress-mxnet, src/operator/contrib/ada_comp-inl.h",
        {{"T", "64", "bin size, 32 to 1024 (the reference's range)"}}},
       detail::make_hipress},
      {{"adacomp-gradcomp",
        "AdaComp as GradComp does it: one max |G| over the tensor (no bins), |H| >= it sent with H, H = G + c g; "
        "payload f32 value + i64 index per element sent",
        "maysarahammouda/GradComp, compressor/adacomp.py",
        {{"c", "3", "compensation constant of H = G + c g, a number >= 0"}}},
       detail::make_gradcomp},
      {{"topk",
        "the k largest |p| with their exact values; payload u32 index + f32 value per element sent",
        "Aji & Heafield 2017; GRACE and BytePS top-k",
        {kRatio, kErrorFeedback}},
       detail::make_topk},
      {{"randomk",
        "k indices drawn without replacement from a seed shared by the learners; payload the f32 values only",
        "GRACE random-k",
        {kRatio, kErrorFeedback}},
       detail::make_randomk},
      {{"efsignsgd",
        "delta = (||p||_1 / n) sign(p) with error feedback; payload f32 scale + 1 bit per element",
        "Karimireddy et al. 2019; GRACE efsignsgd",
        {kErrorFeedback}},
       detail::make_efsignsgd},
      {{"onebit",
        "per column of [shape0, -1]: 1 bit (v >= 0) decoded to the column's mean of the negatives or of the "
        "non-negatives; payload 2 f32 per column + 1 bit per element",
        "Seide et al. 2014; CNTK ColumnQuantizer",
        {kErrorFeedback}},
       detail::make_onebit},
      {{"terngrad",
        "s = max |g| per tensor; each element sign(g) s with probability |g| / s, else 0 (unbiased); payload f32 s "
        "+ 2 bits per element",
        "Wen et al. 2017; wenwei202/terngrad",
        {kNoErrorFeedback}},
       detail::make_terngrad},
      {{"natural",
        "unbiased stochastic rounding of each element to a signed power of two; payload 9 bits per element (sign "
        "+ binary32 exponent)",
        "Horvath et al. 2019, natural compression",
        {kNoErrorFeedback}},
       detail::make_natural},
      {{"qsgd",
        "per bucket the norm, per element a level 0..s drawn for an unbiased sign * norm * level / s; payload f32 "
        "norm per bucket + Elias gamma codes of the levels and sign bits",
        "Alistarh et al. 2017",
        {{"levels", "4", "quantization levels s, 1 to 65535"},
         {"bucket", "512", "elements per bucket, 1 to 2^24"},
         kNoErrorFeedback}},
       detail::make_qsgd},
      {{"sbc",
        "the k most positive and k most negative of p; the side of larger mean magnitude sent as its mean; "
        "payload u32 count + f32 mean + Golomb-coded position gaps",
        "Sattler et al. 2019, sparse binary compression",
        {kRatio, kErrorFeedback}},
       detail::make_sbc},
      {{"dgc",
        "deep gradient compression: momentum correction, a sampled threshold for the k = ceil(n ratio) largest, "
        "momentum factor masking, rank >= 2 tensors only (the others f32); payload f32 value + i32 index per "
        "element sent. The replay's SGD runs the compressed tensors without momentum: DGC applies it",
        "Lin et al., ICLR 2018; synxlin/deep-gradient-compression",
        {{"ratio", "0.001", "fraction of the elements sent: k = ceil(n * ratio), 0 < ratio <= 1"},
         {"momentum", "replay", "momentum of the correction, from 0 up to 1; 'replay': the replay's --momentum"},
         {"warmup", "0", "warm-up steps of exponentially falling ratio (the reference's warm-up epochs)"}}},
       detail::make_dgc},
      {{"powersgd",
        "rank-r power iteration with error feedback and warm start: P = M Q all-reduced and orthogonalized, then "
        "Q = M^T P all-reduced; tensors of rank <= 1 sent as f32; payload f32 P, then f32 Q",
        "Vogels et al., NeurIPS 2019; epfml/powersgd RankKReducer",
        {{"rank", "2", "rank r of the approximation, 1 to 1024"}},
        Aggregation::rounds},
       {},
       detail::make_powersgd},
      {{"threelc",
        "3-value quantization round(p / (M s)), five ternaries per byte, runs of zero bytes as one byte; payload f32 "
        "M s + bytes",
        "Lim et al., SysML 2019 (3LC)",
        {{"s", "1.0", "sparsity multiplier, from 1 up to 2: larger sends more zeros"}, kErrorFeedback}},
       detail::make_threelc},
      {{"fp8",
        "cast to FP8 with a per-tensor scale (max |p| to the largest finite), round to nearest even; payload f32 "
        "scale + 1 byte per element",
        "Sun et al., NeurIPS 2019 (hybrid FP8); OCP 8-bit floating point",
        {{"format", "e5m2", "e5m2 or e4m3 (OCP)"}, kNoErrorFeedback}},
       detail::make_fp8},
      {{"fp4",
        "radix-4 FP4 without mantissa (sign + 3-bit exponent) with a per-tensor power-of-two scale; payload f32 "
        "scale + 4 bits per element",
        "Sun et al., NeurIPS 2020 (4-bit training)",
        {kNoErrorFeedback}},
       detail::make_fp4},
      {{"gennorm-huffman",
        "lossless-stage study: p on a uniform grid of `bits` bits, Huffman-coded with a code built from a GenNorm "
        "fit (moment matching; payload f32 step + f32 beta + f32 alpha + codes) or from the histogram (payload f32 "
        "step + one code length per symbol + codes)",
        "Chen et al. 2021, DNN gradient lossless compression: can GenNorm be the answer?",
        {{"bits", "8", "grid bits, 2 to 12: levels -(2^(bits-1) - 1) .. 2^(bits-1) - 1"},
         {"table", "gennorm", "gennorm or empirical: the model the Huffman code is built from"},
         kNoErrorFeedback}},
       detail::make_gennorm_huffman},
      {{"signsgd",
        "the sign of each element (0 as +1), aggregated by majority vote; payload 1 bit per element. The vote "
        "(+-1) is applied with the replay's learning rate, which signSGD would choose apart",
        "Bernstein et al. 2018, signSGD with majority vote",
        {},
        Aggregation::majority_vote},
       detail::make_signsgd},
  };
  return list;
}

const Entry& entry_named(const std::string& name) {
  for (const Entry& e : entries())
    if (e.info.name == name) return e;
  std::string names;
  for (const Entry& e : entries()) names += (names.empty() ? "" : ", ") + e.info.name;
  fail_usage("--codec " + name + ": no such codec (codecs: " + names + "; `adacomp codecs` lists them)");
}

std::optional<double> number_of(const std::string& value) {
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(value, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != value.size() || !std::isfinite(number)) return std::nullopt;
  return number;
}

bool integer_in(const std::string& value, unsigned long long low, unsigned long long high) {
  std::size_t used = 0;
  unsigned long long number = 0;
  try {
    number = std::stoull(value, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == value.size() && !value.empty() && value[0] != '-' && value[0] != '+' && number >= low &&
         number <= high;
}

void check_value(const std::string& codec, const std::string& key, const std::string& value) {
  const std::string what = "--codec " + codec + ": " + key + "=" + value;
  if (key == "ratio") {
    std::size_t used = 0;
    double ratio = 0;
    try {
      ratio = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != value.size() || !(ratio > 0 && ratio <= 1)) fail_usage(what + ": the ratio must be a number in (0, 1]");
  } else if (key == "levels" || key == "bucket") {
    const unsigned long long limit = key == "levels" ? 65535 : (1u << 24);
    std::size_t used = 0;
    unsigned long long number = 0;
    try {
      number = std::stoull(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != value.size() || value[0] == '-' || number < 1 || number > limit)
      fail_usage(what + ": must be an integer from 1 to " + std::to_string(limit));
  } else if (key == "ef") {
    if (value != "0" && value != "1") fail_usage(what + ": must be 0 or 1");
  } else if (key == "format") {
    if (value != "e5m2" && value != "e4m3") fail_usage(what + ": must be e5m2 or e4m3");
  } else if (key == "table") {
    if (value != "gennorm" && value != "empirical") fail_usage(what + ": must be gennorm or empirical");
  } else if (key == "T" || key == "rank" || key == "bits" || key == "warmup") {
    const unsigned long long low = key == "T" ? 32 : key == "bits" ? 2 : key == "warmup" ? 0 : 1;
    const unsigned long long high = key == "T" ? 1024 : key == "bits" ? 12 : key == "warmup" ? 1000000 : 1024;
    if (!integer_in(value, low, high))
      fail_usage(what + ": must be an integer from " + std::to_string(low) + " to " + std::to_string(high));
  } else if (key == "c" || key == "s" || key == "momentum") {
    if (key == "momentum" && value == "replay") return;
    const std::optional<double> number = number_of(value);
    const bool ok = number && (key == "c"   ? *number >= 0 && *number <= 1e6
                               : key == "s" ? *number >= 1 && *number < 2
                                            : *number >= 0 && *number < 1);
    if (!ok)
      fail_usage(what + (key == "c"   ? ": must be a number from 0 to 1e6"
                         : key == "s" ? ": must be a number from 1 up to (not including) 2"
                                      : ": must be 'replay' or a number from 0 up to (not including) 1"));
  }
}

}  // namespace

const std::vector<CodecInfo>& catalogue() {
  static const std::vector<CodecInfo> list = [] {
    std::vector<CodecInfo> out;
    for (const Entry& e : entries()) out.push_back(e.info);
    return out;
  }();
  return list;
}

const CodecInfo& codec_info(const std::string& name) { return entry_named(name).info; }

float aggregate(Aggregation aggregation, double sum, std::size_t learners) {
  if (aggregation == Aggregation::majority_vote) return sum > 0 ? 1.0f : (sum < 0 ? -1.0f : 0.0f);
  return static_cast<float>(sum / static_cast<double>(learners));
}

std::string CodecSpec::text() const {
  std::string out = name;
  const CodecInfo& info = entry_named(name).info;
  for (std::size_t i = 0; i < info.parameters.size(); ++i)
    out += (i ? "," : ":") + info.parameters[i].name + "=" + values.at(info.parameters[i].name);
  return out;
}

CodecSpec parse_spec(std::string_view text) {
  CodecSpec spec;
  const std::size_t colon = text.find(':');
  spec.name = std::string(text.substr(0, colon));
  const CodecInfo& info = entry_named(spec.name).info;
  for (const Parameter& p : info.parameters) spec.values[p.name] = p.default_value;
  if (colon == std::string_view::npos) return spec;
  std::string_view rest = text.substr(colon + 1);
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string item(rest.substr(0, comma));
    const std::size_t equals = item.find('=');
    if (equals == std::string::npos || equals == 0)
      fail_usage("--codec " + std::string(text) + ": '" + item + "' is not key=value");
    const std::string key = item.substr(0, equals), value = item.substr(equals + 1);
    if (!spec.values.count(key)) {
      std::string keys;
      for (const Parameter& p : info.parameters) keys += (keys.empty() ? "" : ", ") + p.name;
      fail_usage("--codec " + spec.name + ": no parameter '" + key + "' (" +
                 (keys.empty() ? std::string("it has none") : "parameters: " + keys) + ")");
    }
    check_value(spec.name, key, value);
    spec.values[key] = value;
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return spec;
}

namespace {

std::size_t element_count(const std::string& tensor_name, const std::vector<std::uint64_t>& shape) {
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  if (n > INT32_MAX)
    fail_input("tensor '" + tensor_name + "': above 2^31 - 1 elements, which the payloads' i32 indices cannot name");
  return static_cast<std::size_t>(n);
}

}  // namespace

std::unique_ptr<TensorCodec> make_tensor_codec(const CodecSpec& spec, const std::string& tensor_name,
                                               const std::vector<std::uint64_t>& shape) {
  const Entry& e = entry_named(spec.name);
  if (e.make_rounds) fail_usage("codec " + spec.name + " exchanges in all-reduce rounds: make_round_codec");
  if (!e.make) fail_usage("codec " + spec.name + " runs through the wire format, not as a comparison codec");
  return e.make(spec, tensor_name, shape, element_count(tensor_name, shape));
}

std::unique_ptr<RoundCodec> make_round_codec(const CodecSpec& spec, const std::string& tensor_name,
                                             const std::vector<std::uint64_t>& shape) {
  const Entry& e = entry_named(spec.name);
  if (!e.make_rounds) fail_usage("codec " + spec.name + " has no all-reduce rounds: make_tensor_codec");
  return e.make_rounds(spec, tensor_name, shape, element_count(tensor_name, shape));
}

std::vector<CodecSpec> default_codec_set() {
  std::vector<CodecSpec> out;
  for (const Entry& e : entries()) {
    out.push_back(parse_spec(e.info.name));
    if (e.info.name == "fp8") out.push_back(parse_spec("fp8:format=e4m3"));
    if (e.info.name == "gennorm-huffman") out.push_back(parse_spec("gennorm-huffman:table=empirical"));
  }
  return out;
}

std::vector<CodecSpec> parse_specs(const std::vector<std::string>& texts) {
  std::vector<CodecSpec> out;
  for (const std::string& text : texts) {
    if (text == "all")
      for (CodecSpec& spec : default_codec_set()) out.push_back(std::move(spec));
    else
      out.push_back(parse_spec(text));
  }
  return out;
}

}  // namespace adacomp::codecs
