// The lossless-stage study of Chen et al. 2021 ("DNN gradient lossless compression: can GenNorm
// be the answer?"): p on a uniform grid, step = max |p| / K with K = 2^(bits-1) - 1, symbols
// q = round(p / step) in -K..K (half away from zero), decoded as q step; the symbols are Huffman
// coded (canonical, codes of at most 24 bits) with one of two codes:
// - table=gennorm: from a generalized normal fitted to p / step by moment matching (beta solves
//   Gamma(1/b) Gamma(3/b) / Gamma(2/b)^2 = E[x^2] / E|x|^2 by bisection on [0.05, 20]; alpha =
//   E|x| Gamma(1/b) / Gamma(2/b)). Every symbol's frequency is max(1, round(2^20 P(q))), P(q)
//   the density integrated over [q - 1/2, q + 1/2] (Simpson's rule, 8 intervals) and normalized
//   over -K..K; the receiver rebuilds the code from the three f32. Payload: f32 step, f32 beta,
//   f32 alpha, then the codes.
// - table=empirical: from the symbols' histogram. Payload: f32 step, one u8 code length per
//   symbol -K..K (0: absent), then the codes.
// Codes are written most significant bit first into the bit order of format_spec/codecs.md, the
// last byte padded with zeros. The paper's own code is not public; this follows its text.
#include <cmath>

#include "adacomp/error.hpp"
#include "codecs/factories.hpp"
#include "codecs/huffman.hpp"
#include "codecs/payload.hpp"
#include "codecs/state.hpp"

namespace adacomp::codecs::detail {

namespace {

constexpr double kFrequencyScale = 1 << 20;

double moment_ratio(double beta) {  // Gamma(1/b) Gamma(3/b) / Gamma(2/b)^2, falling in beta
  return std::exp(std::lgamma(1 / beta) + std::lgamma(3 / beta) - 2 * std::lgamma(2 / beta));
}

struct GenNorm {
  float beta = 2, alpha = 1;
};

GenNorm fit(std::span<const float> p, float step) {
  GenNorm out;
  if (!(step > 0) || p.empty()) return out;
  double m1 = 0, m2 = 0;  // in index order
  for (float v : p) {
    const double x = static_cast<double>(v) / step;
    m1 += std::fabs(x);
    m2 += x * x;
  }
  m1 /= static_cast<double>(p.size());
  m2 /= static_cast<double>(p.size());
  if (!(m1 > 0)) return out;
  const double target = m2 / (m1 * m1);
  double low = 0.05, high = 20;  // ratio(low) > target > ratio(high), clamped at the ends
  for (int i = 0; i < 100; ++i) {
    const double mid = std::sqrt(low * high);
    (moment_ratio(mid) > target ? low : high) = mid;
  }
  const double beta = std::sqrt(low * high);
  out.beta = static_cast<float>(beta);
  out.alpha = static_cast<float>(m1 * std::exp(std::lgamma(1 / beta) - std::lgamma(2 / beta)));
  return out;
}

std::vector<std::uint64_t> model_frequencies(const GenNorm& model, long k) {
  const double beta = model.beta, alpha = model.alpha;
  auto density = [&](double x) { return std::exp(-std::pow(std::fabs(x) / alpha, beta)); };
  std::vector<double> mass(static_cast<std::size_t>(2 * k + 1));
  double total = 0;
  for (long q = -k; q <= k; ++q) {
    const double a = static_cast<double>(q) - 0.5, h = 1.0 / 8;
    double sum = density(a) + density(a + 1);
    for (int j = 1; j < 8; ++j) sum += (j % 2 ? 4 : 2) * density(a + j * h);
    mass[static_cast<std::size_t>(q + k)] = sum * h / 3;
    total += mass[static_cast<std::size_t>(q + k)];
  }
  std::vector<std::uint64_t> out(mass.size());
  for (std::size_t s = 0; s < mass.size(); ++s)
    out[s] = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(kFrequencyScale * mass[s] / total)));
  return out;
}

class GenNormHuffman final : public DenseCodec {
 public:
  GenNormHuffman(const CodecSpec& spec, std::string name, std::size_t n)
      : DenseCodec(spec, std::move(name), n), k_((1l << (std::stoul(spec.values.at("bits")) - 1)) - 1),
        gennorm_(spec.values.at("table") == "gennorm") {}

