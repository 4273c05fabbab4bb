// Arbitrary float arrays, bin sizes 1..16384 and scale factors 1..4: encode, serialize, read back,
// decode, and compare bit for bit with the straightforward reference of the spec's rules.
#include <bit>
#include <cmath>
#include <cstring>

#include <xtensor/xadapt.hpp>

#include "../unit/reference.hpp"
#include "adacomp/encoder.hpp"
#include "adacomp/wire.hpp"
#include "fuzz_support.hpp"

ADACOMP_FUZZ_TARGET({
  if (bytes.size() < 4) return 0;
  std::uint16_t t_bits, k_bits;
  std::memcpy(&t_bits, bytes.data(), 2);
  std::memcpy(&k_bits, bytes.data() + 2, 2);
  const std::uint32_t T = 1u + t_bits % adacomp::kMaxBinSize;
  const float k = 1.0f + 3.0f * static_cast<float>(k_bits) / 65535.0f;
  const std::size_t n = (bytes.size() - 4) / 8;  // gradient and residue, 4 bytes each
  std::vector<float> g(n), r(n);
  if (n) {
    std::memcpy(g.data(), bytes.data() + 4, n * 4);
    std::memcpy(r.data(), bytes.data() + 4 + n * 4, n * 4);
  }

  bool finite = true;
  for (std::size_t i = 0; i < n; ++i)
    finite &=
        std::isfinite(g[i]) && std::isfinite(r[i]) && std::isfinite(r[i] + g[i]) && std::isfinite(r[i] + k * g[i]);

  adacomp::Tensor gradient = adacomp::make_tensor("t", adacomp::DType::f32, {n});
  std::copy(g.begin(), g.end(), gradient.flat().begin());
  adacomp::ResidueMap residues;
  adacomp::Tensor residue = adacomp::make_tensor("t", adacomp::DType::f32, {n});
  std::copy(r.begin(), r.end(), residue.flat().begin());
  residues.emplace("t", adacomp::Residue(std::move(residue)));
  adacomp::EncodeSettings settings;
  settings.bin_sizes.add_rule(std::to_string(T));
  settings.scale_factor = k;
  std::vector<std::byte> stream;
  try {
    adacomp::encode_stream({gradient}, residues, settings, stream);
  } catch (const adacomp::Error&) {
    if (finite) __builtin_trap();  // finite input must encode
    return 0;
  }
  if (!finite) __builtin_trap();  // non-finite input must be refused

  adacomp::MemoryInput input(stream, "roundtrip");
  adacomp::wire::StreamReader reader(input);
  auto frame = reader.next();
  if (!frame || reader.next()) __builtin_trap();
  const adacomp::Tensor decoded = adacomp::wire::decode_frame(*frame, "roundtrip");
  const auto expected = reference::adacomp_step(xt::adapt(g), xt::adapt(r), T, k);
  const auto got_residue = residues.at("t").values().flat();
  for (std::size_t i = 0; i < n; ++i) {
    if (std::bit_cast<std::uint32_t>(decoded.flat()[i]) != std::bit_cast<std::uint32_t>(expected.decoded(i)))
      __builtin_trap();
    if (std::bit_cast<std::uint32_t>(got_residue[i]) != std::bit_cast<std::uint32_t>(expected.residue(i)))
      __builtin_trap();
  }
})
