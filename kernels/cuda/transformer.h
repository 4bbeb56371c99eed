// The GPT-2 decoder operators on the GPU (issue 15): token + position embedding, LayerNorm, causal
// multi-head self-attention, residual add, the global gradient norm and scaling. CUDA twins of
// kernels/cpu/transformer.h with the same contracts (shapes, accumulation, errors) except where
// noted: the token check and SumOfSquares' scratch.
//
// All pointers are device pointers; activations are row-major [B, T, C] (row = b*T + t). Every
// function enqueues its work on `stream` and returns without synchronizing; nothing allocates
// (scratch is passed in). Thread-safe (no global state) for disjoint outputs. Argument errors
// (non-positive dimension, C not divisible by NH, null pointer) are returned as InvalidArgument
// before anything is enqueued; a failed launch is returned as the CUDA error's Status.
//
// Determinism: no function uses atomics; every sum runs in an order fixed by the shapes alone, so
// results are bit-identical run to run. Element-wise results (embedding forward, the embedding
// gradients, residual, scale) are bit-identical to the CPU twin too (same operation order, built
// with --fmad=false); reductions (LayerNorm, attention, sum of squares) agree to rounding.
//
// Tokens live on the device, so they are not checked on the host (that would need a copy and a
// sync). Instead a token outside [0, V) never causes an out-of-bounds access: EmbeddingForward
// writes NaN to its output row (which poisons the loss, as SoftmaxCrossEntropy's bad label does,
// and the trainer's non-finite check reports it) and EmbeddingBackward adds it to no row of dwte.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/status.h"

namespace shoal::cuda {

// out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :]. wte is [V, C], wpe is [maxT, C] with T <= maxT.
// A token outside [0, V) gives a NaN row (see above).
Status EmbeddingForward(const int32_t* tokens, const float* wte, const float* wpe, int B, int T,
                        int C, int V, float* out, cudaStream_t stream);

// dwte[tokens[b,t], :] += dout[b,t,:] and dwpe[t, :] += dout[b,t,:], each element summed over
// (b, t) in ascending order as on the CPU (bit-identical): one block per vocabulary row finds its
// tokens in order, so no atomics are needed. Tokens outside [0, V) are skipped for dwte.
Status EmbeddingBackward(const float* dout, const int32_t* tokens, int B, int T, int C, int V,
                         float* dwte, float* dwpe, cudaStream_t stream);

// Per row n of x [N, C]: mean[n], rstd[n] = 1 / sqrt(var + kLayerNormEps) (biased variance),
// out[n,:] = (x[n,:] - mean) * rstd * weight + bias. `out` must not alias `x` (out == x is
// InvalidArgument).
Status LayerNormForward(const float* x, const float* weight, const float* bias, int N, int C,
                        float* out, float* mean, float* rstd, cudaStream_t stream);

// The gradients of LayerNormForward given dout [N, C]: dx += ..., dweight += ..., dbias += ....
// dweight and dbias are column sums over the rows in a fixed order (one block per 32 columns).
Status LayerNormBackward(const float* dout, const float* x, const float* weight, const float* mean,
                         const float* rstd, int N, int C, float* dx, float* dweight, float* dbias,
                         cudaStream_t stream);

// Causal self-attention; qkv is [B, T, 3C] (q, k, v thirds, NH heads of hs = C / NH channels),
// out is [B, T, C], att [B, NH, T, T] is kept for the backward (entries s > t are written as 0).
Status AttentionForward(const float* qkv, int B, int T, int C, int NH, float* out, float* att,
                        cudaStream_t stream);

// The gradient of AttentionForward given dout [B, T, C]: dqkv [B, T, 3C] += .... `scratch` holds
// B * NH * T * T floats (the gradient of the pre-softmax scores; overwritten).
Status AttentionBackward(const float* dout, const float* qkv, const float* att, int B, int T, int C,
                         int NH, float* dqkv, float* scratch, cudaStream_t stream);

// out[i] = a[i] + b[i] for i < n. `out` may alias `a` or `b`. n == 0 enqueues nothing; n < 0 is
// InvalidArgument.
Status ResidualForward(const float* a, const float* b, int64_t n, float* out, cudaStream_t stream);

// The number of doubles SumOfSquares needs as scratch (one partial sum per block).
inline constexpr int kSumOfSquaresScratch = 1024;

// Sets the device double *d_sum to sum_i x[i]^2 over n floats, accumulated in double. Unlike
// reduce.h's SumOfSquares (atomics across blocks), deterministic: each of at most
// kSumOfSquaresScratch blocks sums a fixed strided slice with a fixed tree into scratch[block],
// and one block then reduces the partials with a fixed tree. The result stays on the device (no
// sync); it agrees with the CPU's index-order sum to rounding. n == 0 writes 0; n < 0 is
// InvalidArgument. `scratch` holds kSumOfSquaresScratch doubles and must not overlap d_sum.
Status SumOfSquares(const float* x, int64_t n, double* d_sum, double* scratch, cudaStream_t stream);

// x[i] *= s for i < n (bit-identical to the CPU). n == 0 enqueues nothing; n < 0 is
// InvalidArgument.
Status Scale(float* x, int64_t n, float s, cudaStream_t stream);

// tokens[i] = x[i] when x[i] is a whole number in [0, V), else -1 (bit-identical to the CPU twin):
// the GPU model's rows carry token ids as floats, and a -1 then makes EmbeddingForward write a
// NaN row instead of reading out of bounds. n == 0 enqueues nothing; InvalidArgument for n < 0,
// V < 1 or a null pointer when n > 0.
Status TokensFromFloats(const float* x, int64_t n, int V, int32_t* tokens, cudaStream_t stream);

}  // namespace shoal::cuda
