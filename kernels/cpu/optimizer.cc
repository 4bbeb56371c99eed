#include "kernels/cpu/optimizer.h"

#include <cassert>
#include <cmath>

#include "kernels/twins/elementwise_math.h"

namespace shoal::cpu {

void SgdMomentumUpdate(float* params, const float* grads, float* velocity, int64_t n, float lr,
                       float momentum, float weight_decay) {
  for (int64_t i = 0; i < n; ++i) {
    math::SgdMomentumStep(params[i], grads[i], velocity[i], lr, momentum, weight_decay);
  }
}

void AdamWUpdate(float* params, const float* grads, float* m, float* v, int64_t n, float lr,
                 float beta1, float beta2, float eps, float weight_decay, int64_t step) {
  assert(step >= 1 && "AdamWUpdate: step is 1-based");
  if (step < 1) step = 1;
  // The bias corrections are computed once, in double: beta2^step for beta2 = 0.999 loses
  // precision quickly in float as step grows.
  const float bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta1), step));
  const float bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta2), step));
  for (int64_t i = 0; i < n; ++i) {
    math::AdamWStep(params[i], grads[i], m[i], v[i], lr, beta1, beta2, eps, weight_decay, bc1, bc2);
  }
}

}  // namespace shoal::cpu
