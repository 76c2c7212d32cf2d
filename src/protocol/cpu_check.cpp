// Compiled without AVX flags: safe to run on any x86-64 before the decoder is touched.
#include <cpuid.h>

#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::protocol {

bool decoder_supported_by_cpu() noexcept {
#if defined(TRADESHARD_JSON_HASWELL)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0x80000001, &a, &b, &c, &d)) return false;
  const bool lzcnt = (c >> 5) & 1;
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("pclmul") && lzcnt;
#else
  return true;
#endif
}

}  // namespace tradeshard::protocol
