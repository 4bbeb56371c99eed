// Tensor-core GEMM (tf32 or bf16 inputs, fp32 accumulation) through WMMA: C = alpha * op(A) *
// op(B) + beta * C, row-major (contract in gemm.h).
//
// Kernel: a BM x BN block tile per 256-thread block (8 warps as 2 x 4, each warp a
// (BM/2) x (BN/4) patch of 16x16 accumulator fragments). Operands are read from global memory as
// fp32 (float4 when aligned), converted to tf32 / bf16 while being written to shared memory
// (A as [m][k], B as [k][n], both row-major fragments), double-buffered with a register prefetch of
// the next K slab. Out-of-range elements are staged as zeros, so ragged tiles need no SIMT
// fallback; the epilogue goes through a per-warp 16x16 shared scratch to apply alpha/beta with
// bounds checks.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_utils.cuh"
#include "kernels/cuda/gemm_internal.h"
#include "kernels/cuda/gemm_tile_io.cuh"

namespace shoal::cuda::detail {
namespace {

namespace wmma = nvcuda::wmma;

constexpr int kTcThreads = 256;
constexpr int kTcWarps = kTcThreads / 32;

template <bool kBf16>
struct TcTraits;

template <>
struct TcTraits<false> {
  using Elem = float;                      // tf32 values live in fp32 storage
  using FragPrec = wmma::precision::tf32;  // the fragment's element type tag
  static constexpr int kK = 8;             // WMMA shape 16x16x8
  static constexpr int kBk = 16;           // K slab per shared-memory stage
  static constexpr int kPad = 4;           // keeps ldm a multiple of 4 floats (WMMA rule)
  static __device__ __forceinline__ Elem Convert(float x) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    return wmma::__float_to_tf32(x);
#else
    return x;
#endif
  }
};

template <>
struct TcTraits<true> {
  using Elem = __nv_bfloat16;
  using FragPrec = __nv_bfloat16;
  static constexpr int kK = 16;   // WMMA shape 16x16x16
  static constexpr int kBk = 32;
  static constexpr int kPad = 8;  // ldm a multiple of 8 bf16 (WMMA rule)
  static __device__ __forceinline__ Elem Convert(float x) { return __float2bfloat16_rn(x); }
};

template <bool kBf16, int kTile, bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kTcThreads)
    GemmTensorCoreKernel(int m, int n, int k, float alpha, const float* __restrict__ a, int lda,
                         const float* __restrict__ b, int ldb, float beta, float* __restrict__ c,
                         int ldc, bool vec_a, bool vec_b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();  // tf32/bf16 WMMA need sm_80+; the launcher refuses older devices first.
#else
  using T = TcTraits<kBf16>;
  using Elem = typename T::Elem;
  constexpr int kBk = T::kBk;
  constexpr int kK = T::kK;
  constexpr int kLdA = kBk + T::kPad;   // As[m][k]
  constexpr int kLdB = kTile + T::kPad;  // Bs[k][n]
  constexpr int kWm = kTile / 2;         // warp patch: 2 x 4 warps
  constexpr int kWn = kTile / 4;
  constexpr int kFm = kWm / 16;
  constexpr int kFn = kWn / 16;
  constexpr int kChunks = kTile * kBk / 4 / kTcThreads;  // float4 chunks per thread per operand
  static_assert(kChunks >= 1 && kTile * kBk == kChunks * 4 * kTcThreads);

  __shared__ __align__(128) Elem as[2][kTile * kLdA];
  __shared__ __align__(128) Elem bs[2][kBk * kLdB];
  __shared__ __align__(128) float scratch[kTcWarps][16 * 16];

  const int tid = threadIdx.x;
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int warp_m = warp / 4;
  const int warp_n = warp % 4;
  const int m0 = blockIdx.y * kTile;
  const int n0 = blockIdx.x * kTile;

  // Stored-tile shape of each operand: contiguous extent per row (A: k unless transposed, then m;
  // B: n unless transposed, then k).
  constexpr int kContigA = kTransA ? kTile : kBk;
  constexpr int kContigB = kTransB ? kBk : kTile;

  float4 ra[kChunks], rb[kChunks];
  auto load = [&](int k0) {
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      const int ci = tid + i * kTcThreads;
      const int a_r = ci / (kContigA / 4), a_c = (ci % (kContigA / 4)) * 4;
      ra[i] = kTransA ? LoadChunk(a, lda, k, m, k0 + a_r, m0 + a_c, vec_a)
                      : LoadChunk(a, lda, m, k, m0 + a_r, k0 + a_c, vec_a);
      const int b_r = ci / (kContigB / 4), b_c = (ci % (kContigB / 4)) * 4;
      rb[i] = kTransB ? LoadChunk(b, ldb, n, k, n0 + b_r, k0 + b_c, vec_b)
                      : LoadChunk(b, ldb, k, n, k0 + b_r, n0 + b_c, vec_b);
    }
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kChunks; ++i) {
      const int ci = tid + i * kTcThreads;
      const int a_r = ci / (kContigA / 4), a_c = (ci % (kContigA / 4)) * 4;
      const int b_r = ci / (kContigB / 4), b_c = (ci % (kContigB / 4)) * 4;
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        const Elem va = T::Convert(ChunkAt(ra[i], q));
        if (kTransA) {
          as[buf][(a_c + q) * kLdA + a_r] = va;  // stored k x m: (a_r = k, a_c = m)
        } else {
          as[buf][a_r * kLdA + a_c + q] = va;    // stored m x k
        }
        const Elem vb = T::Convert(ChunkAt(rb[i], q));
        if (kTransB) {
          bs[buf][(b_c + q) * kLdB + b_r] = vb;  // stored n x k: (b_r = n, b_c = k)
        } else {
          bs[buf][b_r * kLdB + b_c + q] = vb;    // stored k x n
        }
      }
    }
  };

  wmma::fragment<wmma::accumulator, 16, 16, kK, float> acc[kFm][kFn];
