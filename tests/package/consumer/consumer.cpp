// A program outside the project, built against an installed adacomp (find_package or pkg-config):
// two training steps of one tensor with a kept residue, serialized to the wire (with the zstd
// stage and XXH64 checksums), read back, and written as an .npz (libzip). It prints one line and
// exits 0 when the decoded values are what the frames say.
#include <cmath>
#include <cstdio>
#include <vector>

#include "adacomp/kernels.hpp"
#include "adacomp/residue.hpp"
#include "adacomp/tensor_file.hpp"
#include "adacomp/version.hpp"
#include "adacomp/wire.hpp"

int main() {
  const std::vector<std::uint64_t> shape{64, 32};
  adacomp::Residue residue = adacomp::Residue::zeros("fc.weight", shape);
  std::vector<float> gradient(64 * 32);
  std::vector<std::byte> bytes;
  adacomp::wire::StreamWriter writer(bytes);
  for (int step = 0; step < 2; ++step) {
    for (std::size_t i = 0; i < gradient.size(); ++i) gradient[i] = std::sin(0.37f * static_cast<float>(i + 7 * step));
    const adacomp::SparseTernary& frame = residue.step(gradient, 500, 2.0f, "fc.weight");
    writer.add_compressed("fc.weight", adacomp::DType::f32, shape, frame, 3);
  }
  writer.finish();
  adacomp::MemoryInput input(bytes, "consumer stream");
  adacomp::wire::StreamReader reader(input);
  std::vector<adacomp::Tensor> decoded;
  while (auto frame = reader.next()) decoded.push_back(adacomp::wire::decode_frame(*frame, input.name()));
  const std::vector<std::byte> npz = adacomp::serialize_tensor_file({decoded.back()}, adacomp::TensorFormat::npz);
  std::size_t nonzero = 0;
  for (float v : decoded.back().flat()) nonzero += v != 0.0f;
  std::printf("adacomp %s: %zu frames, %zu bytes, %zu nonzero decoded values, %zu npz bytes, kernel %s\n",
              adacomp::kToolVersion, decoded.size(), bytes.size(), nonzero, npz.size(),
              adacomp::active_kernel().c_str());
  return decoded.size() == 2 && nonzero > 0 && npz.size() > 22 ? 0 : 1;
}
