// Whole-buffer utilities around the gradient all-reduce, on the GPU: averaging the summed gradient
// (scale in place), a non-finite check whose answer stays on the device (so the trainer can copy
// it back together with other scalars, or skip the step without an extra sync), and a sum of
// squares for gradient-norm logging. CUDA twins of kernels/cpu/reduce.h.
//
// Pointers are device pointers; work is enqueued on `stream`, nothing allocates or synchronizes;
// thread-safe for disjoint buffers. Each returns InvalidArgument for a null pointer when the
// buffer is non-empty, or the CUDA error's Status.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace shoal::cuda {

// x[i] *= s for i in [0, n) (bit-identical to cpu::ScaleInPlace). n <= 0 enqueues nothing.
Status ScaleInPlace(float* x, int64_t n, float s, cudaStream_t stream);

// Sets the device int *d_nonfinite to 0 when none of the n values is NaN or +-inf, else to 1
// (the negation of cpu::AllFinite, so a plain memset can clear it). n <= 0 writes 0.
Status AnyNonFinite(const float* x, int64_t n, int32_t* d_nonfinite, cudaStream_t stream);

// Sets the device double *d_sum to sum x[i]^2, accumulated in double (atomics across blocks: the
// last bits may vary run to run). n <= 0 writes 0.
Status SumOfSquares(const float* x, int64_t n, double* d_sum, cudaStream_t stream);

}  // namespace shoal::cuda
