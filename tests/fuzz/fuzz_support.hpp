#pragma once
// libFuzzer targets: only adacomp::Error may come out of the code under test; anything else
// (another exception, a crash, a sanitizer report, an allocation above -malloc_limit_mb) is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "adacomp/error.hpp"

#define ADACOMP_FUZZ_TARGET(...)                                                            \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {       \
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size); \
    try {                                                                                   \
      __VA_ARGS__                                                                           \
    } catch (const adacomp::Error&) {                                                       \
    }                                                                                       \
    return 0;                                                                               \
  }

// Fuzzed inputs may declare at most this many elements per tensor (16 MiB of float32 output).
inline constexpr std::uint64_t kFuzzMaxElements = std::uint64_t{1} << 22;
