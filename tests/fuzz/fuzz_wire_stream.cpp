// Decoding arbitrary bytes as a wire stream: every frame decoded, sparse content validated.
#include "adacomp/frame_stats.hpp"
#include "adacomp/wire.hpp"
#include "fuzz_support.hpp"

ADACOMP_FUZZ_TARGET({
  adacomp::MemoryInput input(bytes, "fuzz");
  adacomp::wire::StreamReader reader(input, kFuzzMaxElements);
  while (auto frame = reader.next()) {
    const adacomp::Tensor tensor = adacomp::wire::decode_frame(*frame, "fuzz");
    if (tensor.size() != frame->info.element_count) __builtin_trap();
    if (frame->info.kind == adacomp::wire::FrameKind::compressed) {
      const auto sparse = adacomp::wire::sparse_from_frame(*frame, "fuzz");
      (void)adacomp::frame_stats(frame->info, &sparse);
    }
  }
})
