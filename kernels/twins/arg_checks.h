// Argument checks shared by the CPU operators and their CUDA twins, so that both reject exactly
// the same calls with the same messages. Host-only; pure functions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace shoal::kernels {

// Row-major GEMM C (m×n) = op(A) (m×k) · op(B) (k×n): dimensions non-negative and leading
// dimensions at least the stored row lengths.
inline Status CheckGemmArgs(bool trans_a, bool trans_b, int m, int n, int k, int lda, int ldb,
                            int ldc) {
  if (m < 0 || n < 0 || k < 0) {
    return InvalidArgument("Gemm: negative dimension m=" + std::to_string(m) +
                           " n=" + std::to_string(n) + " k=" + std::to_string(k));
  }
  // Row-major: the leading dimension is the stored row length.
  const int min_lda = std::max(1, trans_a ? m : k);
  const int min_ldb = std::max(1, trans_b ? k : n);
  const int min_ldc = std::max(1, n);
  if (lda < min_lda || ldb < min_ldb || ldc < min_ldc) {
    return InvalidArgument("Gemm: leading dimension too small: lda=" + std::to_string(lda) +
                           " (min " + std::to_string(min_lda) + ") ldb=" + std::to_string(ldb) +
                           " (min " + std::to_string(min_ldb) + ") ldc=" + std::to_string(ldc) +
                           " (min " + std::to_string(min_ldc) + ")");
  }
  return Status::Ok();
}

// A loss over m rows of c outputs with int32 labels: outputs for the loss sum and correct count,
// m ≥ 0, c ≥ 1 when there are rows, and inputs present when there are rows. `op` names the
// operator in the message; `input` names its input ("logits", "out").
inline Status CheckLossArgs(const char* op, const char* input, const void* values,
                            const int32_t* labels, int m, int c, const void* loss_sum,
                            const void* correct) {
  if (loss_sum == nullptr || correct == nullptr) {
    return InvalidArgument(std::string(op) + ": null loss_sum or correct");
  }
  if (m < 0) return InvalidArgument(std::string(op) + ": negative rows " + std::to_string(m));
  if (m > 0 && c < 1) {
    return InvalidArgument(std::string(op) + ": need at least one class, got " + std::to_string(c));
  }
  if (m > 0 && (values == nullptr || labels == nullptr)) {
    return InvalidArgument(std::string(op) + ": null " + input + " or labels");
  }
  return Status::Ok();
}

}  // namespace shoal::kernels
