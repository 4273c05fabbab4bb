#include "replay/network.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>

#include "adacomp/error.hpp"

namespace adacomp {

namespace {

// A non-negative number followed by one of `units` (name, factor); nullopt otherwise.
std::optional<double> with_unit(std::string_view text, std::initializer_list<std::pair<const char*, double>> units) {
  std::size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
    ++digits;
  if (digits == 0) return std::nullopt;
  const std::string number(text.substr(0, digits));
  std::string unit(text.substr(digits));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.size() > 2 && unit.compare(unit.size() - 2, 2, "/s") == 0) unit.resize(unit.size() - 2);
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(number, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != number.size() || !std::isfinite(value)) return std::nullopt;
  for (const auto& [name, factor] : units)
    if (unit == name) return value * factor;
  return std::nullopt;
}

}  // namespace

NetworkSetting parse_network(std::string_view text) {
  NetworkSetting setting;
  setting.text = std::string(text);
  const std::size_t comma = text.find(',');
  const auto bandwidth = with_unit(text.substr(0, comma), {{"kbit", 1e3 / 8},
                                                           {"mbit", 1e6 / 8},
                                                           {"gbit", 1e9 / 8},
                                                           {"tbit", 1e12 / 8},
                                                           {"kb", 1e3},
                                                           {"mb", 1e6},
                                                           {"gb", 1e9},
                                                           {"tb", 1e12}});
  if (!bandwidth || !(*bandwidth > 0))
    fail_usage("--network " + setting.text +
               ": the bandwidth must be a number above 0 with Kbit, Mbit, Gbit or Tbit (bits) or KB, MB, GB or TB "
               "(bytes) per second, e.g. 10Gbit");
  setting.bandwidth = *bandwidth;
  if (comma != std::string_view::npos) {
    const auto latency = with_unit(text.substr(comma + 1), {{"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1.0}});
    if (!latency)
      fail_usage("--network " + setting.text + ": the latency must be a number with ns, us, ms or s, e.g. 5us");
    setting.latency = *latency;
  }
  return setting;
}

}  // namespace adacomp

namespace adacomp::replay_detail {

NetworkInputs network_inputs(const ReplayResult& result) {
  NetworkInputs in;
  const std::size_t learners = result.learners;
  std::size_t steps = 0;
  in.tensors.resize(result.tensors.size());
  for (std::size_t t = 0; t < result.tensors.size(); ++t) {
    std::uint64_t n = 1;
    for (auto d : result.tensors[t].shape) n *= d;
    in.tensors[t].elements = n;
  }
  in.learner_bytes.assign(learners, 0.0);
  double encode = 0, decode = 0;
  for (const StepStats& step : result.steps) {
    if (step.warmup) continue;
    ++steps;
    for (std::size_t l = 0; l < learners && l < step.learner_stream_bytes.size(); ++l)
      in.learner_bytes[l] += static_cast<double>(step.learner_stream_bytes[l]);
    for (std::size_t t = 0; t < step.tensors.size(); ++t) {
      const TensorStepStats& ts = step.tensors[t];
      NetworkInputs::TensorInputs& ti = in.tensors[t];
      ti.compressed = ti.compressed || ts.compressed;
      if (ti.elements) ti.density += static_cast<double>(ts.entries) / static_cast<double>(ti.elements * learners);
      ti.update_nonzeros += static_cast<double>(ts.update_nonzeros);
    }
    encode += step.times.encode;
    decode += step.times.decode;
  }
  if (steps == 0) {
    in.learner_bytes.clear();
    return in;
  }
  const double count = static_cast<double>(steps);
  for (double& b : in.learner_bytes) b /= count;
  for (auto& ti : in.tensors) {
    ti.density /= count;
    ti.update_nonzeros /= count;
  }
  in.encode = encode / (count * static_cast<double>(learners));
  in.decode_per_stream = decode / (count * static_cast<double>(learners));
  return in;
}

NetworkProjection project_network(const NetworkSetting& setting, const NetworkInputs& in, std::size_t learners,
                                  bool measured) {
  NetworkProjection p;
  p.network = setting.text;
  p.bandwidth = setting.bandwidth;
  p.latency = setting.latency;
  p.learners = learners;
  p.measured = measured;
  const double w = static_cast<double>(learners), alpha = setting.latency, beta = 1.0 / setting.bandwidth;
  double total = 0, smallest = 0;
  if (measured) {
    total = std::accumulate(in.learner_bytes.begin(), in.learner_bytes.end(), 0.0);
    smallest = *std::min_element(in.learner_bytes.begin(), in.learner_bytes.end());
  } else {
    smallest = std::accumulate(in.learner_bytes.begin(), in.learner_bytes.end(), 0.0) /
               static_cast<double>(in.learner_bytes.size());
    total = w * smallest;
  }
  double model_bytes = 0, update = 0;
  for (const auto& t : in.tensors) {
    const double n = static_cast<double>(t.elements);
    model_bytes += 4 * n;
    if (!t.compressed) {
      update += 4 * n;
      continue;
    }
    const double nonzeros = measured ? t.update_nonzeros : n * (1 - std::pow(1 - t.density, w));
    update += std::min(8 * nonzeros, 4 * n);  // u32 index + f32 value each, or dense float32
  }
  p.payload_bytes = total;
  p.update_bytes = update;
  p.dense_allreduce = 2 * (w - 1) * alpha + 2 * (w - 1) / w * model_bytes * beta;
  p.ring_allgather = (w - 1) * alpha + (total - smallest) * beta;
  p.parameter_server = 2 * alpha + (total + w * update) * beta;
  p.encode = in.encode;
  p.decode = w * in.decode_per_stream;
  p.compressed_step = p.ring_allgather + p.encode + p.decode;
  p.speedup = p.compressed_step > 0 ? p.dense_allreduce / p.compressed_step : 0.0;
  // compressed_step < dense_allreduce  <=>  beta * saved > codec - (w - 1) alpha
  const double saved = 2 * (w - 1) / w * model_bytes - (total - smallest);
  const double cost = p.encode + p.decode - (w - 1) * alpha;
  if (saved > 0 && cost <= 0) {
    p.pays = "always";
  } else if (saved > 0) {
    p.pays = "below";
    p.breakeven_bandwidth = saved / cost;
  } else if (cost < 0) {
    p.pays = saved < 0 ? "above" : "always";
    if (saved < 0) p.breakeven_bandwidth = saved / cost;
  } else {
    p.pays = "never";
  }
  return p;
}

}  // namespace adacomp::replay_detail
