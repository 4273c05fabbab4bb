// The comparison codecs' payload decoders (format_spec/codecs.md) on arbitrary bytes: byte 0 picks
// the codec and ratio, bytes 1-2 the tensor's element count, the rest is the payload. A payload the
// decoder accepts must fill exactly the tensor; one that the encoder of the same codec writes for
// the decoded tensor must decode to what that encoder sent.
#include <cstring>
#include <vector>

#include "adacomp/codecs.hpp"
#include "fuzz_support.hpp"

ADACOMP_FUZZ_TARGET({
  if (bytes.size() < 3) return 0;
  static const char* const kSpecs[] = {"topk:ratio=0.01,ef=0",    "topk:ratio=0.5,ef=1",    "topk:ratio=1,ef=0",
                                       "randomk:ratio=0.01,ef=0", "randomk:ratio=0.3,ef=1", "randomk:ratio=1,ef=0"};
  const auto pick = static_cast<std::size_t>(bytes[0]) % 6;
  const std::uint64_t n = static_cast<std::uint64_t>(bytes[1]) | (static_cast<std::uint64_t>(bytes[2]) << 8);
  const auto spec = adacomp::codecs::parse_spec(kSpecs[pick]);
  auto codec = adacomp::codecs::make_tensor_codec(spec, "fuzz", {n});
  const adacomp::codecs::StepContext step{static_cast<std::uint64_t>(bytes[0]), 7, 0};
  std::vector<float> out(n, 1.0f);
  codec->decode(bytes.subspan(3), step, out);
  // What the decoder accepted, sent again: a finite tensor encodes and decodes back to a tensor of
  // the same size whose non-zero elements are elements of the input.
  for (float& v : out)
    if (!(v == v) || v - v != 0.0f) v = 0.0f;  // NaN and infinities are not gradients
  const std::vector<std::byte> payload = codec->encode(out, step);
  std::vector<float> back(n, 1.0f);
  codec->decode(payload, step, back);
  for (std::size_t i = 0; i < n; ++i)
    if (back[i] != 0.0f && std::memcmp(&back[i], &out[i], sizeof(float)) != 0) __builtin_trap();
})
