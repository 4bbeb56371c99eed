// OpenBLAS kernel selection for shoal-train.
//
// OpenBLAS (0.3.21 in Debian 12) chooses its GEMM kernels from the CPU's family and model. On a
// CPU it does not recognize — virtual machines often report a bare "Intel Xeon Processor" — it
// falls back to its Prescott (SSE3) kernels, even on CPUs with AVX-512: on the 2-core CI VM that
// made every GEMM ~3x slower (bench/README.md). OPENBLAS_CORETYPE overrides the choice, but
// OpenBLAS reads it when the library is loaded, before main() runs; so shoal-train sets it and
// re-executes itself once.
#pragma once

namespace shoal {

// The OpenBLAS core type matching the features of this CPU (and OS): "SkylakeX" with AVX-512F/BW/
// VL/DQ, "Haswell" with AVX2 + FMA, "Sandybridge" with AVX; nullptr without any of them.
const char* BestBlasCoreType();

// When OPENBLAS_CORETYPE is unset and OpenBLAS fell back to a core type older than
// BestBlasCoreType(), sets OPENBLAS_CORETYPE to the better one and execv()s /proc/self/exe with
// the same argv (same pid, same environment otherwise). Returns only when nothing was to be done
// or the exec failed (then training goes on with the slow kernels). Call first thing in main(),
// before any thread or MPI starts.
void ReexecWithBestBlasKernels(char** argv);

}  // namespace shoal
