// fp32 SIMT GEMM: C = alpha * op(A) * op(B) + beta * C, row-major (contract in gemm.h).
//
// Kernel: a TILE x TILE block tile of C per 256-thread block, K consumed in slabs of BK = 1024/TILE
// so each thread stages exactly one float4 of A and one of B per slab. Each thread owns a
// (TILE/16) x (TILE/16) register tile of C. Shared memory is double-buffered and the next slab is
// prefetched into registers while the current one is multiplied, so there is one __syncthreads per
// slab. A is stored k-major in shared memory (As[k][m]) whatever its global layout, so the inner
// loop reads contiguous float4s of both operands.
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_utils.cuh"
#include "kernels/cuda/gemm_internal.h"
#include "kernels/cuda/gemm_tile_io.cuh"

namespace shoal::cuda::detail {
namespace {

constexpr int kSimtThreads = 256;

template <int kTile>
struct SimtShape {
  static constexpr int kBk = 1024 / kTile;   // one float4 per thread per operand per slab
  static constexpr int kThr = kTile / 16;    // register tile is kThr x kThr
  static constexpr int kLd = kTile + 4;      // padded shared row: fewer bank conflicts, 16B rows
};

// Row (or column) of the block tile held by register index i of thread coordinate t in [0, 16).
// With 8 values per thread they are split into two groups of 4, half a tile apart, so a warp's
// float4 shared loads touch distinct banks.
template <int kTile>
__device__ __forceinline__ int RegToTile(int t, int i) {
  constexpr int kThr = SimtShape<kTile>::kThr;
  if constexpr (kThr >= 4) {
    return (i / 4) * (kTile / (kThr / 4)) + t * 4 + (i % 4);
  } else {
    return t * kThr + i;
  }
}

template <int kTile>
__device__ __forceinline__ void LoadFrag(const float* row, int t, float (&frag)[SimtShape<kTile>::kThr]) {
  constexpr int kThr = SimtShape<kTile>::kThr;
  if constexpr (kThr >= 4) {
#pragma unroll
    for (int g = 0; g < kThr / 4; ++g) {
      const float4 v = *reinterpret_cast<const float4*>(row + RegToTile<kTile>(t, g * 4));
      frag[g * 4 + 0] = v.x;
      frag[g * 4 + 1] = v.y;
      frag[g * 4 + 2] = v.z;
      frag[g * 4 + 3] = v.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < kThr; ++i) frag[i] = row[RegToTile<kTile>(t, i)];
  }
}

// Stores one staged chunk into a k-major shared tile sm[k][mn]. `k_contiguous` says the chunk runs
// along k (a transposing store), otherwise along m/n (a direct float4 store).
template <int kTile>
__device__ __forceinline__ void StoreChunk(float* sm, const float4& v, int r, int c4,
                                           bool k_contiguous) {
  constexpr int kLd = SimtShape<kTile>::kLd;
  if (k_contiguous) {
    // r indexes m (or n), c4 indexes k.
    sm[(c4 + 0) * kLd + r] = v.x;
    sm[(c4 + 1) * kLd + r] = v.y;
    sm[(c4 + 2) * kLd + r] = v.z;
    sm[(c4 + 3) * kLd + r] = v.w;
  } else {
    *reinterpret_cast<float4*>(sm + r * kLd + c4) = v;
  }
}

template <int kTile, bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kSimtThreads)
    GemmSimtKernel(int m, int n, int k, float alpha, const float* __restrict__ a, int lda,
                   const float* __restrict__ b, int ldb, float beta, float* __restrict__ c, int ldc,
                   bool vec_a, bool vec_b, bool vec_c) {
  using S = SimtShape<kTile>;
  constexpr int kBk = S::kBk;
  constexpr int kThr = S::kThr;
  constexpr int kLd = S::kLd;
  __shared__ __align__(16) float as[2][kBk * kLd];
  __shared__ __align__(16) float bs[2][kBk * kLd];

  const int tid = threadIdx.x;
  const int m0 = blockIdx.y * kTile;
  const int n0 = blockIdx.x * kTile;

  // Stored-tile coordinates of this thread's chunk. A not transposed: A is m x k, the tile is
  // kTile rows (m) x kBk contiguous (k). Transposed: k x m, kBk rows (k) x kTile contiguous (m).
  // B likewise with n in place of m, mirrored (B not transposed is k x n).
  const int a_r = kTransA ? tid / (kTile / 4) : tid / (kBk / 4);
  const int a_c = kTransA ? (tid % (kTile / 4)) * 4 : (tid % (kBk / 4)) * 4;
  const int b_r = kTransB ? tid / (kBk / 4) : tid / (kTile / 4);
  const int b_c = kTransB ? (tid % (kBk / 4)) * 4 : (tid % (kTile / 4)) * 4;

  auto load_a = [&](int k0) {
    return kTransA ? LoadChunk(a, lda, k, m, k0 + a_r, m0 + a_c, vec_a)
                   : LoadChunk(a, lda, m, k, m0 + a_r, k0 + a_c, vec_a);
  };
  auto load_b = [&](int k0) {
    return kTransB ? LoadChunk(b, ldb, n, k, n0 + b_r, k0 + b_c, vec_b)
                   : LoadChunk(b, ldb, k, n, k0 + b_r, n0 + b_c, vec_b);
  };

  float acc[kThr][kThr];
#pragma unroll
  for (int i = 0; i < kThr; ++i) {
#pragma unroll
    for (int j = 0; j < kThr; ++j) acc[i][j] = 0.0f;
  }

  const int ty = tid / 16;
  const int tx = tid % 16;
  const int num_slabs = (k + kBk - 1) / kBk;
  float4 ra, rb;
  if (num_slabs > 0) {
    ra = load_a(0);
    rb = load_b(0);
    StoreChunk<kTile>(as[0], ra, a_r, a_c, !kTransA);
    StoreChunk<kTile>(bs[0], rb, b_r, b_c, kTransB);
    __syncthreads();
  }
  for (int s = 0; s < num_slabs; ++s) {
    const int buf = s & 1;
    const bool has_next = s + 1 < num_slabs;
    if (has_next) {
      ra = load_a((s + 1) * kBk);
      rb = load_b((s + 1) * kBk);
    }
#pragma unroll
    for (int kk = 0; kk < kBk; ++kk) {
      float fa[kThr], fb[kThr];
      LoadFrag<kTile>(as[buf] + kk * kLd, ty, fa);
      LoadFrag<kTile>(bs[buf] + kk * kLd, tx, fb);
#pragma unroll
      for (int i = 0; i < kThr; ++i) {
#pragma unroll
        for (int j = 0; j < kThr; ++j) acc[i][j] = fmaf(fa[i], fb[j], acc[i][j]);
      }
    }
    if (has_next) {
      // The other buffer was last read in slab s - 1, which ended with a barrier.
      StoreChunk<kTile>(as[buf ^ 1], ra, a_r, a_c, !kTransA);
      StoreChunk<kTile>(bs[buf ^ 1], rb, b_r, b_c, kTransB);
    }
    __syncthreads();
  }

  // Epilogue. beta == 0 never reads C (BLAS rule: garbage or NaN in C must not propagate).
#pragma unroll
  for (int i = 0; i < kThr; ++i) {
    const int row = m0 + RegToTile<kTile>(ty, i);
    if (row >= m) continue;
    float* c_row = c + static_cast<long long>(row) * ldc;
    if constexpr (kThr >= 4) {
#pragma unroll
      for (int g = 0; g < kThr / 4; ++g) {
        const int col = n0 + RegToTile<kTile>(tx, g * 4);
        if (vec_c && col + 3 < n) {
          float4 out = make_float4(alpha * acc[i][g * 4 + 0], alpha * acc[i][g * 4 + 1],
                                   alpha * acc[i][g * 4 + 2], alpha * acc[i][g * 4 + 3]);
          if (beta != 0.0f) {
            const float4 old = *reinterpret_cast<const float4*>(c_row + col);
            out.x += beta * old.x;
            out.y += beta * old.y;
            out.z += beta * old.z;
            out.w += beta * old.w;
          }
          *reinterpret_cast<float4*>(c_row + col) = out;
          continue;
        }
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          if (col + q >= n) break;
          const float v = alpha * acc[i][g * 4 + q];
          c_row[col + q] = beta == 0.0f ? v : v + beta * c_row[col + q];
        }
      }
    } else {
#pragma unroll
      for (int j = 0; j < kThr; ++j) {
        const int col = n0 + RegToTile<kTile>(tx, j);
        if (col >= n) continue;
        const float v = alpha * acc[i][j];
        c_row[col] = beta == 0.0f ? v : v + beta * c_row[col];
      }
    }
  }
}

