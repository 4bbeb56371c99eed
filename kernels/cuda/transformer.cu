// Kernels first, then the launchers (contracts in transformer.h). Attention is in
// transformer_attention.cu. Built with --fmad=false so element-wise results match the CPU bitwise.
#include <cuda_runtime.h>

#include <string>

#include "kernels/cpu/transformer.h"  // kLayerNormEps, shared with the CPU twin
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_utils.cuh"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/transformer.h"
#include "kernels/cuda/transformer_internal.h"

namespace shoal::cuda {
namespace {

constexpr int kEwThreads = 256;

// ---- Embedding ----

// Grid-stride over the B*T*C outputs; an out-of-range token yields NaN instead of a wild read.
__global__ void EmbeddingForwardKernel(const int32_t* __restrict__ tokens,
                                       const float* __restrict__ wte, const float* __restrict__ wpe,
                                       int T, int C, int V, int64_t total,
                                       float* __restrict__ out) {
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = idx / C;
    const int c = static_cast<int>(idx % C);
    const int t = static_cast<int>(row % T);
    const int32_t tok = tokens[row];
    out[idx] = (tok >= 0 && tok < V)
                   ? wte[static_cast<int64_t>(tok) * C + c] + wpe[static_cast<int64_t>(t) * C + c]
                   : __int_as_float(0x7fc00000);  // NaN
  }
}

constexpr int kEmbThreads = 256;
constexpr int kEmbWarps = kEmbThreads / detail::kWarpSize;

// dwte without atomics: block v owns vocabulary row v. It scans the tokens in chunks of
// kEmbThreads, compacts the positions holding v in ascending order (ballot + per-warp prefix), and
// adds their dout rows one after the other, so each dwte element sees exactly the CPU's sequence
// of fp32 additions. Rows of tokens not in the batch cost only the scan.
__global__ void __launch_bounds__(kEmbThreads)
    EmbeddingBackwardWteKernel(const float* __restrict__ dout, const int32_t* __restrict__ tokens,
                               int64_t rows, int C, float* __restrict__ dwte) {
  __shared__ int64_t hits[kEmbThreads];
  __shared__ int warp_hits[kEmbWarps];
  const int v = blockIdx.x;
  const int lane = threadIdx.x % detail::kWarpSize;
  const int warp = threadIdx.x / detail::kWarpSize;
  float* dst = dwte + static_cast<int64_t>(v) * C;
  for (int64_t base = 0; base < rows; base += kEmbThreads) {
    const int64_t r = base + threadIdx.x;
    const bool hit = r < rows && tokens[r] == v;
    const unsigned ballot = __ballot_sync(detail::kFullWarpMask, hit);
    if (lane == 0) warp_hits[warp] = __popc(ballot);
    __syncthreads();
    int offset = 0, count = 0;
#pragma unroll
    for (int w = 0; w < kEmbWarps; ++w) {
      if (w < warp) offset += warp_hits[w];
      count += warp_hits[w];
    }
    if (hit) hits[offset + __popc(ballot & ((1u << lane) - 1u))] = r;
    __syncthreads();
    if (count > 0) {  // block-uniform
      for (int c = threadIdx.x; c < C; c += kEmbThreads) {
        float acc = dst[c];
        for (int i = 0; i < count; ++i) acc += dout[hits[i] * C + c];
        dst[c] = acc;
      }
    }
    __syncthreads();  // hits and warp_hits are rewritten by the next chunk
  }
}

// dwpe[t, c] += dout[b, t, c] for b ascending: one thread per (t, c), the CPU's addition order.
__global__ void EmbeddingBackwardWpeKernel(const float* __restrict__ dout, int B, int T, int C,
                                           float* __restrict__ dwpe) {
  const int64_t total = static_cast<int64_t>(T) * C;
  const int64_t batch_stride = total;
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float acc = dwpe[idx];
    for (int b = 0; b < B; ++b) acc += dout[b * batch_stride + idx];
    dwpe[idx] = acc;
  }
}

// ---- LayerNorm ----

constexpr int kRowThreads = 256;  // one warp per row, 8 rows per block
constexpr int kRowsPerBlock = kRowThreads / detail::kWarpSize;

