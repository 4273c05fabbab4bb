#include "adacomp/tensor_file.hpp"
#include "fuzz_support.hpp"

namespace {

// Untyped void elements read as bf16 (2 bytes) or as an FP8 type (1 byte); both paths are fuzzed.
void parse_and_write_back(std::span<const std::byte> bytes, adacomp::DType void_dtype) {
  adacomp::Tensor t;
  try {
    t = adacomp::parse_npy(bytes, "fuzz.npy", "x", void_dtype);
  } catch (const adacomp::Error&) {
    return;
  }
  // what we read we can write and read back identically
  const auto again = adacomp::parse_npy(adacomp::serialize_npy(t), "again.npy", "x", void_dtype);
  if (again.shape() != t.shape() || again.dtype != t.dtype) __builtin_trap();
}

}  // namespace

ADACOMP_FUZZ_TARGET({
  parse_and_write_back(bytes, adacomp::DType::bf16);
  parse_and_write_back(bytes, adacomp::DType::f8e5m2);
})
