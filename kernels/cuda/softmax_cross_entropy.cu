// Kernel first, then the launcher (contract in softmax_cross_entropy.h).
#include <cuda_runtime.h>

#include "kernels/twins/arg_checks.h"

#include <climits>
#include <cmath>
#include <string>

#include "kernels/twins/elementwise_math.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_utils.cuh"
#include "kernels/cuda/softmax_cross_entropy.h"

namespace shoal::cuda {
namespace {

constexpr int kLossThreads = 256;  // 8 rows (warps) per block
constexpr int kRowsPerBlock = kLossThreads / detail::kWarpSize;

__global__ void __launch_bounds__(kLossThreads)
    SoftmaxXentKernel(const float* logits, const int32_t* __restrict__ labels, int m, int c,
                      float grad_scale, float* dlogits, double* loss_sum, int64_t* correct) {
  const int lane = threadIdx.x % detail::kWarpSize;
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / detail::kWarpSize;
  double row_loss = 0.0;
  int row_hit = 0;
  if (row < m) {  // warp-uniform
    const float* x = logits + static_cast<int64_t>(row) * c;
    const int label = labels[row];
    const bool label_ok = label >= 0 && label < c;
    // Read before any lane writes dlogits, which may alias logits.
    const float x_label = label_ok ? x[label] : 0.0f;

    // One read of the row: running max with the running sum rescaled when the max grows (online
    // softmax), and the lane's argmax (strict >, columns visited in increasing order, so the
    // lowest index wins ties as on the CPU).
    float run_max = -INFINITY, run_sum = 0.0f, best_v = -INFINITY;
    int best_i = INT_MAX;
    for (int j = lane; j < c; j += detail::kWarpSize) {
      const float v = x[j];
      if (v > run_max) {
        run_sum = run_sum * expf(run_max - v) + 1.0f;
        run_max = v;
      } else {
        run_sum += expf(v - run_max);
      }
      if (v > best_v || best_i == INT_MAX) {
        best_v = v;
        best_i = j;
      }
    }
    const float row_max = detail::WarpMax(run_max);
    // Lanes that saw no column have run_sum 0 (and exp(-inf) = 0), so they add nothing.
    const float sum = detail::WarpSum(run_max == -INFINITY ? 0.0f : run_sum * expf(run_max - row_max));
    detail::WarpArgMax(best_v, best_i);

    if (dlogits != nullptr) {
      float* d = dlogits + static_cast<int64_t>(row) * c;
      const float inv_sum = 1.0f / sum;
      for (int j = lane; j < c; j += detail::kWarpSize) {
        const float g = math::SoftmaxXentGrad(expf(x[j] - row_max) * inv_sum, j == label, grad_scale);
        d[j] = label_ok ? g : NAN;
      }
    }
    if (lane == 0) {
      // -log softmax[label] = max + log(sum) - x_label; sum >= 1, so the log never sees 0.
      row_loss = label_ok ? static_cast<double>(row_max) + log(static_cast<double>(sum)) -
                                static_cast<double>(x_label)
                          : static_cast<double>(NAN);
      row_hit = (label_ok && best_i == label) ? 1 : 0;
    }
  }
  detail::BlockAddLossStats(row_loss, row_hit, loss_sum, correct);
}

}  // namespace

Status SoftmaxCrossEntropy(const float* logits, const int32_t* labels, int m, int c,
                           float grad_scale, float* dlogits, double* loss_sum, int64_t* correct,
                           cudaStream_t stream) {
  RETURN_IF_ERROR(kernels::CheckLossArgs("SoftmaxCrossEntropy", "logits", logits, labels, m, c,
                                         loss_sum, correct));
  SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(loss_sum, 0, sizeof(double), stream));
  SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(correct, 0, sizeof(int64_t), stream));
  if (m == 0) return Status::Ok();
  const int blocks = (m + kRowsPerBlock - 1) / kRowsPerBlock;
  SoftmaxXentKernel<<<blocks, kLossThreads, 0, stream>>>(logits, labels, m, c, grad_scale, dlogits,
                                                         loss_sum, correct);
  SHOAL_CUDA_CHECK_LAUNCH("SoftmaxXentKernel");
  return Status::Ok();
}

}  // namespace shoal::cuda
