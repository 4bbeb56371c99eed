// Global-memory tile loads shared by the GEMM kernels (SIMT and tensor-core).
//
// An operand tile is described in *stored* coordinates: `rows` x `cols` of a row-major matrix whose
// `cols` dimension is contiguous (leading dimension `ld`). A thread loads one 4-wide chunk along the
// contiguous dimension; elements outside the matrix read as 0, so the arithmetic on a ragged edge
// tile adds zeros and the edge needs no special case in the inner loop.
#pragma once

#include <cuda_runtime.h>

namespace shoal::cuda::detail {

// Loads stored elements (row, col .. col+3). `vec_ok` says the base pointer is 16-byte aligned and
// ld % 4 == 0, so a chunk starting at a multiple of 4 is an aligned float4.
__device__ __forceinline__ float4 LoadChunk(const float* __restrict__ base, int ld, int rows,
                                            int cols, int row, int col, bool vec_ok) {
  float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (row >= rows) return v;
  const float* p = base + static_cast<long long>(row) * ld + col;
  if (vec_ok && col + 3 < cols) {
    return __ldg(reinterpret_cast<const float4*>(p));
  }
  if (col + 0 < cols) v.x = __ldg(p + 0);
  if (col + 1 < cols) v.y = __ldg(p + 1);
  if (col + 2 < cols) v.z = __ldg(p + 2);
  if (col + 3 < cols) v.w = __ldg(p + 3);
  return v;
}

__device__ __forceinline__ float ChunkAt(const float4& v, int q) {
  return q == 0 ? v.x : q == 1 ? v.y : q == 2 ? v.z : v.w;
}

}  // namespace shoal::cuda::detail