__global__ void __launch_bounds__(kRowThreads)
    LayerNormForwardKernel(const float* __restrict__ x, const float* __restrict__ weight,
                           const float* __restrict__ bias, int N, int C, float eps,
                           float* __restrict__ out, float* __restrict__ mean,
                           float* __restrict__ rstd) {
  const int lane = threadIdx.x % detail::kWarpSize;
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / detail::kWarpSize;
  if (row >= N) return;  // warp-uniform
  const float* xr = x + static_cast<int64_t>(row) * C;
  float sum = 0.0f;
  for (int c = lane; c < C; c += detail::kWarpSize) sum += xr[c];
  const float m = detail::WarpSum(sum) / C;
  // Two passes (mean, then squared deviations) as on the CPU: no cancellation from E[x^2]-m^2.
  float sq = 0.0f;
  for (int c = lane; c < C; c += detail::kWarpSize) {
    const float d = xr[c] - m;
    sq += d * d;
  }
  const float s = 1.0f / sqrtf(detail::WarpSum(sq) / C + eps);
  float* o = out + static_cast<int64_t>(row) * C;
  for (int c = lane; c < C; c += detail::kWarpSize) o[c] = (xr[c] - m) * s * weight[c] + bias[c];
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = s;
  }
}

// dx for one row per warp: with norm = (x - mean) * rstd and g = weight * dout,
// dx += (g - mean(g) - norm * mean(g * norm)) * rstd.
__global__ void __launch_bounds__(kRowThreads)
    LayerNormBackwardDxKernel(const float* __restrict__ dout, const float* __restrict__ x,
                              const float* __restrict__ weight, const float* __restrict__ mean,
                              const float* __restrict__ rstd, int N, int C,
                              float* __restrict__ dx) {
  const int lane = threadIdx.x % detail::kWarpSize;
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / detail::kWarpSize;
  if (row >= N) return;  // warp-uniform
  const int64_t off = static_cast<int64_t>(row) * C;
  const float m = mean[row], s = rstd[row];
  float g_sum = 0.0f, gn_sum = 0.0f;
  for (int c = lane; c < C; c += detail::kWarpSize) {
    const float g = weight[c] * dout[off + c];
    g_sum += g;
    gn_sum += g * ((x[off + c] - m) * s);
  }
  const float g_mean = detail::WarpSum(g_sum) / C;
  const float gn_mean = detail::WarpSum(gn_sum) / C;
  for (int c = lane; c < C; c += detail::kWarpSize) {
    const float norm = (x[off + c] - m) * s;
    dx[off + c] += (weight[c] * dout[off + c] - g_mean - norm * gn_mean) * s;
  }
}

// dweight += sum_n dout * norm, dbias += sum_n dout: block = 32 columns x kColRows thread rows;
// each thread walks its column down every kColRows-th row, then thread row 0 adds the kColRows
// partials in order. One block owns its columns, so the order is fixed (no atomics).
constexpr int kColRows = 32;

__global__ void __launch_bounds__(32 * kColRows)
    LayerNormBackwardParamKernel(const float* __restrict__ dout, const float* __restrict__ x,
                                 const float* __restrict__ mean, const float* __restrict__ rstd,
                                 int N, int C, float* __restrict__ dweight,
                                 float* __restrict__ dbias) {
  __shared__ float part_w[kColRows][33];
  __shared__ float part_b[kColRows][33];
  const int col = blockIdx.x * 32 + threadIdx.x;
  float dw = 0.0f, db = 0.0f;
  if (col < C) {
    for (int row = threadIdx.y; row < N; row += kColRows) {
      const int64_t idx = static_cast<int64_t>(row) * C + col;
      const float d = dout[idx];
      dw += d * ((x[idx] - mean[row]) * rstd[row]);
      db += d;
    }
  }
  part_w[threadIdx.y][threadIdx.x] = dw;
  part_b[threadIdx.y][threadIdx.x] = db;
  __syncthreads();
  if (threadIdx.y == 0 && col < C) {
    float tw = 0.0f, tb = 0.0f;
#pragma unroll
    for (int r = 0; r < kColRows; ++r) {
      tw += part_w[r][threadIdx.x];
      tb += part_b[r][threadIdx.x];
    }
    dweight[col] += tw;
    dbias[col] += tb;
  }
}

// ---- Residual, sum of squares ----

// Each element is read and written by the same thread, so out may alias a or b.
__global__ void ResidualKernel(const float* a, const float* b, int64_t n, float* out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = a[i] + b[i];
  }
}

