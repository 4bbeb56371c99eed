#include "kernels/cpu/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <string>

#include "kernels/twins/arg_checks.h"

namespace shoal::cpu {

Status Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
            const float* b, int ldb, float beta, float* c, int ldc) {
  RETURN_IF_ERROR(kernels::CheckGemmArgs(trans_a, trans_b, m, n, k, lda, ldb, ldc));
  if (m == 0 || n == 0) return Status::Ok();
  if (c == nullptr) return InvalidArgument("Gemm: null C");
  if (k == 0) {
    // Some BLAS builds return early on k == 0 without applying beta; do it here so the contract
    // holds regardless of the library.
    for (int i = 0; i < m; ++i) {
      float* row = c + static_cast<int64_t>(i) * ldc;
      if (beta == 0.0f) {
        std::fill(row, row + n, 0.0f);
      } else if (beta != 1.0f) {
        for (int j = 0; j < n; ++j) row[j] *= beta;
      }
    }
    return Status::Ok();
  }
  if (a == nullptr || b == nullptr) return InvalidArgument("Gemm: null A or B");
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  return Status::Ok();
}

}  // namespace shoal::cpu
