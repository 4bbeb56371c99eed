// GEMM on the CPU through OpenBLAS (cblas_sgemm). The CUDA backend has its own hand-written GEMM;
// this one is the CPU path and the reference the CUDA tests compare against.
#pragma once

#include "common/status.h"

namespace shoal::cpu {

// C = alpha * op(A) * op(B) + beta * C, all row-major float32.
//   op(A) is m x k: A is stored m x k (lda >= max(1, k)) when !trans_a, else k x m
//   (lda >= max(1, m)). op(B) is k x n: B is stored k x n (ldb >= max(1, n)) when !trans_b, else
//   n x k (ldb >= max(1, k)). C is m x n with ldc >= max(1, n).
// BLAS conventions: when beta == 0, C is not read (NaN/garbage in C does not propagate); when
// k == 0, C = beta * C. m, n or k may be 0 (then nothing or only the beta scaling happens).
// Aliasing: C must not overlap A or B. A and B may alias each other.
// Returns InvalidArgument on a negative dimension, a leading dimension below the minimum, or a null
// pointer for a non-empty operand; C is untouched then. Does not allocate. Thread-safe for
// disjoint C (OpenBLAS may use its own thread pool internally).
Status Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
            const float* b, int ldb, float beta, float* c, int ldc);

}  // namespace shoal::cpu
