// Bias + activation for a fully-connected layer: forward, and backward fused with the bias-gradient
// column reduction (one pass over dout instead of two).
//
// All matrices are row-major m x n (m = batch rows, n = features), contiguous (leading dimension
// n); bias and dbias have n entries. The element math is kernels/twins/elementwise_math.h, shared
// with the CUDA kernels. None of these functions allocate; all are thread-safe for disjoint
// outputs.
#pragma once

#include "common/spec/enums.h"
#include "common/status.h"

namespace shoal::cpu {

// pre[i,j] = z[i,j] + bias[j]; out[i,j] = act(pre[i,j]).
// `pre` may be nullptr (inference: the pre-activation is not kept) and may alias `z`. `out` may
// alias `z` and/or `pre` only when the caller will not need `pre` afterwards (backward reads
// `pre`, so training must keep `out` separate from `pre`).
// GELU is the tanh approximation (see elementwise_math.h).
// Returns InvalidArgument for negative m or n, or a null z/bias/out when m * n > 0; outputs are
// untouched then.
Status BiasActivationForward(const float* z, const float* bias, int m, int n, Activation act,
                             float* pre, float* out);

// out[i,j] = z[i,j] + bias[j] (the last layer, which has no activation). `out` may alias `z`.
// Returns InvalidArgument as BiasActivationForward.
Status BiasForward(const float* z, const float* bias, int m, int n, float* out);

// dz[i,j] = dout[i,j] * act'(pre[i,j]); dbias[j] = sum_i dz[i,j] (overwritten, not accumulated).
// `pre` is the pre-activation written by BiasActivationForward. `dz` may alias `dout`; neither may
// overlap `pre` or `dbias`. With m == 0, dbias is set to zero.
// Returns InvalidArgument for negative m or n, or a null pointer for a non-empty operand; outputs
// are untouched then.
Status ActivationBackwardBiasGrad(const float* dout, const float* pre, int m, int n, Activation act,
                                  float* dz, float* dbias);

// dbias[j] = sum_i dz[i,j] (overwritten): the bias gradient of a layer without activation.
// Returns InvalidArgument for negative m or n or null pointers when n > 0.
Status BiasGrad(const float* dz, int m, int n, float* dbias);

}  // namespace shoal::cpu
