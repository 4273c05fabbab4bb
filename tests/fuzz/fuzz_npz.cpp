#include "adacomp/tensor_file.hpp"
#include "fuzz_support.hpp"

ADACOMP_FUZZ_TARGET({ (void)adacomp::parse_npz(bytes, "fuzz.npz", adacomp::DType::bf16); })
