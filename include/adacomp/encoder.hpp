#pragma once
// Encoding a set of tensors into one wire stream with per-tensor residues: what `adacomp encode`
// does for one learner and one step, and what replay does per learner.
#include <map>
#include <span>
#include <string>
#include <vector>

#include "adacomp/bin_size_policy.hpp"
#include "adacomp/codec.hpp"
#include "adacomp/residue.hpp"
#include "adacomp/tensor.hpp"
#include "adacomp/wire.hpp"

namespace adacomp {

struct EncodeSettings {
  BinSizePolicy bin_sizes;
  float scale_factor = kDefaultScaleFactor;
  std::vector<std::string> exclude;                      // globs of tensors sent as passthrough frames
  int zstd_level = 0;                                    // 0: no zstd stage
  unsigned threads = 1;                                  // threads per tensor (results are identical)
  wire::EntryLayout entries = wire::EntryLayout::coded;  // fixed: format 1.0 streams
  const wire::Layout* layout = nullptr;                  // coded only: frames refer to this agreed layout

  bool excluded(const std::string& name) const { return matches_any_glob(exclude, name); }
};

// Residue of each compressed tensor, keyed by tensor name.
using ResidueMap = std::map<std::string, Residue>;

// The functions below read their tensors as views (a mapped input file, or Tensors); each has an
// overload for a vector of Tensors.

// The layout these settings give `tensors`: names, dtypes, shapes, kinds and bin sizes in order.
wire::Layout layout_for(std::span<const TensorView> tensors, const EncodeSettings& settings);

// Throws Error(invalid_input) naming `source` unless `residues` holds exactly the compressed
// tensors of `tensors`, each float32 with the tensor's shape.
void check_residues(const ResidueMap& residues, std::span<const TensorView> tensors, const EncodeSettings& settings,
                    const std::string& source);

// Append one complete stream (header, a frame per tensor in order, end record) to `out`, updating
// `residues` (missing ones start at zero). Returns the frame descriptions in order.
std::vector<wire::FrameInfo> encode_stream(std::span<const TensorView> tensors, ResidueMap& residues,
                                           const EncodeSettings& settings, std::vector<std::byte>& out);

// The same stream for a learner whose residues start at zero and are not kept (`adacomp encode`
// without --residue): no residue memory is allocated, so peak memory stays near the input's size.
std::vector<wire::FrameInfo> encode_stream_fresh(std::span<const TensorView> tensors, const EncodeSettings& settings,
                                                 std::vector<std::byte>& out);

inline wire::Layout layout_for(const std::vector<Tensor>& tensors, const EncodeSettings& settings) {
  return layout_for(views_of(tensors), settings);
}
inline void check_residues(const ResidueMap& residues, const std::vector<Tensor>& tensors,
                           const EncodeSettings& settings, const std::string& source) {
  check_residues(residues, views_of(tensors), settings, source);
}
inline std::vector<wire::FrameInfo> encode_stream(const std::vector<Tensor>& tensors, ResidueMap& residues,
                                                  const EncodeSettings& settings, std::vector<std::byte>& out) {
  return encode_stream(views_of(tensors), residues, settings, out);
}
inline std::vector<wire::FrameInfo> encode_stream_fresh(const std::vector<Tensor>& tensors,
                                                        const EncodeSettings& settings, std::vector<std::byte>& out) {
  return encode_stream_fresh(views_of(tensors), settings, out);
}

}  // namespace adacomp
