// Optimizer updates on the GPU over one flat parameter buffer, one launch for the whole model.
// CUDA twins of kernels/cpu/optimizer.h: the element math is the same SHOAL_HD functions
// (kernels/twins/elementwise_math.h) and optimizer.cu is compiled with --fmad=false (no
// multiply-add contraction), so on the same inputs the GPU writes bit-identical params and state
// to the CPU twin (the CPU build does not contract either).
//
// All buffers are device pointers with n elements; params, grads and the state buffers must not
// overlap one another. Work is enqueued on `stream`; no allocation, no synchronization;
// thread-safe for disjoint buffers.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace shoal::cuda {

// SGD with momentum and L2 weight decay, in place (PyTorch semantics, see elementwise_math.h).
// `velocity` must start at zero. n <= 0 enqueues nothing.
// Returns InvalidArgument for a null pointer when n > 0, or the CUDA error's Status.
Status SgdMomentumUpdate(float* params, const float* grads, float* velocity, int64_t n, float lr,
                         float momentum, float weight_decay, cudaStream_t stream);

// AdamW with bias correction and decoupled weight decay, in place (PyTorch torch.optim.AdamW).
// `m` and `v` must start at zero; `step` is the 1-based number of this update. The bias
// corrections 1 - beta^step are computed once on the host in double, exactly as the CPU twin does.
// n <= 0 enqueues nothing. Returns InvalidArgument for step < 1 (the CPU twin asserts and treats
// it as 1; here a caller bug is reported instead) or a null pointer when n > 0, or the CUDA
// error's Status.
Status AdamWUpdate(float* params, const float* grads, float* m, float* v, int64_t n, float lr,
                   float beta1, float beta2, float eps, float weight_decay, int64_t step,
                   cudaStream_t stream);

}  // namespace shoal::cuda
