// Kernels first, then the launchers (contracts in optimizer.h). This file is compiled with
// --fmad=false (see kernels/cuda/CMakeLists.txt): nvcc would otherwise fuse `p -= lr * v` into an
// FMA, which rounds once instead of twice and breaks bit-equality with the CPU twin.
#include <cuda_runtime.h>

#include <cmath>
#include <string>

#include "kernels/twins/elementwise_math.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_utils.cuh"
#include "kernels/cuda/optimizer.h"

namespace shoal::cuda {
namespace {

constexpr int kOptThreads = 256;

// Every element is independent, so the flat buffer is covered by a grid-stride loop; with all
// pointers 16-byte aligned the body moves float4s (the tail n % 4 is handled element-wise).
template <bool kVec>
__global__ void SgdKernel(float* __restrict__ p, const float* __restrict__ g,
                          float* __restrict__ vel, int64_t n, float lr, float momentum, float wd) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if constexpr (kVec) {
    for (; i < n / 4; i += stride) {
      float4 pv = reinterpret_cast<float4*>(p)[i];
      const float4 gv = reinterpret_cast<const float4*>(g)[i];
      float4 vv = reinterpret_cast<float4*>(vel)[i];
      math::SgdMomentumStep(pv.x, gv.x, vv.x, lr, momentum, wd);
      math::SgdMomentumStep(pv.y, gv.y, vv.y, lr, momentum, wd);
      math::SgdMomentumStep(pv.z, gv.z, vv.z, lr, momentum, wd);
      math::SgdMomentumStep(pv.w, gv.w, vv.w, lr, momentum, wd);
      reinterpret_cast<float4*>(p)[i] = pv;
      reinterpret_cast<float4*>(vel)[i] = vv;
    }
    i = n / 4 * 4 + blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  }
  for (; i < n; i += stride) math::SgdMomentumStep(p[i], g[i], vel[i], lr, momentum, wd);
}

template <bool kVec>
__global__ void AdamWKernel(float* __restrict__ p, const float* __restrict__ g,
                            float* __restrict__ m, float* __restrict__ v, int64_t n, float lr,
                            float beta1, float beta2, float eps, float wd, float bc1, float bc2) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if constexpr (kVec) {
    for (; i < n / 4; i += stride) {
      float4 pv = reinterpret_cast<float4*>(p)[i];
      const float4 gv = reinterpret_cast<const float4*>(g)[i];
      float4 mv = reinterpret_cast<float4*>(m)[i];
      float4 vv = reinterpret_cast<float4*>(v)[i];
      math::AdamWStep(pv.x, gv.x, mv.x, vv.x, lr, beta1, beta2, eps, wd, bc1, bc2);
      math::AdamWStep(pv.y, gv.y, mv.y, vv.y, lr, beta1, beta2, eps, wd, bc1, bc2);
      math::AdamWStep(pv.z, gv.z, mv.z, vv.z, lr, beta1, beta2, eps, wd, bc1, bc2);
      math::AdamWStep(pv.w, gv.w, mv.w, vv.w, lr, beta1, beta2, eps, wd, bc1, bc2);
      reinterpret_cast<float4*>(p)[i] = pv;
      reinterpret_cast<float4*>(m)[i] = mv;
      reinterpret_cast<float4*>(v)[i] = vv;
    }
    i = n / 4 * 4 + blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  }
  for (; i < n; i += stride) {
    math::AdamWStep(p[i], g[i], m[i], v[i], lr, beta1, beta2, eps, wd, bc1, bc2);
  }
}

}  // namespace

Status SgdMomentumUpdate(float* params, const float* grads, float* velocity, int64_t n, float lr,
                         float momentum, float weight_decay, cudaStream_t stream) {
  if (n <= 0) return Status::Ok();
  if (params == nullptr || grads == nullptr || velocity == nullptr) {
    return InvalidArgument("SgdMomentumUpdate: null params, grads or velocity");
  }
  const bool vec = detail::Aligned16(params) && detail::Aligned16(grads) &&
                   detail::Aligned16(velocity);
  const int grid = detail::GridFor(vec ? (n + 3) / 4 : n, kOptThreads);
  if (vec) {
    SgdKernel<true><<<grid, kOptThreads, 0, stream>>>(params, grads, velocity, n, lr, momentum,
                                                       weight_decay);
  } else {
    SgdKernel<false><<<grid, kOptThreads, 0, stream>>>(params, grads, velocity, n, lr, momentum,
                                                        weight_decay);
  }
  SHOAL_CUDA_CHECK_LAUNCH("SgdKernel");
  return Status::Ok();
}

Status AdamWUpdate(float* params, const float* grads, float* m, float* v, int64_t n, float lr,
                   float beta1, float beta2, float eps, float weight_decay, int64_t step,
                   cudaStream_t stream) {
  if (step < 1) return InvalidArgument("AdamWUpdate: step is 1-based, got " + std::to_string(step));
  if (n <= 0) return Status::Ok();
  if (params == nullptr || grads == nullptr || m == nullptr || v == nullptr) {
    return InvalidArgument("AdamWUpdate: null params, grads, m or v");
  }
  // Same expressions as cpu::AdamWUpdate, so both sides use bit-identical corrections.
  const float bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta1), step));
  const float bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(beta2), step));
  const bool vec = detail::Aligned16(params) && detail::Aligned16(grads) && detail::Aligned16(m) &&
                   detail::Aligned16(v);
  const int grid = detail::GridFor(vec ? (n + 3) / 4 : n, kOptThreads);
  if (vec) {
    AdamWKernel<true><<<grid, kOptThreads, 0, stream>>>(params, grads, m, v, n, lr, beta1, beta2,
                                                         eps, weight_decay, bc1, bc2);
  } else {
    AdamWKernel<false><<<grid, kOptThreads, 0, stream>>>(params, grads, m, v, n, lr, beta1, beta2,
                                                          eps, weight_decay, bc1, bc2);
  }
  SHOAL_CUDA_CHECK_LAUNCH("AdamWKernel");
  return Status::Ok();
}

}  // namespace shoal::cuda
