// The residue file as `encode --residue` reads it: .npz or .safetensors, then checked against the
// tensors being encoded, then used to encode them.
#include "adacomp/encoder.hpp"
#include "adacomp/tensor_file.hpp"
#include "fuzz_support.hpp"

ADACOMP_FUZZ_TARGET({
  adacomp::ResidueMap residues;
  for (adacomp::Tensor& t : adacomp::parse_tensor_file(bytes, "fuzz-residue", {})) {
    const std::string name = t.name;
    residues.emplace(name, std::move(t));
  }
  std::vector<adacomp::Tensor> gradients;
  for (const auto& [name, residue] : residues) {
    adacomp::Tensor g = adacomp::make_tensor(name, adacomp::DType::f32, residue.shape());
    g.values.fill(0.5f);
    gradients.push_back(std::move(g));
  }
  adacomp::EncodeSettings settings;
  adacomp::check_residues(residues, gradients, settings, "fuzz-residue");
  std::vector<std::byte> out;
  adacomp::encode_stream(gradients, residues, settings, out);
})
