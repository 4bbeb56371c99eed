// Kernels first, then the launchers (contracts in bias_activation.h).
#include <cuda_runtime.h>

#include <string>

#include "kernels/twins/elementwise_math.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_utils.cuh"
#include "common/spec/enums.h"

namespace shoal::cuda {
namespace {

// Activation selector for the templates; kIdentity is the last layer (BiasForward / BiasGrad).
enum ActKind : int { kRelu, kGelu, kTanh, kIdentity };

template <int kAct>
__device__ __forceinline__ float Act(float x) {
  if constexpr (kAct == kRelu) return math::ReluForward(x);
  if constexpr (kAct == kGelu) return math::GeluForward(x);
  if constexpr (kAct == kTanh) return math::TanhForward(x);
  return x;
}

template <int kAct>
__device__ __forceinline__ float ActGrad(float pre) {
  if constexpr (kAct == kRelu) return math::ReluGrad(pre);
  if constexpr (kAct == kGelu) return math::GeluGrad(pre);
  if constexpr (kAct == kTanh) return math::TanhGrad(pre);
  return 1.0f;
}

constexpr int kEwThreads = 256;

// Grid-stride over the m*n elements. Each element is read and then written by the same thread, so
// the permitted aliasing (out == z, pre == z, out == pre) is safe.
template <int kAct>
__global__ void BiasActForwardKernel(const float* z, const float* __restrict__ bias, int64_t total,
                                     int n, float* pre, float* out) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float p = z[idx] + bias[idx % n];
    if (pre != nullptr) pre[idx] = p;
    out[idx] = Act<kAct>(p);
  }
}

// float4 version: n % 4 == 0 and every pointer 16-byte aligned, so a 4-chunk never straddles rows.
template <int kAct>
__global__ void BiasActForwardKernelVec4(const float4* z, const float4* __restrict__ bias,
                                         int64_t total4, int n4, float4* pre, float4* out) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total4;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float4 zv = z[idx];
    const float4 bv = bias[idx % n4];
    const float4 p = make_float4(zv.x + bv.x, zv.y + bv.y, zv.z + bv.z, zv.w + bv.w);
    if (pre != nullptr) pre[idx] = p;
    out[idx] = make_float4(Act<kAct>(p.x), Act<kAct>(p.y), Act<kAct>(p.z), Act<kAct>(p.w));
  }
}

// Column reduction fused with the activation gradient. Block = 32 columns x kRowsPerBlock thread
// rows; the 32 threads of a warp read 32 consecutive columns of one row (coalesced), each thread
// walks its column down the rows, then the block reduces over thread rows in shared memory. One
// block owns a column slab entirely, so the sum order is fixed (deterministic, no atomics).
constexpr int kColReduceRows = 16;

template <int kAct, bool kWriteDz>
__global__ void ActBackwardBiasGradKernel(const float* dout, const float* __restrict__ pre, int m,
                                          int n, float* dz, float* __restrict__ dbias) {
  __shared__ float partial[kColReduceRows][33];
  const int col = blockIdx.x * 32 + threadIdx.x;
  float sum = 0.0f;
  if (col < n) {
    for (int row = threadIdx.y; row < m; row += kColReduceRows) {
      const int64_t idx = static_cast<int64_t>(row) * n + col;
      float d = dout[idx];
      if constexpr (kAct != kIdentity) d *= ActGrad<kAct>(pre[idx]);
      if constexpr (kWriteDz) dz[idx] = d;
      sum += d;
    }
  }
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && col < n) {
    float total = 0.0f;
#pragma unroll
    for (int r = 0; r < kColReduceRows; ++r) total += partial[r][threadIdx.x];
    dbias[col] = total;
  }
}

Status CheckDims(const char* op, int m, int n) {
  if (m < 0 || n < 0) {
    return InvalidArgument(std::string(op) + ": negative dimension m=" + std::to_string(m) +
                           " n=" + std::to_string(n));
  }
  return Status::Ok();
}

Result<int> ActKindOf(const char* op, Activation act) {
  switch (act) {
    case Activation::kRelu:
      return static_cast<int>(kRelu);
    case Activation::kGelu:
      return static_cast<int>(kGelu);
    case Activation::kTanh:
      return static_cast<int>(kTanh);
  }
  return InvalidArgument(std::string(op) + ": unknown activation");
}

