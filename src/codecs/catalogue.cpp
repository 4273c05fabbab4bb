// The comparison codecs' catalogue, their specs (`name[:key=value,...]`) and constructors.
#include <cmath>
#include <functional>

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

struct Entry {
  CodecInfo info;
  Factory make;  // empty for adacomp, which the replay runs through the wire format itself
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> list = {
      {{"adacomp",
        "this project's codec through the real wire format; its options are the replay's own (--bin-size, "
        "--scale-factor, --entries, --zstd, --exclude, --layout)",
        "Chen et al., AAAI 2018; format_spec/wire_format.md",
        {}},
       {}},
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

std::unique_ptr<TensorCodec> make_tensor_codec(const CodecSpec& spec, const std::string& tensor_name,
                                               const std::vector<std::uint64_t>& shape) {
  const Entry& e = entry_named(spec.name);
  if (!e.make) fail_usage("codec " + spec.name + " runs through the wire format, not as a comparison codec");
  std::uint64_t n = 1;
  for (auto d : shape) n *= d;
  if (n > UINT32_MAX)
    fail_input("tensor '" + tensor_name + "': above 2^32 elements, which the payloads' u32 indices cannot name");
  return e.make(spec, tensor_name, shape, static_cast<std::size_t>(n));
}

}  // namespace adacomp::codecs
