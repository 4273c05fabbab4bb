// Layout records and streams that refer to a layout (format_spec/wire_format.md, section 13.4):
// a layout read from arbitrary bytes must write back to a layout with the same tensors and hash,
// and arbitrary streams are decoded against an agreed layout (that of the golden
// coded-layout.adl), so that frames indexed into it are reached too.
#include "adacomp/wire.hpp"
#include "fuzz_support.hpp"

namespace {

const adacomp::wire::Layout& agreed() {
  using adacomp::DType;
  using adacomp::wire::FrameKind;
  static const adacomp::wire::Layout layout = adacomp::wire::make_layout({
      {"emb.weight", FrameKind::compressed, DType::f32, {6, 40}, 64, 0},
      {"norm.weight", FrameKind::passthrough, DType::bf16, {3}, 0, 0},
      {"head.bias", FrameKind::compressed, DType::f32, {4}, 2, 0},
  });
  return layout;
}

void layout_round_trip(std::span<const std::byte> bytes) {
  adacomp::MemoryInput input(bytes, "fuzz");
  const adacomp::wire::Layout layout = adacomp::wire::read_layout(input);
  const std::vector<std::byte> written = adacomp::wire::layout_file_bytes(layout);
  adacomp::MemoryInput again(written, "fuzz (written back)");
  const adacomp::wire::Layout back = adacomp::wire::read_layout(again);
  if (back.hash != layout.hash || back.tensors.size() != layout.tensors.size()) __builtin_trap();
  for (std::size_t i = 0; i < back.tensors.size(); ++i)
    if (back.tensors[i].name != layout.tensors[i].name || back.tensors[i].shape != layout.tensors[i].shape)
      __builtin_trap();
}

}  // namespace

ADACOMP_FUZZ_TARGET({
  try {
    layout_round_trip(bytes);
  } catch (const adacomp::Error&) {
  }
  adacomp::MemoryInput input(bytes, "fuzz");
  adacomp::wire::StreamReader reader(input, kFuzzMaxElements);
  reader.set_agreed_layout(&agreed());
  while (auto frame = reader.next()) {
    const adacomp::Tensor tensor = adacomp::wire::decode_frame(*frame, "fuzz");
    if (tensor.size() != frame->info.element_count) __builtin_trap();
  }
})