template <int kAct>
void LaunchForward(const float* z, const float* bias, int m, int n, float* pre, float* out,
                   cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(m) * n;
  const bool vec = n % 4 == 0 && detail::Aligned16(z) && detail::Aligned16(bias) &&
                   detail::Aligned16(pre) && detail::Aligned16(out);
  if (vec) {
    const int64_t total4 = total / 4;
    BiasActForwardKernelVec4<kAct><<<detail::GridFor(total4, kEwThreads), kEwThreads, 0, stream>>>(
        reinterpret_cast<const float4*>(z), reinterpret_cast<const float4*>(bias), total4, n / 4,
        reinterpret_cast<float4*>(pre), reinterpret_cast<float4*>(out));
  } else {
    BiasActForwardKernel<kAct><<<detail::GridFor(total, kEwThreads), kEwThreads, 0, stream>>>(
        z, bias, total, n, pre, out);
  }
}

Status LaunchForwardKind(int kind, const float* z, const float* bias, int m, int n, float* pre,
                         float* out, cudaStream_t stream) {
  switch (kind) {
    case kRelu:
      LaunchForward<kRelu>(z, bias, m, n, pre, out, stream);
      break;
    case kGelu:
      LaunchForward<kGelu>(z, bias, m, n, pre, out, stream);
      break;
    case kTanh:
      LaunchForward<kTanh>(z, bias, m, n, pre, out, stream);
      break;
    default:
      LaunchForward<kIdentity>(z, bias, m, n, pre, out, stream);
      break;
  }
  SHOAL_CUDA_CHECK_LAUNCH("BiasActForwardKernel");
  return Status::Ok();
}

Status LaunchBackwardKind(int kind, const float* dout, const float* pre, int m, int n, float* dz,
                          float* dbias, cudaStream_t stream) {
  const dim3 block(32, kColReduceRows);
  const dim3 grid((n + 31) / 32);
  switch (kind) {
    case kRelu:
      ActBackwardBiasGradKernel<kRelu, true><<<grid, block, 0, stream>>>(dout, pre, m, n, dz, dbias);
      break;
    case kGelu:
      ActBackwardBiasGradKernel<kGelu, true><<<grid, block, 0, stream>>>(dout, pre, m, n, dz, dbias);
      break;
    case kTanh:
      ActBackwardBiasGradKernel<kTanh, true><<<grid, block, 0, stream>>>(dout, pre, m, n, dz, dbias);
      break;
    default:
      ActBackwardBiasGradKernel<kIdentity, false>
          <<<grid, block, 0, stream>>>(dout, nullptr, m, n, nullptr, dbias);
      break;
  }
  SHOAL_CUDA_CHECK_LAUNCH("ActBackwardBiasGradKernel");
  return Status::Ok();
}

}  // namespace

Status BiasActivationForward(const float* z, const float* bias, int m, int n, Activation act,
                             float* pre, float* out, cudaStream_t stream) {
  RETURN_IF_ERROR(CheckDims("BiasActivationForward", m, n));
  ASSIGN_OR_RETURN(const int kind, ActKindOf("BiasActivationForward", act));
  if (m == 0 || n == 0) return Status::Ok();
  if (z == nullptr || bias == nullptr || out == nullptr) {
    return InvalidArgument("BiasActivationForward: null z, bias or out");
  }
  return LaunchForwardKind(kind, z, bias, m, n, pre, out, stream);
}

Status BiasForward(const float* z, const float* bias, int m, int n, float* out,
                   cudaStream_t stream) {
  RETURN_IF_ERROR(CheckDims("BiasForward", m, n));
  if (m == 0 || n == 0) return Status::Ok();
  if (z == nullptr || bias == nullptr || out == nullptr) {
    return InvalidArgument("BiasForward: null z, bias or out");
  }
  return LaunchForwardKind(kIdentity, z, bias, m, n, nullptr, out, stream);
}

Status ActivationBackwardBiasGrad(const float* dout, const float* pre, int m, int n, Activation act,
                                  float* dz, float* dbias, cudaStream_t stream) {
  RETURN_IF_ERROR(CheckDims("ActivationBackwardBiasGrad", m, n));
  ASSIGN_OR_RETURN(const int kind, ActKindOf("ActivationBackwardBiasGrad", act));
  if (n == 0) return Status::Ok();
  if (dbias == nullptr) return InvalidArgument("ActivationBackwardBiasGrad: null dbias");
  if (m > 0 && (dout == nullptr || pre == nullptr || dz == nullptr)) {
    return InvalidArgument("ActivationBackwardBiasGrad: null dout, pre or dz");
  }
  return LaunchBackwardKind(kind, dout, pre, m, n, dz, dbias, stream);
}

Status BiasGrad(const float* dz, int m, int n, float* dbias, cudaStream_t stream) {
  RETURN_IF_ERROR(CheckDims("BiasGrad", m, n));
  if (n == 0) return Status::Ok();
  if (dbias == nullptr || (m > 0 && dz == nullptr)) {
    return InvalidArgument("BiasGrad: null dz or dbias");
  }
  return LaunchBackwardKind(kIdentity, dz, nullptr, m, n, nullptr, dbias, stream);
}

}  // namespace shoal::cuda
