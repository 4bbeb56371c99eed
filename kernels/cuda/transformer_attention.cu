// Causal multi-head self-attention, forward and backward (contracts in transformer.h). A first,
// straightforward version that materializes att [B, NH, T, T] as the CPU twin does: a warp per
// (b, h, t) query row for the scores and the softmax (and for the softmax backward), then one
// thread per output element for the att . v style products. No shared-memory tiling yet; every
// sum has a fixed order (no atomics), so results are bit-identical run to run.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_utils.cuh"
#include "kernels/cuda/transformer.h"
#include "kernels/cuda/transformer_internal.h"

namespace shoal::cuda {
namespace {

constexpr int kRowThreads = 256;  // one warp per query row, 8 rows per block
constexpr int kRowsPerBlock = kRowThreads / detail::kWarpSize;
constexpr int kEwThreads = 256;

// The shapes every kernel needs; C3 = 3C is the row stride of qkv.
struct AttShape {
  int B, T, C, NH, hs;
  int64_t C3;
};

// Query row r of the B*NH*T rows: r = (b*NH + h)*T + t.
struct RowIndex {
  int b, h, t;
};
__device__ __forceinline__ RowIndex SplitRow(int64_t r, const AttShape& s) {
  const int t = static_cast<int>(r % s.T);
  const int64_t bh = r / s.T;
  return {static_cast<int>(bh / s.NH), static_cast<int>(bh % s.NH), t};
}

// Element e of a [B, T, C] tensor: token (b, t), head h, channel d within the head.
struct ElemIndex {
  int b, t, h, d, c;
};
__device__ __forceinline__ ElemIndex SplitElem(int64_t e, const AttShape& s) {
  const int c = static_cast<int>(e % s.C);
  const int64_t bt = e / s.C;
  return {static_cast<int>(bt / s.T), static_cast<int>(bt % s.T), c / s.hs, c % s.hs, c};
}

// Row (b, h, t) of att (or of the score gradient): T entries.
__device__ __forceinline__ int64_t AttRow(int b, int h, int t, const AttShape& s) {
  return ((static_cast<int64_t>(b) * s.NH + h) * s.T + t) * s.T;
}

// Head h of token (b, t) in the q (part 0), k (1) or v (2) third of qkv.
__device__ __forceinline__ int64_t QkvOffset(int b, int t, int part, int h, const AttShape& s) {
  return (static_cast<int64_t>(b) * s.T + t) * s.C3 + static_cast<int64_t>(part) * s.C +
         static_cast<int64_t>(h) * s.hs;
}

// a . b summed in index order; float4 loads when both are 16-byte aligned (hs and C multiples of
// 4), which cuts the load instructions of these uncoalesced row reads by four without changing the
// order of the additions.
__device__ __forceinline__ float Dot(const float* a, const float* b, int n) {
  float acc = 0.0f;
  int i = 0;
  if (((reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b)) & 15u) == 0) {
#pragma unroll 2  // the default unroll spills registers in the scores kernel
    for (; i + 4 <= n; i += 4) {
      const float4 x = *reinterpret_cast<const float4*>(a + i);
      const float4 y = *reinterpret_cast<const float4*>(b + i);
      acc += x.x * y.x;
      acc += x.y * y.y;
      acc += x.z * y.z;
      acc += x.w * y.w;
    }
  }
  for (; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

// att[b,h,t,s] = softmax over s <= t of q_t . k_s * scale, 0 for s > t. Lanes take keys s = lane,
// lane + 32, ...; each computes its dot products in channel order (q_t is read by all lanes at
// once: a broadcast). The raw scores are parked in att and rewritten in place by the same lane.
__global__ void __launch_bounds__(kRowThreads)
    AttentionScoresSoftmaxKernel(const float* __restrict__ qkv, AttShape sh, float scale,
                                 float* __restrict__ att) {
  const int lane = threadIdx.x % detail::kWarpSize;
  const int64_t row =
      static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / detail::kWarpSize;
  if (row >= static_cast<int64_t>(sh.B) * sh.NH * sh.T) return;  // warp-uniform
  const RowIndex ri = SplitRow(row, sh);
  const float* q = qkv + QkvOffset(ri.b, ri.t, 0, ri.h, sh);
  float* a = att + AttRow(ri.b, ri.h, ri.t, sh);
  float run_max = -INFINITY;
  for (int s = lane; s <= ri.t; s += detail::kWarpSize) {
    const float score = Dot(q, qkv + QkvOffset(ri.b, s, 1, ri.h, sh), sh.hs) * scale;
    a[s] = score;
    run_max = fmaxf(run_max, score);
  }
  const float row_max = detail::WarpMax(run_max);
  float sum = 0.0f;
  for (int s = lane; s <= ri.t; s += detail::kWarpSize) {
    const float e = expf(a[s] - row_max);
    a[s] = e;
    sum += e;
  }
  // s = 0 is always present and exp(0) = 1, so the sum is >= 1.
  const float inv_sum = 1.0f / detail::WarpSum(sum);
  for (int s = lane; s < sh.T; s += detail::kWarpSize) a[s] = s <= ri.t ? a[s] * inv_sum : 0.0f;
}

// out[b,t,h*hs+d] = sum_{s<=t} att[b,h,t,s] v[b,s,h,d], s ascending; one thread per output, with
// consecutive threads on consecutive channels (coalesced v, broadcast att).
__global__ void AttentionValueKernel(const float* __restrict__ qkv, const float* __restrict__ att,
                                     AttShape sh, float* __restrict__ out) {
  const int64_t total = static_cast<int64_t>(sh.B) * sh.T * sh.C;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const ElemIndex ei = SplitElem(e, sh);
    const float* a = att + AttRow(ei.b, ei.h, ei.t, sh);
    const float* v = qkv + QkvOffset(ei.b, 0, 2, ei.h, sh) + ei.d;
    float acc = 0.0f;
    for (int s = 0; s <= ei.t; ++s) acc += a[s] * v[s * sh.C3];
    out[e] = acc;
  }
}

// The softmax backward for query row (b, h, t), one warp: datt[s] = dout_t . v_s, then
// dscore[s] = att[s] * (datt[s] - sum_s' att[s'] datt[s']) * scale (0 for s > t), written to
// `dscore` (the scratch). Each lane rereads only the entries it wrote itself.
__global__ void __launch_bounds__(kRowThreads)
    AttentionSoftmaxBackwardKernel(const float* __restrict__ dout, const float* __restrict__ qkv,
                                   const float* __restrict__ att, AttShape sh, float scale,
                                   float* __restrict__ dscore) {
  const int lane = threadIdx.x % detail::kWarpSize;
  const int64_t row =
      static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / detail::kWarpSize;
  if (row >= static_cast<int64_t>(sh.B) * sh.NH * sh.T) return;  // warp-uniform
  const RowIndex ri = SplitRow(row, sh);
  const float* g =
      dout + (static_cast<int64_t>(ri.b) * sh.T + ri.t) * sh.C + static_cast<int64_t>(ri.h) * sh.hs;
  const float* a = att + AttRow(ri.b, ri.h, ri.t, sh);
  float* ds = dscore + AttRow(ri.b, ri.h, ri.t, sh);
  float dot = 0.0f;
  for (int s = lane; s <= ri.t; s += detail::kWarpSize) {
    const float datt = Dot(g, qkv + QkvOffset(ri.b, s, 2, ri.h, sh), sh.hs);
    ds[s] = datt;
    dot += a[s] * datt;
  }
  const float row_dot = detail::WarpSum(dot);
  for (int s = lane; s < sh.T; s += detail::kWarpSize) {
    ds[s] = s <= ri.t ? a[s] * (ds[s] - row_dot) * scale : 0.0f;
  }
}

// dv[b,s,h,d] += sum_{t>=s} att[b,h,t,s] dout[b,t,h,d], t ascending; one thread per element.
__global__ void AttentionValueBackwardKernel(const float* __restrict__ dout,
                                             const float* __restrict__ att, AttShape sh,
                                             float* __restrict__ dqkv) {
  const int64_t total = static_cast<int64_t>(sh.B) * sh.T * sh.C;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const ElemIndex ei = SplitElem(e, sh);                    // ei.t is the key position s here
    const float* a = att + AttRow(ei.b, ei.h, 0, sh) + ei.t;  // column s, stride T
    const float* g = dout + static_cast<int64_t>(ei.b) * sh.T * sh.C + ei.c;
    float acc = 0.0f;
    for (int t = ei.t; t < sh.T; ++t) {
      acc += a[static_cast<int64_t>(t) * sh.T] * g[static_cast<int64_t>(t) * sh.C];
    }
    dqkv[QkvOffset(ei.b, ei.t, 2, ei.h, sh) + ei.d] += acc;
  }
}

// dq[b,t,h,d] += sum_{s<=t} dscore[b,h,t,s] k[b,s,h,d] (elements [0, BTC)) and
// dk[b,s,h,d] += sum_{t>=s} dscore[b,h,t,s] q[b,t,h,d] (elements [BTC, 2 BTC)), one thread each.
__global__ void AttentionQueryKeyBackwardKernel(const float* __restrict__ qkv,
                                                const float* __restrict__ dscore, AttShape sh,
                                                float* __restrict__ dqkv) {
  const int64_t btc = static_cast<int64_t>(sh.B) * sh.T * sh.C;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < 2 * btc;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const bool is_q = i < btc;
    const ElemIndex ei = SplitElem(is_q ? i : i - btc, sh);
    float acc = 0.0f;
    if (is_q) {  // ei.t is the query position t
      const float* ds = dscore + AttRow(ei.b, ei.h, ei.t, sh);
      const float* k = qkv + QkvOffset(ei.b, 0, 1, ei.h, sh) + ei.d;
      for (int s = 0; s <= ei.t; ++s) acc += ds[s] * k[s * sh.C3];
      dqkv[QkvOffset(ei.b, ei.t, 0, ei.h, sh) + ei.d] += acc;
    } else {  // ei.t is the key position s
      const float* ds = dscore + AttRow(ei.b, ei.h, 0, sh) + ei.t;
      const float* q = qkv + QkvOffset(ei.b, 0, 0, ei.h, sh) + ei.d;
      for (int t = ei.t; t < sh.T; ++t) {
        acc += ds[static_cast<int64_t>(t) * sh.T] * q[t * sh.C3];
      }
      dqkv[QkvOffset(ei.b, ei.t, 1, ei.h, sh) + ei.d] += acc;
    }
  }
}

