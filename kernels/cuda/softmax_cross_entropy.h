// Softmax + cross-entropy on the GPU, forward and backward fused: one warp per row computes the
// row max, the sum of exponentials (online, in one read of the row), the argmax, the loss and
// dlogits; the probabilities are never stored separately. CUDA twin of
// kernels/cpu/softmax_cross_entropy.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace shoal::cuda {

// Rows of `logits` (m x c, row-major, contiguous, device) against int32 device `labels` in [0, c).
// Enqueued on `stream`; when the stream reaches the end of the work:
//   *loss_sum = sum over rows of -log softmax(logits_i)[labels_i] (double, device, unscaled);
//   *correct  = rows whose argmax equals the label, ties to the lowest index (int64, device);
//   dlogits   = grad_scale * (softmax(logits) - onehot(labels)) when dlogits != nullptr.
// loss_sum and correct are overwritten (zeroed on `stream`, then accumulated with atomics, so the
// last bits of the loss may differ run to run; dlogits and correct are deterministic).
// `dlogits` may alias `logits`. Labels live on the device and are not checked on the host: a
// label outside [0, c) makes that row's loss and dlogits NaN (so *loss_sum is NaN and the
// trainer's all-finite check trips) and never counts as correct; validate labels at load time.
// Returns InvalidArgument on negative m, c < 1 (when m > 0) or null pointers (nothing enqueued),
// or the CUDA error's Status. Does not allocate, does not synchronize; thread-safe.
Status SoftmaxCrossEntropy(const float* logits, const int32_t* labels, int m, int c,
                           float grad_scale, float* dlogits, double* loss_sum, int64_t* correct,
                           cudaStream_t stream);

}  // namespace shoal::cuda
