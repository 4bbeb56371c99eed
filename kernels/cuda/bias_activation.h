// Bias + activation on the GPU for a fully-connected layer: forward, and backward fused with the
// bias-gradient column reduction. CUDA twins of kernels/cpu/bias_activation.h with the same
// contracts; the element math is kernels/twins/elementwise_math.h, shared with the CPU.
//
// All pointers are device pointers; matrices are row-major m x n (m = batch rows, n = features),
// contiguous; bias and dbias have n entries. Every function enqueues its work on `stream` and
// returns without synchronizing; nothing allocates. Thread-safe (no global state). Argument errors
// are returned before anything is enqueued; a failed launch is returned as the CUDA error's Status.
#pragma once

#include <cuda_runtime_api.h>

#include "common/spec/enums.h"  // Precision, Activation: no parser, C++17 for nvcc
#include "common/status.h"

namespace shoal::cuda {

// pre[i,j] = z[i,j] + bias[j]; out[i,j] = act(pre[i,j]). `pre` may be nullptr (inference) and may
// alias `z`; `out` may alias `z` and/or `pre` only when `pre` is not needed afterwards.
// Returns InvalidArgument for negative m or n, an unknown activation, or a null z/bias/out when
// m * n > 0.
Status BiasActivationForward(const float* z, const float* bias, int m, int n, Activation act,
                             float* pre, float* out, cudaStream_t stream);

// out[i,j] = z[i,j] + bias[j] (the last layer). `out` may alias `z`. Errors as above.
Status BiasForward(const float* z, const float* bias, int m, int n, float* out,
                   cudaStream_t stream);

// dz[i,j] = dout[i,j] * act'(pre[i,j]); dbias[j] = sum_i dz[i,j] (overwritten). `dz` may alias
// `dout`; neither may overlap `pre` or `dbias`. With m == 0, dbias is set to zero. The column sums
// are accumulated in fp32 in a fixed order (deterministic run to run), not in the CPU's order, so
// dbias agrees with the CPU twin to rounding, not bitwise.
// Returns InvalidArgument for negative m or n, an unknown activation, or a null pointer for a
// non-empty operand.
Status ActivationBackwardBiasGrad(const float* dout, const float* pre, int m, int n, Activation act,
                                  float* dz, float* dbias, cudaStream_t stream);

// dbias[j] = sum_i dz[i,j] (overwritten): the bias gradient of a layer without activation.
// Returns InvalidArgument for negative m or n or null pointers when n > 0.
Status BiasGrad(const float* dz, int m, int n, float* dbias, cudaStream_t stream);

}  // namespace shoal::cuda
