// Mean squared error against one-hot targets on the GPU, forward and backward fused, one warp per
// row. CUDA twin of kernels/cpu/mse.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace shoal::cuda {

// Rows of `out` (m x c, row-major, contiguous, device) against int32 device `labels` in [0, c),
// target y_i = onehot(labels_i), loss_i = (1/c) sum_j (out[i,j] - y_i[j])^2. When the stream
// reaches the end of the work:
//   *loss_sum = sum_i loss_i (double, device; each row's squares are summed in double);
//   *correct  = rows whose argmax equals the label, ties to the lowest index (int64, device);
//   dout      = grad_scale * 2 * (out - y) / c when dout != nullptr.
// loss_sum and correct are overwritten (zeroed on `stream`, then accumulated with atomics: the
// last bits of the loss may differ run to run). `dout` may alias `out`. A label outside [0, c)
// makes that row's loss and dout NaN and never counts as correct (labels are not read on the host).
// Returns InvalidArgument on negative m, c < 1 (when m > 0) or null pointers (nothing enqueued),
// or the CUDA error's Status. Does not allocate, does not synchronize; thread-safe.
Status MeanSquaredError(const float* out, const int32_t* labels, int m, int c, float grad_scale,
                        float* dout, double* loss_sum, int64_t* correct, cudaStream_t stream);

}  // namespace shoal::cuda
