// Kernel first, then the launcher (contract in mse.h).
#include <cuda_runtime.h>

#include "kernels/twins/arg_checks.h"

#include <climits>
#include <cmath>
#include <string>

#include "kernels/twins/elementwise_math.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_utils.cuh"
#include "kernels/cuda/mse.h"

namespace shoal::cuda {
namespace {

constexpr int kLossThreads = 256;  // 8 rows (warps) per block
constexpr int kRowsPerBlock = kLossThreads / detail::kWarpSize;

__global__ void __launch_bounds__(kLossThreads)
    MseKernel(const float* out, const int32_t* __restrict__ labels, int m, int c,
              float two_scale_over_c, float* dout, double* loss_sum, int64_t* correct) {
  const int lane = threadIdx.x % detail::kWarpSize;
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / detail::kWarpSize;
  double row_loss = 0.0;
  int row_hit = 0;
  if (row < m) {  // warp-uniform
    const float* o = out + static_cast<int64_t>(row) * c;
    float* d = dout != nullptr ? dout + static_cast<int64_t>(row) * c : nullptr;
    const int label = labels[row];
    const bool label_ok = label >= 0 && label < c;
    // Squares in double, as on the CPU: the batch loss should not depend on the split.
    double sq = 0.0;
    float best_v = -INFINITY;
    int best_i = INT_MAX;
    for (int j = lane; j < c; j += detail::kWarpSize) {
      const float v = o[j];  // read before the (possibly aliasing) write below
      if (v > best_v || best_i == INT_MAX) {
        best_v = v;
        best_i = j;
      }
      const double diff = static_cast<double>(v) - (j == label ? 1.0 : 0.0);
      sq += diff * diff;
      if (d != nullptr) d[j] = label_ok ? math::MseGrad(v, j == label, two_scale_over_c) : NAN;
    }
    sq = detail::WarpSum(sq);
    detail::WarpArgMax(best_v, best_i);
    if (lane == 0) {
      row_loss = label_ok ? sq / c : static_cast<double>(NAN);
      row_hit = (label_ok && best_i == label) ? 1 : 0;
    }
  }
  detail::BlockAddLossStats(row_loss, row_hit, loss_sum, correct);
}

}  // namespace

Status MeanSquaredError(const float* out, const int32_t* labels, int m, int c, float grad_scale,
                        float* dout, double* loss_sum, int64_t* correct, cudaStream_t stream) {
  RETURN_IF_ERROR(
      kernels::CheckLossArgs("MeanSquaredError", "out", out, labels, m, c, loss_sum, correct));
  SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(loss_sum, 0, sizeof(double), stream));
  SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(correct, 0, sizeof(int64_t), stream));
  if (m == 0) return Status::Ok();
  // Same expression as the CPU twin, evaluated on the host, so both use the identical float.
  const float two_scale_over_c = 2.0f * grad_scale / static_cast<float>(c);
  const int blocks = (m + kRowsPerBlock - 1) / kRowsPerBlock;
  MseKernel<<<blocks, kLossThreads, 0, stream>>>(out, labels, m, c, two_scale_over_c, dout,
                                                 loss_sum, correct);
  SHOAL_CUDA_CHECK_LAUNCH("MseKernel");
  return Status::Ok();
}

}  // namespace shoal::cuda
