#include "adacomp/encoder.hpp"

#include <cmath>
#include <set>

#include "adacomp/error.hpp"

namespace adacomp {

wire::Layout layout_for(std::span<const TensorView> tensors, const EncodeSettings& settings) {
  std::vector<wire::TensorLayout> described;
  for (const TensorView& tensor : tensors) {
    const bool excluded = settings.excluded(tensor.name);
    described.push_back({tensor.name, excluded ? wire::FrameKind::passthrough : wire::FrameKind::compressed,
                         tensor.dtype, tensor.shape,
                         excluded ? 0 : settings.bin_sizes.bin_size_for(tensor.name, tensor.rank()), tensor.size()});
  }
  return wire::make_layout(std::move(described));
}

void check_residues(const ResidueMap& residues, std::span<const TensorView> tensors, const EncodeSettings& settings,
                    const std::string& source) {
  std::set<std::string> compressed;
  for (const TensorView& tensor : tensors) {
    if (settings.excluded(tensor.name)) continue;
    compressed.insert(tensor.name);
    const auto it = residues.find(tensor.name);
    if (it == residues.end()) fail_input(source + ": no residue for tensor '" + tensor.name + "'");
    if (it->second.dtype() != DType::f32)
      fail_input(source + ": residue of tensor '" + tensor.name + "' is " +
                 std::string(dtype_name(it->second.dtype())) + ", expected float32");
    if (it->second.shape() != tensor.shape)
      fail_input(source + ": residue of tensor '" + tensor.name + "' has shape " + shape_string(it->second.shape()) +
                 ", the tensor " + shape_string(tensor.shape));
  }
  for (const auto& [name, residue] : residues)
    if (!compressed.count(name))
      fail_input(source + ": residue holds tensor '" + name + "', which the input does not compress");
}

namespace {

// `residues` null: every tensor starts from a zero residue that is neither allocated nor kept.
std::vector<wire::FrameInfo> encode_tensors(std::span<const TensorView> tensors, ResidueMap* residues,
                                            const EncodeSettings& settings, std::vector<std::byte>& out) {
  wire::StreamWriter writer(out, {settings.entries, settings.layout, settings.threads});
  std::vector<wire::FrameInfo> frames;
  frames.reserve(tensors.size());
  for (const TensorView& tensor : tensors) {
    if (settings.excluded(tensor.name)) {
      const auto flat = tensor.values;
      for (std::size_t i = 0; i < flat.size(); ++i)
        if (!std::isfinite(flat[i]))
          fail_input("tensor '" + tensor.name + "' element " + std::to_string(i) + ": gradient value is " +
                     (std::isnan(flat[i]) ? "NaN" : "infinite"));
      frames.push_back(writer.add_passthrough(tensor, settings.zstd_level));
      continue;
    }
    const std::uint32_t bin_size = settings.bin_sizes.bin_size_for(tensor.name, tensor.rank());
    if (residues) {
      auto it = residues->find(tensor.name);
      if (it == residues->end()) it = residues->emplace(tensor.name, Residue::zeros(tensor.name, tensor.shape)).first;
      const SparseTernary& sparse =
          it->second.step(tensor.values, bin_size, settings.scale_factor, tensor.name, settings.threads);
      frames.push_back(writer.add_compressed(tensor.name, tensor.dtype, tensor.shape, sparse, settings.zstd_level));
    } else {
      const SparseTernary sparse =
          compress_fresh(tensor.values, bin_size, settings.scale_factor, tensor.name, settings.threads);
      frames.push_back(writer.add_compressed(tensor.name, tensor.dtype, tensor.shape, sparse, settings.zstd_level));
    }
  }
  writer.finish();
  return frames;
}

}  // namespace

std::vector<wire::FrameInfo> encode_stream(std::span<const TensorView> tensors, ResidueMap& residues,
                                           const EncodeSettings& settings, std::vector<std::byte>& out) {
  return encode_tensors(tensors, &residues, settings, out);
}

std::vector<wire::FrameInfo> encode_stream_fresh(std::span<const TensorView> tensors, const EncodeSettings& settings,
                                                 std::vector<std::byte>& out) {
  return encode_tensors(tensors, nullptr, settings, out);
}

}  // namespace adacomp
