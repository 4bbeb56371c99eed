// GEMM on the GPU: hand-written kernels for the three products of a linear layer (forward
// X * W^T-style products, dX and dW), with the same contract as cpu::Gemm so the CPU twin is the
// reference in tests. cuBLAS is not used here (only bench/kernels_bench.cu uses it, as a yardstick).
//
// Paths, chosen by `precision`:
//   kFp32: SIMT kernel, fp32 FMA throughout (shared-memory tiles, 8x8/4x4/2x2 register blocking,
//          float4 loads when the operand is 16-byte aligned with a leading dimension divisible by 4).
//   kTf32: tensor cores (WMMA 16x16x8), inputs rounded to tf32 while staged in shared memory, fp32
//          accumulation. Relative error ~1e-3.
//   kBf16: tensor cores (WMMA 16x16x16), inputs converted fp32 -> bf16 while staged in shared
//          memory (the fp32 master copies are never modified), fp32 accumulation. Error ~1e-2.
// Ragged edges (m, n, k not multiples of the tile) are handled inside every kernel: out-of-range
// elements are staged as zeros and stores are bounds-checked; any m, n, k >= 0 is supported.
#pragma once

#include <cuda_runtime_api.h>

#include "common/spec/enums.h"  // Precision, Activation: no parser, C++17 for nvcc
#include "common/status.h"

namespace shoal::cuda {

// C = alpha * op(A) * op(B) + beta * C, all row-major float32 device pointers (exactly cpu::Gemm):
//   op(A) is m x k: A is stored m x k (lda >= max(1, k)) when !trans_a, else k x m
//   (lda >= max(1, m)). op(B) is k x n: B is stored k x n (ldb >= max(1, n)) when !trans_b, else
//   n x k (ldb >= max(1, k)). C is m x n with ldc >= max(1, n).
// BLAS conventions: when beta == 0, C is not read (NaN/garbage in C does not propagate); when
// k == 0, C = beta * C (A and B are not read and may be null).
// Aliasing: C must not overlap A or B; A and B may alias each other.
// Stream: the work is enqueued on `stream` and the call returns without synchronizing; pointers
// must stay valid until the stream reaches it. Does not allocate. Thread-safe (no global state).
// Returns InvalidArgument on a negative dimension, a leading dimension below the minimum, an
// unknown precision or a null pointer for a non-empty operand (nothing is enqueued then), and the
// CUDA error as a Status when the launch fails.
Status Gemm(Precision precision, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
            const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc,
            cudaStream_t stream);

}  // namespace shoal::cuda
