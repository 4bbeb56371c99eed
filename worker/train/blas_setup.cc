#include "worker/train/blas_setup.h"

#include <cblas.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace shoal {

const char* BestBlasCoreType() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "Sandybridge";
#endif
  return nullptr;
}

void ReexecWithBestBlasKernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice, or done already
  const char* best = BestBlasCoreType();
  if (best == nullptr) return;
  // The pre-AVX cores OpenBLAS falls back to for CPUs it cannot identify.
  const std::string core = openblas_get_corename();
  static const char* const kFallbacks[] = {"prescott", "core2", "penryn", "dunnington",
                                           "nehalem", "atom", "katmai", "coppermine",
                                           "northwood", "banias", "unknown"};
  bool fallback = false;
  for (const char* f : kFallbacks) fallback = fallback || strcasecmp(core.c_str(), f) == 0;
  if (!fallback) return;
  if (setenv("OPENBLAS_CORETYPE", best, 1) != 0) return;
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "shoal-train: could not re-execute with OPENBLAS_CORETYPE=%s (%s); "
                       "continuing with OpenBLAS's %s kernels\n",
               best, std::strerror(errno), core.c_str());
  unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace shoal