template <int kTile>
Status LaunchTile(const GemmArgs& g, cudaStream_t stream) {
  const dim3 grid((g.n + kTile - 1) / kTile, (g.m + kTile - 1) / kTile);
  if (grid.y > 65535) return InvalidArgument("Gemm: m too large for the SIMT grid");
  const bool vec_a = Aligned16(g.a) && g.lda % 4 == 0;
  const bool vec_b = Aligned16(g.b) && g.ldb % 4 == 0;
  const bool vec_c = Aligned16(g.c) && g.ldc % 4 == 0;
#define SHOAL_SIMT_LAUNCH(TA, TB)                                                              \
  GemmSimtKernel<kTile, TA, TB><<<grid, kSimtThreads, 0, stream>>>(                            \
      g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc, vec_a, vec_b, vec_c)
  if (!g.trans_a && !g.trans_b) {
    SHOAL_SIMT_LAUNCH(false, false);
  } else if (!g.trans_a && g.trans_b) {
    SHOAL_SIMT_LAUNCH(false, true);
  } else if (g.trans_a && !g.trans_b) {
    SHOAL_SIMT_LAUNCH(true, false);
  } else {
    SHOAL_SIMT_LAUNCH(true, true);
  }
#undef SHOAL_SIMT_LAUNCH
  SHOAL_CUDA_CHECK_LAUNCH("GemmSimtKernel");
  return Status::Ok();
}

}  // namespace

Status LaunchGemmSimt(const GemmArgs& g, cudaStream_t stream) {
  // Largest tile that still gives every SM a block: the layer products of a small MLP (e.g.
  // 128 x 256) would otherwise run on two or three SMs of a GPU that has 100+.
  int device = 0, num_sms = 0;
  SHOAL_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  SHOAL_CUDA_RETURN_IF_ERROR(cudaDeviceGetAttribute(&num_sms, cudaDevAttrMultiProcessorCount, device));
  auto blocks = [&](int tile) {
    return static_cast<long long>((g.m + tile - 1) / tile) * ((g.n + tile - 1) / tile);
  };
  if (blocks(128) >= num_sms) return LaunchTile<128>(g, stream);
  if (blocks(64) >= num_sms / 2) return LaunchTile<64>(g, stream);
  return LaunchTile<32>(g, stream);
}

}  // namespace shoal::cuda::detail