Status CheckAttention(const char* op, int B, int T, int C, int NH) {
  RETURN_IF_ERROR(detail::Positive(op, {{"B", B}, {"T", T}, {"C", C}, {"NH", NH}}));
  if (C % NH != 0) {
    return InvalidArgument(std::string(op) + ": C=" + std::to_string(C) +
                           " is not divisible by NH=" + std::to_string(NH));
  }
  return Status::Ok();
}

AttShape MakeShape(int B, int T, int C, int NH) {
  return {B, T, C, NH, C / NH, 3 * static_cast<int64_t>(C)};
}

// 1 / sqrt(hs) computed as the CPU twin does (fp32 sqrt, correctly rounded, then a division).
float ScoreScale(int hs) { return 1.0f / std::sqrt(static_cast<float>(hs)); }

unsigned RowBlocks(const AttShape& sh) {
  const int64_t rows = static_cast<int64_t>(sh.B) * sh.NH * sh.T;
  return static_cast<unsigned>((rows + kRowsPerBlock - 1) / kRowsPerBlock);
}

}  // namespace

Status AttentionForward(const float* qkv, int B, int T, int C, int NH, float* out, float* att,
                        cudaStream_t stream) {
  RETURN_IF_ERROR(CheckAttention("AttentionForward", B, T, C, NH));
  RETURN_IF_ERROR(detail::NonNull("AttentionForward", {{"qkv", qkv}, {"out", out}, {"att", att}}));
  const AttShape sh = MakeShape(B, T, C, NH);
  AttentionScoresSoftmaxKernel<<<RowBlocks(sh), kRowThreads, 0, stream>>>(qkv, sh,
                                                                          ScoreScale(sh.hs), att);
  SHOAL_CUDA_CHECK_LAUNCH("AttentionScoresSoftmaxKernel");
  const int64_t total = static_cast<int64_t>(B) * T * C;
  AttentionValueKernel<<<detail::GridFor(total, kEwThreads), kEwThreads, 0, stream>>>(qkv, att, sh,
                                                                                      out);
  SHOAL_CUDA_CHECK_LAUNCH("AttentionValueKernel");
  return Status::Ok();
}

