// cuda::Gemm: argument checks (identical to cpu::Gemm's) and dispatch on the precision. The kernels
// live in gemm_simt.cu (fp32) and gemm_tensor_core.cu (tf32, bf16), compiled separately so the
// build runs them in parallel.
#include <algorithm>

#include "kernels/twins/arg_checks.h"
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/gemm_internal.h"
#include "common/spec/enums.h"

namespace shoal::cuda {

Status Gemm(Precision precision, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
            const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc,
            cudaStream_t stream) {
  RETURN_IF_ERROR(kernels::CheckGemmArgs(trans_a, trans_b, m, n, k, lda, ldb, ldc));
  if (precision != Precision::kFp32 && precision != Precision::kTf32 &&
      precision != Precision::kBf16) {
    return InvalidArgument("Gemm: unknown precision " +
                           std::to_string(static_cast<int>(precision)));
  }
  if (m == 0 || n == 0) return Status::Ok();
  if (c == nullptr) return InvalidArgument("Gemm: null C");
  if (k > 0 && (a == nullptr || b == nullptr)) return InvalidArgument("Gemm: null A or B");

  detail::GemmArgs args;
  args.trans_a = trans_a;
  args.trans_b = trans_b;
  args.m = m;
  args.n = n;
  args.k = k;
  args.alpha = alpha;
  args.a = a;
  args.lda = lda;
  args.b = b;
  args.ldb = ldb;
  args.beta = beta;
  args.c = c;
  args.ldc = ldc;
  // k == 0 is C = beta * C: the SIMT kernel does exactly that with zero K slabs, whatever the
  // precision asked for (there is nothing to round).
  if (precision == Precision::kFp32 || k == 0) return detail::LaunchGemmSimt(args, stream);
  return detail::LaunchGemmTensorCore(args, precision == Precision::kBf16, stream);
}

}  // namespace shoal::cuda
