#pragma once
// Comparing tensors from wire streams or tensor files by name, as `adacomp diff` does.
#include <optional>
#include <string>
#include <vector>

#include "adacomp/metrics.hpp"
#include "adacomp/tensor.hpp"
#include "adacomp/wire.hpp"

namespace adacomp {

// One tensor of a diff input: its decoded values and, when it came from a compressed frame, the
// frame's description and content.
struct DiffTensor {
  Tensor tensor;
  std::optional<wire::FrameInfo> frame;
  std::optional<SparseTernary> sparse;
};

struct DiffInput {
  std::string source;
  bool is_stream = false;
  // A .npy file: one tensor whose only name is the one given to it (encode names it after the
  // file's stem), so it is compared with the other side's only tensor whatever that one's name.
  bool unnamed = false;
  std::vector<DiffTensor> tensors;
};

// Reads a wire stream (by its magic) or a .npy/.npz/.safetensors file; the tensor of a .npy is
// named `single_name`. `layout`: the agreed layout of streams that refer to one. `void_dtype`:
// what untyped void arrays of a tensor file hold (TensorReadOptions::dtype).
DiffInput load_diff_input(const std::string& path, const std::string& single_name = "tensor",
                          const wire::Layout* layout = nullptr, DType void_dtype = DType::bf16);

struct IndexOverlap {
  std::uint64_t common = 0, only_a = 0, only_b = 0, sign_disagreements = 0;
  double jaccard = 1.0;  // |A and B| / |A or B|; 1 when both are empty
};

// Selected element sets of two compressed frames of the same element count.
IndexOverlap index_overlap(const SparseTernary& a, const SparseTernary& b);

struct TensorDiff {
  std::string name;
  std::vector<std::string> differences;  // "shape [2,3] vs [3,2]", "scale 0.1 vs 0.2", ...
  bool shapes_match = true;
  std::optional<IndexOverlap> overlap;  // both compressed frames
  std::optional<ErrorStats> values;     // when shapes match: A against B as the reference
  bool identical = false;               // no differences and equal values (and equal index sets)
};

// Tensors are matched by name; when A and B hold one tensor each and either is unnamed, those two
// are matched, under the named side's name.
struct DiffResult {
  std::vector<TensorDiff> tensors;  // matched names, in A's order
  std::vector<std::string> only_in_a, only_in_b;
};

DiffResult diff_inputs(const DiffInput& a, const DiffInput& b);

}  // namespace adacomp
