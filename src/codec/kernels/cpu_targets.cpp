#include "codec/kernels/cpu_targets.hpp"

#include <hwy/detect_targets.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace adacomp::detail {

namespace {

#if defined(__x86_64__) || defined(__i386__)

struct Registers {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

Registers cpuid(std::uint32_t leaf, std::uint32_t subleaf) {
  Registers r;
  if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) return {};
  return r;
}

bool bit(std::uint32_t word, unsigned index) { return (word >> index & 1u) != 0; }

// XCR0: which register states the operating system saves across context switches.
std::uint32_t enabled_register_states() {
  std::uint32_t low = 0, high = 0;
  __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
  return low;
}

std::int64_t x86_targets() {
  const Registers basic = cpuid(1, 0);
  const Registers extended = cpuid(0x80000001u, 0);
  const Registers leaf7 = cpuid(0, 0).eax >= 7 ? cpuid(7, 0) : Registers{};
  const bool sse3 = bit(basic.ecx, 0), clmul = bit(basic.ecx, 1), ssse3 = bit(basic.ecx, 9), fma = bit(basic.ecx, 12),
             sse41 = bit(basic.ecx, 19), sse42 = bit(basic.ecx, 20), aes = bit(basic.ecx, 25),
             osxsave = bit(basic.ecx, 27), avx = bit(basic.ecx, 28), f16c = bit(basic.ecx, 29),
             lzcnt = bit(extended.ecx, 5), bmi = bit(leaf7.ebx, 3), avx2 = bit(leaf7.ebx, 5), bmi2 = bit(leaf7.ebx, 8),
             avx512f = bit(leaf7.ebx, 16), avx512dq = bit(leaf7.ebx, 17), avx512cd = bit(leaf7.ebx, 28),
             avx512bw = bit(leaf7.ebx, 30), avx512vl = bit(leaf7.ebx, 31), vbmi = bit(leaf7.ecx, 1),
             vbmi2 = bit(leaf7.ecx, 6), gfni = bit(leaf7.ecx, 8), vaes = bit(leaf7.ecx, 9),
             vpclmulqdq = bit(leaf7.ecx, 10), vnni = bit(leaf7.ecx, 11), bitalg = bit(leaf7.ecx, 12),
             popcntdq = bit(leaf7.ecx, 14);
  // without OS support for the YMM (bits 1, 2) and opmask/ZMM states (5 to 7), no AVX target runs
  const std::uint32_t states = osxsave ? enabled_register_states() : 0;
  const bool ymm_saved = (states & 0x6u) == 0x6u, zmm_saved = (states & 0xE6u) == 0xE6u;
  std::int64_t targets = 0;
  const bool has_ssse3 = sse3 && ssse3;
  const bool has_sse4 = has_ssse3 && sse41 && sse42 && clmul && aes;
  const bool has_avx2 = has_sse4 && ymm_saved && avx && avx2 && lzcnt && bmi && bmi2 && fma && f16c;
  const bool has_avx3 = has_avx2 && zmm_saved && avx512f && avx512vl && avx512dq && avx512bw && avx512cd;
  const bool has_avx3_dl = has_avx3 && vnni && vpclmulqdq && vbmi && vbmi2 && vaes && popcntdq && bitalg && gfni;
  if (has_ssse3) targets |= HWY_SSSE3;
  if (has_sse4) targets |= HWY_SSE4;
  if (has_avx2) targets |= HWY_AVX2;
  if (has_avx3) targets |= HWY_AVX3;
  if (has_avx3_dl) targets |= HWY_AVX3_DL;
  return targets;
}

#else

std::int64_t x86_targets() { return 0; }

#endif

}  // namespace

std::int64_t cpu_targets() {
  static const std::int64_t targets = x86_targets() | HWY_SCALAR | HWY_EMU128;
  return targets;
}

}  // namespace adacomp::detail
