// Mean squared error against one-hot targets, forward and backward fused.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace shoal::cpu {

// Rows of `out` (m x c, row-major, contiguous; the raw network outputs, no activation applied)
// against int32 `labels` in [0, c), with target y_i = onehot(labels_i).
// Definition: the loss of row i is the mean over the c outputs of the squared error,
//   loss_i = (1/c) * sum_j (out[i,j] - y_i[j])^2,
// so on success
//   *loss_sum = sum_i loss_i (double accumulation, unscaled),
//   *correct  = number of rows whose argmax equals the label (ties go to the lowest index),
//   dout      = d(grad_scale * loss_sum)/d out = grad_scale * 2 * (out - y) / c,
//               when dout != nullptr (nullptr = evaluation only).
// `dout` may alias `out`. loss_sum and correct must be non-null.
// Returns InvalidArgument on negative m, c < 1 (when m > 0), null pointers or a label outside
// [0, c); nothing is written then. Does not allocate; thread-safe for disjoint outputs.
Status MeanSquaredError(const float* out, const int32_t* labels, int m, int c, float grad_scale,
                        float* dout, double* loss_sum, int64_t* correct);

}  // namespace shoal::cpu
