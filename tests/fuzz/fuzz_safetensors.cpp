#include "adacomp/tensor_file.hpp"
#include "fuzz_support.hpp"

ADACOMP_FUZZ_TARGET({
  const auto tensors = adacomp::parse_safetensors(bytes, "fuzz.safetensors");
  const auto again = adacomp::parse_safetensors(adacomp::serialize_safetensors(tensors), "again.safetensors");
  if (again.size() != tensors.size()) __builtin_trap();
})