  std::vector<std::byte> payload_of(const std::vector<float>& p, const StepContext&) override {
    float m = 0.0f;
    for (float v : p) m = std::max(m, std::fabs(v));
    const float step = m / static_cast<float>(k_);
    std::vector<std::uint32_t> symbols(size());
    for (std::size_t i = 0; i < size(); ++i) {
      const long q = step > 0.0f ? std::lround(static_cast<double>(p[i]) / step) : 0;
      symbols[i] = static_cast<std::uint32_t>(std::clamp(q, -k_, k_) + k_);
    }
    std::vector<std::byte> payload;
    put<float>(payload, step);
    std::vector<std::uint8_t> lengths;
    if (gennorm_) {
      const GenNorm model = fit(p, step);
      put<float>(payload, model.beta);
      put<float>(payload, model.alpha);
      lengths = huffman_lengths(model_frequencies(model, k_));
    } else {
      std::vector<std::uint64_t> histogram(static_cast<std::size_t>(2 * k_ + 1), 0);
      for (std::uint32_t s : symbols) ++histogram[s];
      lengths = huffman_lengths(histogram);
      for (std::uint8_t len : lengths) payload.push_back(std::byte{len});
    }
    if (size() == 0) return payload;
    const CanonicalCode code(lengths, "tensor '" + name() + "': gennorm-huffman");
    BitWriter bits(payload);
    for (std::uint32_t s : symbols) bits.high_first(code.code(s), code.length(s));
    return payload;
  }

  void decode(std::span<const std::byte> payload, const StepContext&, std::span<float> out) const override {
    const std::string what = "tensor '" + name() + "': gennorm-huffman payload";
    const std::size_t symbols = static_cast<std::size_t>(2 * k_ + 1), header = gennorm_ ? 12 : 4 + symbols;
    if (payload.size() < header)
      fail_input(what + " of " + std::to_string(payload.size()) + " bytes, shorter than its " + std::to_string(header) +
                 "-byte header");
    const float step = get<float>(payload, 0);
    if (!(std::isfinite(step) && step >= 0.0f))
      fail_input(what + " byte offset 0: the step is not a finite value >= 0");
    if (size() == 0) {
      check_size(payload, header, name(), "gennorm-huffman");
      return;
    }
    std::vector<std::uint8_t> lengths;
    if (gennorm_) {
      const GenNorm model{get<float>(payload, 4), get<float>(payload, 8)};
      if (!(model.beta >= 0.05f && model.beta <= 20.0f && std::isfinite(model.alpha) && model.alpha > 0.0f))
        fail_input(what + " byte offset 4: beta must be from 0.05 to 20 and alpha a finite value above 0");
      lengths = huffman_lengths(model_frequencies(model, k_));
    } else {
      for (std::size_t s = 0; s < symbols; ++s) lengths.push_back(std::to_integer<std::uint8_t>(payload[4 + s]));
    }
    const CanonicalCode code(lengths, what + " (its code table)");
    const auto stream = payload.subspan(header);
    const std::size_t available = 8 * stream.size();
    std::size_t at = 0;
    for (std::size_t i = 0; i < size(); ++i) {
      const std::size_t start = at;
      const long s = code.decode(stream, at, available);
      if (s < 0)
        fail_input(what + " byte offset " + std::to_string(header + start / 8) + ": element " + std::to_string(i) +
                   " is no code of the table");
      out[i] = static_cast<float>(s - k_) * step;
    }
    if ((at + 7) / 8 != stream.size())
      fail_input(what + " byte offset " + std::to_string(header + (at + 7) / 8) + ": bytes after the last element");
    check_padding(payload, header, at, name(), "gennorm-huffman");
  }

 private:
  long k_;
  bool gennorm_;
};

}  // namespace

std::unique_ptr<TensorCodec> make_gennorm_huffman(const CodecSpec& spec, const std::string& name,
                                                  const std::vector<std::uint64_t>&, std::size_t n) {
  return std::make_unique<GenNormHuffman>(spec, name, n);
}

}  // namespace adacomp::codecs::detail
