// Device helpers shared by the kernels of kernels/cuda/: warp and block reductions and launch-size
// arithmetic. Header-only, included by .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace shoal::cuda::detail {

inline constexpr unsigned kFullWarpMask = 0xffffffffu;
inline constexpr int kWarpSize = 32;

template <typename T>
__device__ __forceinline__ T WarpSum(T v) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    v += __shfl_xor_sync(kFullWarpMask, v, offset);
  }
  return v;
}

template <typename T>
__device__ __forceinline__ T WarpMax(T v) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    v = max(v, __shfl_xor_sync(kFullWarpMask, v, offset));
  }
  return v;
}

// Warp-wide argmax with ties going to the lowest index (the CPU twins' rule). Every lane returns
// the winner in (value, index).
__device__ __forceinline__ void WarpArgMax(float& value, int& index) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    const float other_v = __shfl_xor_sync(kFullWarpMask, value, offset);
    const int other_i = __shfl_xor_sync(kFullWarpMask, index, offset);
    if (other_v > value || (other_v == value && other_i < index)) {
      value = other_v;
      index = other_i;
    }
  }
}

// Sum over the whole block; the result is valid in thread 0 only. `scratch` needs one T per warp
// (at most 32). Every thread of the block must call it (it synchronizes).
template <typename T>
__device__ T BlockSum(T v, T* scratch) {
  const int lane = threadIdx.x % kWarpSize;
  const int warp = threadIdx.x / kWarpSize;
  v = WarpSum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int num_warps = (blockDim.x + kWarpSize - 1) / kWarpSize;
  T total = T(0);
  if (warp == 0) {
    total = lane < num_warps ? scratch[lane] : T(0);
    total = WarpSum(total);
  }
  return total;
}

// Grid size for a grid-stride loop over n items: enough blocks to fill the GPU a few times over,
// never more than the work needs (the loop covers the rest).
inline int GridFor(int64_t n, int threads, int max_blocks = 4096) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(blocks, max_blocks)));
}

inline bool Aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// Loss operators process one row per warp; after each warp's lane 0 holds its row's (loss, hit),
// this adds the block's totals to the device accumulators with one atomic each. Rows beyond m
// contribute (0, 0). Every thread must call it; blockDim.x must be a multiple of 32 and at most
// 1024. Float-add order across blocks varies, so the last bits of *loss_sum may vary run to run;
// *correct is exact.
__device__ __forceinline__ void BlockAddLossStats(double row_loss, int row_hit, double* loss_sum,
                                                  int64_t* correct) {
  __shared__ double warp_loss[32];
  __shared__ int warp_hit[32];
  const int lane = threadIdx.x % kWarpSize;
  const int warp = threadIdx.x / kWarpSize;
  if (lane == 0) {
    warp_loss[warp] = row_loss;
    warp_hit[warp] = row_hit;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    double loss = 0.0;
    long long hits = 0;
    for (int w = 0; w < static_cast<int>(blockDim.x) / kWarpSize; ++w) {
      loss += warp_loss[w];
      hits += warp_hit[w];
    }
    atomicAdd(loss_sum, loss);
    atomicAdd(reinterpret_cast<unsigned long long*>(correct), static_cast<unsigned long long>(hits));
  }
}

}  // namespace shoal::cuda::detail