#pragma unroll
  for (int i = 0; i < kFm; ++i) {
#pragma unroll
    for (int j = 0; j < kFn; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  }

  const int num_slabs = (k + kBk - 1) / kBk;
  if (num_slabs > 0) {
    load(0);
    store(0);
    __syncthreads();
  }
  for (int s = 0; s < num_slabs; ++s) {
    const int buf = s & 1;
    const bool has_next = s + 1 < num_slabs;
    if (has_next) load((s + 1) * kBk);
#pragma unroll
    for (int kk = 0; kk < kBk; kk += kK) {
      wmma::fragment<wmma::matrix_a, 16, 16, kK, typename T::FragPrec, wmma::row_major> fa[kFm];
      wmma::fragment<wmma::matrix_b, 16, 16, kK, typename T::FragPrec, wmma::row_major> fb[kFn];
#pragma unroll
      for (int i = 0; i < kFm; ++i) {
        wmma::load_matrix_sync(fa[i], as[buf] + (warp_m * kWm + i * 16) * kLdA + kk, kLdA);
      }
#pragma unroll
      for (int j = 0; j < kFn; ++j) {
        wmma::load_matrix_sync(fb[j], bs[buf] + kk * kLdB + warp_n * kWn + j * 16, kLdB);
      }
#pragma unroll
      for (int i = 0; i < kFm; ++i) {
#pragma unroll
        for (int j = 0; j < kFn; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
      }
    }
    if (has_next) store(buf ^ 1);  // that buffer was last read before the previous barrier
    __syncthreads();
  }

  // Epilogue through the warp's scratch tile; beta == 0 never reads C.
  float* sc = scratch[warp];
#pragma unroll
  for (int i = 0; i < kFm; ++i) {
#pragma unroll
    for (int j = 0; j < kFn; ++j) {
      wmma::store_matrix_sync(sc, acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      const int row0 = m0 + warp_m * kWm + i * 16;
      const int col0 = n0 + warp_n * kWn + j * 16;
#pragma unroll
      for (int e = lane; e < 256; e += 32) {
        const int row = row0 + e / 16;
        const int col = col0 + e % 16;
        if (row < m && col < n) {
          float* p = c + static_cast<long long>(row) * ldc + col;
          const float v = alpha * sc[e];
          *p = beta == 0.0f ? v : v + beta * *p;
        }
      }
      __syncwarp();
    }
  }
#endif
}

template <bool kBf16, int kTile>
Status LaunchTile(const GemmArgs& g, cudaStream_t stream) {
  const dim3 grid((g.n + kTile - 1) / kTile, (g.m + kTile - 1) / kTile);
  if (grid.y > 65535) return InvalidArgument("Gemm: m too large for the tensor-core grid");
  const bool vec_a = Aligned16(g.a) && g.lda % 4 == 0;
  const bool vec_b = Aligned16(g.b) && g.ldb % 4 == 0;
#define SHOAL_TC_LAUNCH(TA, TB)                                                              \
  GemmTensorCoreKernel<kBf16, kTile, TA, TB><<<grid, kTcThreads, 0, stream>>>(               \
      g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc, vec_a, vec_b)
  if (!g.trans_a && !g.trans_b) {
    SHOAL_TC_LAUNCH(false, false);
  } else if (!g.trans_a && g.trans_b) {
    SHOAL_TC_LAUNCH(false, true);
  } else if (g.trans_a && !g.trans_b) {
    SHOAL_TC_LAUNCH(true, false);
  } else {
    SHOAL_TC_LAUNCH(true, true);
  }
#undef SHOAL_TC_LAUNCH
  SHOAL_CUDA_CHECK_LAUNCH("GemmTensorCoreKernel");
  return Status::Ok();
}

template <bool kBf16>
Status LaunchPrecision(const GemmArgs& g, int num_sms, cudaStream_t stream) {
  const long long blocks128 = static_cast<long long>((g.m + 127) / 128) * ((g.n + 127) / 128);
  if (blocks128 >= num_sms) return LaunchTile<kBf16, 128>(g, stream);
  return LaunchTile<kBf16, 64>(g, stream);
}

}  // namespace

Status LaunchGemmTensorCore(const GemmArgs& g, bool bf16, cudaStream_t stream) {
  int device = 0, num_sms = 0, major = 0;
  SHOAL_CUDA_RETURN_IF_ERROR(cudaGetDevice(&device));
  SHOAL_CUDA_RETURN_IF_ERROR(cudaDeviceGetAttribute(&num_sms, cudaDevAttrMultiProcessorCount, device));
  SHOAL_CUDA_RETURN_IF_ERROR(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  if (major < 8) {
    return FailedPrecondition("Gemm: tf32/bf16 tensor cores need compute capability 8.0+, device " +
                              std::to_string(device) + " has " + std::to_string(major) + ".x");
  }
  return bf16 ? LaunchPrecision<true>(g, num_sms, stream)
              : LaunchPrecision<false>(g, num_sms, stream);
}

}  // namespace shoal::cuda::detail