__global__ void TokensFromFloatsKernel(const float* __restrict__ x, int64_t n, int V,
                                       int32_t* __restrict__ tokens) {
  const float limit = static_cast<float>(V);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float v = x[i];
    tokens[i] = (v >= 0.0f && v == floorf(v) && v < limit) ? static_cast<int32_t>(v) : -1;
  }
}

constexpr int kSsqThreads = 256;

// Block j sums x[j*256 + tid + k*grid*256] in double, then the block's fixed butterfly.
__global__ void __launch_bounds__(kSsqThreads)
    SumOfSquaresPartialKernel(const float* __restrict__ x, int64_t n,
                              double* __restrict__ partials) {
  __shared__ double scratch[32];
  double acc = 0.0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const double v = x[i];
    acc += v * v;
  }
  acc = detail::BlockSum(acc, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// One block of kSumOfSquaresScratch threads: thread i holds partial i (or 0), fixed butterfly.
__global__ void __launch_bounds__(kSumOfSquaresScratch)
    SumOfSquaresFinalKernel(const double* __restrict__ partials, int count,
                            double* __restrict__ sum) {
  __shared__ double scratch[32];
  const double v = static_cast<int>(threadIdx.x) < count ? partials[threadIdx.x] : 0.0;
  const double total = detail::BlockSum(v, scratch);
  if (threadIdx.x == 0) *sum = total;
}

int RowBlocks(int rows) { return (rows + kRowsPerBlock - 1) / kRowsPerBlock; }

}  // namespace

Status EmbeddingForward(const int32_t* tokens, const float* wte, const float* wpe, int B, int T,
                        int C, int V, float* out, cudaStream_t stream) {
  RETURN_IF_ERROR(detail::Positive("EmbeddingForward", {{"B", B}, {"T", T}, {"C", C}, {"V", V}}));
  RETURN_IF_ERROR(detail::NonNull("EmbeddingForward",
                                  {{"tokens", tokens}, {"wte", wte}, {"wpe", wpe}, {"out", out}}));
  const int64_t total = static_cast<int64_t>(B) * T * C;
  EmbeddingForwardKernel<<<detail::GridFor(total, kEwThreads), kEwThreads, 0, stream>>>(
      tokens, wte, wpe, T, C, V, total, out);
  SHOAL_CUDA_CHECK_LAUNCH("EmbeddingForwardKernel");
  return Status::Ok();
}

Status EmbeddingBackward(const float* dout, const int32_t* tokens, int B, int T, int C, int V,
                         float* dwte, float* dwpe, cudaStream_t stream) {
  RETURN_IF_ERROR(detail::Positive("EmbeddingBackward", {{"B", B}, {"T", T}, {"C", C}, {"V", V}}));
  RETURN_IF_ERROR(detail::NonNull(
      "EmbeddingBackward", {{"dout", dout}, {"tokens", tokens}, {"dwte", dwte}, {"dwpe", dwpe}}));
  EmbeddingBackwardWteKernel<<<V, kEmbThreads, 0, stream>>>(dout, tokens,
                                                            static_cast<int64_t>(B) * T, C, dwte);
  SHOAL_CUDA_CHECK_LAUNCH("EmbeddingBackwardWteKernel");
  const int64_t wpe_total = static_cast<int64_t>(T) * C;
  EmbeddingBackwardWpeKernel<<<detail::GridFor(wpe_total, kEwThreads), kEwThreads, 0, stream>>>(
      dout, B, T, C, dwpe);
  SHOAL_CUDA_CHECK_LAUNCH("EmbeddingBackwardWpeKernel");
  return Status::Ok();
}

Status LayerNormForward(const float* x, const float* weight, const float* bias, int N, int C,
                        float* out, float* mean, float* rstd, cudaStream_t stream) {
  RETURN_IF_ERROR(detail::Positive("LayerNormForward", {{"N", N}, {"C", C}}));
  RETURN_IF_ERROR(detail::NonNull("LayerNormForward", {{"x", x},
                                                       {"weight", weight},
                                                       {"bias", bias},
                                                       {"out", out},
                                                       {"mean", mean},
                                                       {"rstd", rstd}}));
  if (out == x) return InvalidArgument("LayerNormForward: out aliases x");
  LayerNormForwardKernel<<<RowBlocks(N), kRowThreads, 0, stream>>>(
      x, weight, bias, N, C, cpu::kLayerNormEps, out, mean, rstd);
  SHOAL_CUDA_CHECK_LAUNCH("LayerNormForwardKernel");
  return Status::Ok();
}

