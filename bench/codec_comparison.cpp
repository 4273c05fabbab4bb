#include "codec_comparison.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

#include "adacomp/byte_io.hpp"
#include "adacomp/wire.hpp"

namespace adacomp {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

struct Timed {
  double encode = 0, decode = 0;
  std::uint64_t bytes = 0;
};

Timed adacomp_step(const std::vector<Tensor>& tensors, const EncodeSettings& settings, ResidueMap& residues,
                   bool timed) {
  Timed out;
  std::vector<std::byte> stream;
  auto start = Clock::now();
  encode_stream(tensors, residues, settings, stream);
  out.encode = since(start);
  out.bytes = stream.size();
  if (!timed) return out;
  start = Clock::now();
  MemoryInput input(stream, "bench stream");
  wire::StreamReader reader(input);
  while (auto frame = reader.next()) {
    const Tensor decoded = wire::decode_frame(*frame, input.name());
    (void)decoded;
  }
  out.decode = since(start);
  return out;
}

Timed codec_step(std::vector<std::unique_ptr<codecs::TensorCodec>>& codecs, const std::vector<Tensor>& tensors,
                 std::uint64_t step) {
  Timed out;
  std::vector<float> decoded;
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const codecs::StepContext context{step, 0, t, 0};
    auto start = Clock::now();
    const std::vector<std::byte> payload = codecs[t]->encode(tensors[t].flat(), context);
    out.encode += since(start);
    decoded.resize(tensors[t].size());
    start = Clock::now();
    codecs[t]->decode(payload, context, decoded);
    out.decode += since(start);
    out.bytes += payload.size();
  }
  return out;
}

Timed round_step(std::vector<std::unique_ptr<codecs::RoundCodec>>& codecs, const std::vector<Tensor>& tensors,
                 std::uint64_t step) {
  Timed out;
  std::vector<float> values;
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const codecs::StepContext context{step, 0, t, 0};
    std::vector<double> previous;
    for (std::size_t r = 0; r < codecs[t]->rounds(); ++r) {
      auto start = Clock::now();
      const std::vector<std::byte> payload = codecs[t]->send(r, tensors[t].flat(), previous, context);
      out.encode += since(start);
      values.resize(codecs[t]->round_size(r));
      start = Clock::now();
      codecs[t]->receive(r, payload, values);
      out.decode += since(start);
      out.bytes += payload.size();
      previous.assign(values.begin(), values.end());
    }
    values.resize(tensors[t].size());
    const auto start = Clock::now();
    codecs[t]->finish(previous, 1, values);
    out.decode += since(start);
  }
  return out;
}

Timed one_run(const codecs::CodecSpec& spec, const std::vector<Tensor>& tensors, const EncodeSettings& settings) {
  if (spec.name == "adacomp") {
    ResidueMap residues;
    adacomp_step(tensors, settings, residues, false);
    return adacomp_step(tensors, settings, residues, true);
  }
  if (codecs::codec_info(spec.name).aggregation == codecs::Aggregation::rounds) {
    std::vector<std::unique_ptr<codecs::RoundCodec>> codecs;
    for (const Tensor& t : tensors) codecs.push_back(codecs::make_round_codec(spec, t.name, t.shape()));
    round_step(codecs, tensors, 0);
    return round_step(codecs, tensors, 1);
  }
  std::vector<std::unique_ptr<codecs::TensorCodec>> codecs;
  for (const Tensor& t : tensors) codecs.push_back(codecs::make_tensor_codec(spec, t.name, t.shape()));
  codec_step(codecs, tensors, 0);
  return codec_step(codecs, tensors, 1);
}

}  // namespace

std::vector<CodecBenchResult> run_codec_bench(const std::vector<codecs::CodecSpec>& specs,
                                              const std::vector<Tensor>& tensors, const EncodeSettings& settings,
                                              unsigned repetitions) {
  std::uint64_t elements = 0;
  for (const Tensor& t : tensors) elements += t.size();
  std::vector<CodecBenchResult> out;
  for (const codecs::CodecSpec& spec : specs) {
    std::vector<double> encode, decode;
    CodecBenchResult r;
    r.codec = spec.text();
    r.elements = elements;
    for (unsigned rep = 0; rep < std::max(1u, repetitions); ++rep) {
      const Timed t = one_run(spec, tensors, settings);
      encode.push_back(t.encode);
      decode.push_back(t.decode);
      r.payload_bytes = t.bytes;  // the same every run: fresh state, the same draws
    }
    r.encode_seconds = median(encode);
    r.decode_seconds = median(decode);
    const double n = static_cast<double>(std::max<std::uint64_t>(1, elements));
    r.encode_ns_per_element = 1e9 * r.encode_seconds / n;
    r.decode_ns_per_element = 1e9 * r.decode_seconds / n;
    r.ratio = r.payload_bytes ? 4.0 * static_cast<double>(elements) / static_cast<double>(r.payload_bytes) : 0.0;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace adacomp
