// The comparison codecs' payload decoders (format_spec/codecs.md) on arbitrary bytes: byte 0 picks
// the codec and its parameters, bytes 1-2 the tensor's element count, the rest is the payload. The
// decoded tensor, encoded again, must be accepted by the decoder. (PowerSGD's rounds carry plain
// f32 arrays of a fixed size: its receive() is covered by the unit tests.)
#include <cstring>
#include <iterator>
#include <vector>

#include "adacomp/codecs.hpp"
#include "fuzz_support.hpp"

ADACOMP_FUZZ_TARGET({
  if (bytes.size() < 3) return 0;
  static const char* const kSpecs[] = {"topk:ratio=0.01,ef=0",
                                       "topk:ratio=0.5,ef=1",
                                       "topk:ratio=1,ef=0",
                                       "randomk:ratio=0.01,ef=0",
                                       "randomk:ratio=0.3,ef=1",
                                       "randomk:ratio=1,ef=0",
                                       "efsignsgd",
                                       "onebit",
                                       "terngrad",
                                       "natural",
                                       "signsgd",
                                       "qsgd:levels=5,bucket=2",
                                       "qsgd",
                                       "adacomp-hipress:T=32",
                                       "adacomp-gradcomp",
                                       "dgc:ratio=0.01,momentum=0.9",
                                       "threelc:s=1.5",
                                       "fp8",
                                       "fp8:format=e4m3",
                                       "fp4",
                                       "gennorm-huffman:bits=3,table=empirical",
                                       "gennorm-huffman:bits=4"};
  constexpr std::size_t kSparse = 6;  // the first ones send exact values
  const auto pick = static_cast<std::size_t>(bytes[0]) % std::size(kSpecs);
  const std::uint64_t n = static_cast<std::uint64_t>(bytes[1]) | (static_cast<std::uint64_t>(bytes[2]) << 8);
  const auto spec = adacomp::codecs::parse_spec(kSpecs[pick]);
  // a matrix, so that dgc compresses; the others see the same elements
  const std::vector<std::uint64_t> shape =
      spec.name == "dgc" ? std::vector<std::uint64_t>{1, n} : std::vector<std::uint64_t>{n};
  auto codec = adacomp::codecs::make_tensor_codec(spec, "fuzz", shape);
  const adacomp::codecs::StepContext step{static_cast<std::uint64_t>(bytes[0]), 7, 0, 1};
  std::vector<float> out(n, 1.0f);
  codec->decode(bytes.subspan(3), step, out);
  // What the decoder accepted, sent again, must be accepted again; the sparse codecs' elements come
  // back exactly.
  for (float& v : out)
    if (!(v == v) || v - v != 0.0f) v = 0.0f;  // NaN and infinities are not gradients
  const std::vector<std::byte> payload = codec->encode(out, step);
  std::vector<float> back(n, 1.0f);
  try {
    codec->decode(payload, step, back);
  } catch (const adacomp::Error&) {
    __builtin_trap();  // a decoder refused its own encoder's payload
  }
  for (std::size_t i = 0; pick < kSparse && i < n; ++i)
    if (back[i] != 0.0f && std::memcmp(&back[i], &out[i], sizeof(float)) != 0) __builtin_trap();
})
