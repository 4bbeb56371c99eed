// Optimizer updates over one flat parameter buffer: the whole model is a single launch, so the
// CPU and CUDA backends update all layers at once right after the (single) gradient all-reduce.
// Element math: kernels/twins/elementwise_math.h (PyTorch semantics, documented there).
#pragma once

#include <cstdint>

namespace shoal::cpu {

// SGD with momentum and L2 weight decay over n elements, in place:
//   g' = grads + weight_decay * params; velocity = momentum * velocity + g'; params -= lr *
//   velocity.
// `velocity` must start at zero before the first step. params, grads and velocity must not
// overlap one another. n <= 0 does nothing. Does not allocate; not thread-safe on the same buffers.
void SgdMomentumUpdate(float* params, const float* grads, float* velocity, int64_t n, float lr,
                       float momentum, float weight_decay);

// AdamW over n elements, in place: decoupled weight decay (params *= 1 - lr * weight_decay), then
// the Adam step with bias correction 1 - beta^step (PyTorch torch.optim.AdamW semantics).
// `m` and `v` (first and second moments) must start at zero; `step` is the 1-based number of this
// update (step < 1 is a caller bug: asserted in debug builds, treated as 1 otherwise). params,
// grads, m and v must not overlap. n <= 0 does nothing. Does not allocate.
void AdamWUpdate(float* params, const float* grads, float* m, float* v, int64_t n, float lr,
                 float beta1, float beta2, float eps, float weight_decay, int64_t step);

}  // namespace shoal::cpu
