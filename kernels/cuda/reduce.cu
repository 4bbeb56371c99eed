// Kernels first, then the launchers (contracts in reduce.h).
#include <cuda_runtime.h>

#include "kernels/twins/elementwise_math.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_utils.cuh"
#include "kernels/cuda/reduce.h"

namespace shoal::cuda {
namespace {

constexpr int kReduceThreads = 256;

template <bool kVec>
__global__ void ScaleKernel(float* __restrict__ x, int64_t n, float s) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if constexpr (kVec) {
    for (; i < n / 4; i += stride) {
      float4 v = reinterpret_cast<float4*>(x)[i];
      v.x *= s;
      v.y *= s;
      v.z *= s;
      v.w *= s;
      reinterpret_cast<float4*>(x)[i] = v;
    }
    i = n / 4 * 4 + blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  }
  for (; i < n; i += stride) x[i] *= s;
}

// The flag was zeroed on the stream; a block that saw a non-finite value stores 1 (every writer
// stores the same value, so the race is benign). No early exit: the all-finite case, the common
// one, has to read everything anyway.
__global__ void NonFiniteKernel(const float* __restrict__ x, int64_t n, int32_t* flag) {
  bool ok = true;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    ok &= math::IsFiniteBits(x[i]);
  }
  if (!__syncthreads_and(ok) && threadIdx.x == 0) *flag = 1;
}

__global__ void SumOfSquaresKernel(const float* __restrict__ x, int64_t n, double* sum) {
  __shared__ double scratch[32];
  double acc = 0.0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    acc += static_cast<double>(x[i]) * x[i];
  }
  acc = detail::BlockSum(acc, scratch);
  if (threadIdx.x == 0) atomicAdd(sum, acc);
}

}  // namespace

Status ScaleInPlace(float* x, int64_t n, float s, cudaStream_t stream) {
  if (n <= 0) return Status::Ok();
  if (x == nullptr) return InvalidArgument("ScaleInPlace: null x");
  const bool vec = detail::Aligned16(x);
  const int grid = detail::GridFor(vec ? (n + 3) / 4 : n, kReduceThreads);
  if (vec) {
    ScaleKernel<true><<<grid, kReduceThreads, 0, stream>>>(x, n, s);
  } else {
    ScaleKernel<false><<<grid, kReduceThreads, 0, stream>>>(x, n, s);
  }
  SHOAL_CUDA_CHECK_LAUNCH("ScaleKernel");
  return Status::Ok();
}

Status AnyNonFinite(const float* x, int64_t n, int32_t* d_nonfinite, cudaStream_t stream) {
  if (d_nonfinite == nullptr) return InvalidArgument("AnyNonFinite: null flag");
  if (n > 0 && x == nullptr) return InvalidArgument("AnyNonFinite: null x");
  SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(d_nonfinite, 0, sizeof(int32_t), stream));
  if (n <= 0) return Status::Ok();
  NonFiniteKernel<<<detail::GridFor(n, kReduceThreads, 1024), kReduceThreads, 0, stream>>>(
      x, n, d_nonfinite);
  SHOAL_CUDA_CHECK_LAUNCH("NonFiniteKernel");
  return Status::Ok();
}

Status SumOfSquares(const float* x, int64_t n, double* d_sum, cudaStream_t stream) {
  if (d_sum == nullptr) return InvalidArgument("SumOfSquares: null sum");
  if (n > 0 && x == nullptr) return InvalidArgument("SumOfSquares: null x");
  SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(d_sum, 0, sizeof(double), stream));
  if (n <= 0) return Status::Ok();
  SumOfSquaresKernel<<<detail::GridFor(n, kReduceThreads, 1024), kReduceThreads, 0, stream>>>(
      x, n, d_sum);
  SHOAL_CUDA_CHECK_LAUNCH("SumOfSquaresKernel");
  return Status::Ok();
}

}  // namespace shoal::cuda
