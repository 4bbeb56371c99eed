// Softmax + cross-entropy, forward and backward fused in one pass per row: the probabilities are
// never stored separately (the exponentials go straight into dlogits, which is then scaled in
// place).
#pragma once

#include <cstdint>

#include "common/status.h"

namespace shoal::cpu {

// Rows of `logits` (m x c, row-major, contiguous) against int32 `labels` (m entries) in [0, c).
// On success:
//   *loss_sum = sum over rows of -log softmax(logits_i)[labels_i], accumulated in double
//               (unscaled: grad_scale does not apply to it);
//   *correct  = number of rows whose argmax equals the label (ties go to the lowest index);
//   dlogits   = grad_scale * (softmax(logits) - onehot(labels)), i.e. the gradient of
//               grad_scale * loss_sum, when dlogits != nullptr (nullptr = evaluation only).
// The softmax subtracts each row's max first, so large logits do not overflow.
// `dlogits` may alias `logits` (in-place backward). loss_sum and correct must be non-null.
// Returns InvalidArgument on negative m, c < 1 (when m > 0), null pointers, or any label outside
// [0, c); nothing is written then (labels are validated before any output is touched).
// Does not allocate; thread-safe for disjoint outputs.
Status SoftmaxCrossEntropy(const float* logits, const int32_t* labels, int m, int c,
                           float grad_scale, float* dlogits, double* loss_sum, int64_t* correct);

// Checks that every one of the m labels is in [0, c); InvalidArgument naming the first bad row.
// Shared by the loss operators.
Status CheckLabels(const int32_t* labels, int m, int c);

}  // namespace shoal::cpu
