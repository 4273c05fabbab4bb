#include "adacomp/tensor_file.hpp"
#include "fuzz_support.hpp"

ADACOMP_FUZZ_TARGET({
  const adacomp::Tensor t = adacomp::parse_npy(bytes, "fuzz.npy", "x", adacomp::DType::bf16);
  // what we read we can write and read back identically
  const auto again = adacomp::parse_npy(adacomp::serialize_npy(t), "again.npy", "x", adacomp::DType::bf16);
  if (again.shape() != t.shape() || again.dtype != t.dtype) __builtin_trap();
})