Status LayerNormBackward(const float* dout, const float* x, const float* weight, const float* mean,
                         const float* rstd, int N, int C, float* dx, float* dweight, float* dbias,
                         cudaStream_t stream) {
  RETURN_IF_ERROR(detail::Positive("LayerNormBackward", {{"N", N}, {"C", C}}));
  RETURN_IF_ERROR(detail::NonNull("LayerNormBackward", {{"dout", dout},
                                                        {"x", x},
                                                        {"weight", weight},
                                                        {"mean", mean},
                                                        {"rstd", rstd},
                                                        {"dx", dx},
                                                        {"dweight", dweight},
                                                        {"dbias", dbias}}));
  LayerNormBackwardDxKernel<<<RowBlocks(N), kRowThreads, 0, stream>>>(dout, x, weight, mean, rstd,
                                                                      N, C, dx);
  SHOAL_CUDA_CHECK_LAUNCH("LayerNormBackwardDxKernel");
  LayerNormBackwardParamKernel<<<(C + 31) / 32, dim3(32, kColRows), 0, stream>>>(
      dout, x, mean, rstd, N, C, dweight, dbias);
  SHOAL_CUDA_CHECK_LAUNCH("LayerNormBackwardParamKernel");
  return Status::Ok();
}

Status ResidualForward(const float* a, const float* b, int64_t n, float* out, cudaStream_t stream) {
  RETURN_IF_ERROR(detail::Length("ResidualForward", n));
  if (n == 0) return Status::Ok();
  RETURN_IF_ERROR(detail::NonNull("ResidualForward", {{"a", a}, {"b", b}, {"out", out}}));
  ResidualKernel<<<detail::GridFor(n, kEwThreads), kEwThreads, 0, stream>>>(a, b, n, out);
  SHOAL_CUDA_CHECK_LAUNCH("ResidualKernel");
  return Status::Ok();
}

Status SumOfSquares(const float* x, int64_t n, double* d_sum, double* scratch,
                    cudaStream_t stream) {
  RETURN_IF_ERROR(detail::Length("SumOfSquares", n));
  RETURN_IF_ERROR(detail::NonNull("SumOfSquares", {{"d_sum", d_sum}, {"scratch", scratch}}));
  if (n == 0) {
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(d_sum, 0, sizeof(double), stream));
    return Status::Ok();
  }
  if (x == nullptr) return InvalidArgument("SumOfSquares: null x");
  // The block count depends on n only, so the summation tree is the same on every run.
  const int blocks = detail::GridFor(n, kSsqThreads, kSumOfSquaresScratch);
  SumOfSquaresPartialKernel<<<blocks, kSsqThreads, 0, stream>>>(x, n, scratch);
  SHOAL_CUDA_CHECK_LAUNCH("SumOfSquaresPartialKernel");
  SumOfSquaresFinalKernel<<<1, kSumOfSquaresScratch, 0, stream>>>(scratch, blocks, d_sum);
  SHOAL_CUDA_CHECK_LAUNCH("SumOfSquaresFinalKernel");
  return Status::Ok();
}

Status Scale(float* x, int64_t n, float s, cudaStream_t stream) {
  RETURN_IF_ERROR(detail::Length("Scale", n));
  if (n == 0) return Status::Ok();
  if (x == nullptr) return InvalidArgument("Scale: null x");
  return ScaleInPlace(x, n, s, stream);  // reduce.cu: same element math, also --fmad=false
}

Status TokensFromFloats(const float* x, int64_t n, int V, int32_t* tokens, cudaStream_t stream) {
  RETURN_IF_ERROR(detail::Length("TokensFromFloats", n));
  RETURN_IF_ERROR(detail::Positive("TokensFromFloats", {{"V", V}}));
  if (n == 0) return Status::Ok();
  RETURN_IF_ERROR(detail::NonNull("TokensFromFloats", {{"x", x}, {"tokens", tokens}}));
  TokensFromFloatsKernel<<<detail::GridFor(n, kEwThreads), kEwThreads, 0, stream>>>(x, n, V,
                                                                                    tokens);
  SHOAL_CUDA_CHECK_LAUNCH("TokensFromFloatsKernel");
  return Status::Ok();
}

}  // namespace shoal::cuda