Status AttentionBackward(const float* dout, const float* qkv, const float* att, int B, int T, int C,
                         int NH, float* dqkv, float* scratch, cudaStream_t stream) {
  RETURN_IF_ERROR(CheckAttention("AttentionBackward", B, T, C, NH));
  RETURN_IF_ERROR(detail::NonNull(
      "AttentionBackward",
      {{"dout", dout}, {"qkv", qkv}, {"att", att}, {"dqkv", dqkv}, {"scratch", scratch}}));
  const AttShape sh = MakeShape(B, T, C, NH);
  const int64_t total = static_cast<int64_t>(B) * T * C;
  AttentionSoftmaxBackwardKernel<<<RowBlocks(sh), kRowThreads, 0, stream>>>(
      dout, qkv, att, sh, ScoreScale(sh.hs), scratch);
  SHOAL_CUDA_CHECK_LAUNCH("AttentionSoftmaxBackwardKernel");
  AttentionValueBackwardKernel<<<detail::GridFor(total, kEwThreads), kEwThreads, 0, stream>>>(
      dout, att, sh, dqkv);
  SHOAL_CUDA_CHECK_LAUNCH("AttentionValueBackwardKernel");
  AttentionQueryKeyBackwardKernel<<<detail::GridFor(2 * total, kEwThreads), kEwThreads, 0,
                                    stream>>>(qkv, scratch, sh, dqkv);
  SHOAL_CUDA_CHECK_LAUNCH("AttentionQueryKeyBackwardKernel");
  return Status::Ok();
}

}  // namespace shoal::cuda
