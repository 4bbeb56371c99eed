// Launchers shared between gemm.cu (argument checks and dispatch) and the two kernel files. Not a
// public API: arguments are assumed already validated by cuda::Gemm (m, n > 0, k >= 0, leading
// dimensions at their minimum or more, a and b non-null when k > 0).
#pragma once

#include <cuda_runtime_api.h>

#include "common/status.h"

namespace shoal::cuda::detail {

struct GemmArgs {
  bool trans_a = false;
  bool trans_b = false;
  int m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  int lda = 0;
  const float* b = nullptr;
  int ldb = 0;
  float beta = 0.0f;
  float* c = nullptr;
  int ldc = 0;
};

// fp32 SIMT kernel (gemm_simt.cu).
Status LaunchGemmSimt(const GemmArgs& args, cudaStream_t stream);

// Tensor-core kernel (gemm_tensor_core.cu): bf16 == false -> tf32 inputs, true -> bf16 inputs.
Status LaunchGemmTensorCore(const GemmArgs& args, bool bf16, cudaStream_t stream);

}  // namespace shoal::cuda::detail
