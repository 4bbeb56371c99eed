// The operators of a GPT-2-style decoder (issue 15) that the MLP path does not already have: token
// + position embedding, LayerNorm, causal multi-head self-attention, residual add and the global
// gradient norm. The GEMMs (gemm.h), bias + GELU (bias_activation.h) and the fused softmax
// cross-entropy classifier (softmax_cross_entropy.h) are shared with the MLP. The CUDA twins are
// kernels/cuda/transformer.h, with the same contracts.
//
// Shapes use GPT-2's names: B sequences of T tokens, C channels (embedDim), NH heads of
// hs = C / NH channels, V vocabulary entries; activations are row-major [B, T, C] (row = b*T + t).
//
// Gradients ACCUMULATE (+=) into their outputs, because a parameter or activation gets gradient
// from more than one place (tied embeddings; the residual stream): the caller zeroes them once per
// step. Every sum runs in a fixed order, so results are bit-identical run to run (no atomics).
//
// Errors: InvalidArgument for a non-positive dimension, C not divisible by NH (attention), a null
// pointer, or a token outside [0, V) (named with its position); outputs are untouched then. None of
// these functions allocate (scratch is passed in); all are thread-safe for disjoint outputs.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace shoal::cpu {

// out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :]. wte is [V, C], wpe is [maxT, C] with T <= maxT
// (only its first T rows are read).
Status EmbeddingForward(const int32_t* tokens, const float* wte, const float* wpe, int B, int T,
                        int C, int V, float* out);

// dwte[tokens[b,t], :] += dout[b,t,:] and dwpe[t, :] += dout[b,t,:], over (b, t) in ascending
// order.
Status EmbeddingBackward(const float* dout, const int32_t* tokens, int B, int T, int C, int V,
                         float* dwte, float* dwpe);

// Per row n of x [N, C]: mean[n], rstd[n] = 1 / sqrt(var + 1e-5) (biased variance, as
// torch.nn.LayerNorm), out[n,:] = (x[n,:] - mean) * rstd * weight + bias. mean and rstd (N each)
// are kept for the backward. `out` must not alias `x`.
inline constexpr float kLayerNormEps = 1e-5f;
Status LayerNormForward(const float* x, const float* weight, const float* bias, int N, int C,
                        float* out, float* mean, float* rstd);

// The gradients of LayerNormForward given dout [N, C]: dx += ..., dweight += ..., dbias += ....
Status LayerNormBackward(const float* dout, const float* x, const float* weight, const float* mean,
                         const float* rstd, int N, int C, float* dx, float* dweight, float* dbias);

// Causal self-attention. qkv is [B, T, 3C]: for token (b,t), q = qkv[b,t, 0:C], k = [C:2C],
// v = [2C:3C], each split into NH heads of hs channels (head h: channels [h*hs, (h+1)*hs)).
//   att[b,h,t,s] = softmax_s<=t( q_t . k_s / sqrt(hs) ) (s > t: 0)
//   out[b,t, h*hs:(h+1)*hs] = sum_s att[b,h,t,s] v_s
// att is [B, NH, T, T] and is kept for the backward (this first version stores it: O(T^2)).
Status AttentionForward(const float* qkv, int B, int T, int C, int NH, float* out, float* att);

// The gradient of AttentionForward given dout [B, T, C]: dqkv [B, T, 3C] += .... `scratch` holds
// B * NH * T * T floats (the gradient of the pre-softmax scores).
Status AttentionBackward(const float* dout, const float* qkv, const float* att, int B, int T,
                         int C, int NH, float* dqkv, float* scratch);

// out[i] = a[i] + b[i] for i < n. `out` may alias `a` or `b`.
Status ResidualForward(const float* a, const float* b, int64_t n, float* out);

// sum_i x[i]^2 over n floats, accumulated in double in index order: the square of the global
// gradient norm (clipGradNorm scales the gradients by min(1, max_norm / sqrt of it)).
Status SumOfSquares(const float* x, int64_t n, double* out);

// x[i] *= s for i < n.
Status Scale(float* x, int64_t n, float s);

// Token ids carried as floats (the trainer's rows hold a GPT window's ids as features) back to
// int32: tokens[i] = x[i] when x[i] is a whole number in [0, V), else -1 (NaN, fractions and
// out-of-range values alike). A -1 is not an error here: EmbeddingForward then refuses it on the
// CPU and writes a NaN row on the GPU, so a bad id cannot be silently truncated into a valid one.
// n == 0 writes nothing; InvalidArgument for n < 0, V < 1 or a null pointer when n > 0.
Status TokensFromFloats(const float* x, int64_t n, int V, int32_t* tokens);

}  // namespace shoal::cpu
