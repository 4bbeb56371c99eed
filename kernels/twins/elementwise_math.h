// Element-wise math shared by the CPU operators (kernels/cpu/) and the CUDA kernels
// (kernels/cuda/): activations and their derivatives, loss-gradient elements and optimizer element
// updates. Keeping one definition means the CPU tests exercise exactly the math the GPU runs.
//
// Everything here is a pure inline function of its arguments marked SHOAL_HD (__host__ __device__
// under nvcc, nothing otherwise). No state, no allocation, thread-safe. Float math uses the C
// single-precision functions (tanhf, sqrtf) because they exist with the same names on host and
// device, except ExpForLoops (below), the host's vectorizable e^x.
//
// This header deliberately does not depend on common/spec/job_spec.h (the Activation enum): dispatching
// on the enum happens in the operators, outside the hot loops.
#pragma once

#include <math.h>

#include <cstdint>

#ifdef __CUDACC__
#define SHOAL_HD __host__ __device__
#else
#define SHOAL_HD
#endif

namespace shoal::math {

// ---- Activations: Forward(x) and Grad(pre) = d act / d x evaluated at the pre-activation. ----

SHOAL_HD inline float ReluForward(float x) { return x > 0.0f ? x : 0.0f; }
// The derivative at exactly 0 is taken as 0 (the subgradient PyTorch uses).
SHOAL_HD inline float ReluGrad(float pre) { return pre > 0.0f ? 1.0f : 0.0f; }

// e^x for x in [-87, 88] as plain arithmetic on the host, so that loops over it vectorize (libm's
// expf and tanhf do not, outside -ffast-math); expf on the device. x = n ln2 + r with |r| <= ln2/2
// (ln2 split in two so that n * ln2_hi is exact), e^r by its degree-7 Taylor polynomial
// (truncation < 6e-9 relative), times 2^n written into the exponent bits: within 2 ulp of e^x.
// The caller keeps x in range (outside it the exponent bits overflow): a clamp in here would let
// the compiler evaluate the clamped case speculatively for every lane, and the constants it
// produces there (e^-87 and the like) turn later arithmetic into subnormal-assist stalls.
SHOAL_HD inline float ExpForLoops(float x) {
#ifdef __CUDA_ARCH__
  return expf(x);
#else
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to int
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  float r = x - n * 0.693145751953125f;  // ln2's first 16 bits
  r = r - n * 1.42860682030941723e-6f;   // the rest of ln2
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return p * scale;
#endif
}

// sigmoid(2u) = 1 / (1 + e^(-2u)) = 0.5 (1 + tanh(u)), through e^(-|2u|) so that the exponential
// never overflows. |2u| is capped at 40: beyond it sigmoid is 1 or < 4.3e-18, which the cap gives
// to within 4.3e-18 absolute (and the cap's speculative constant stays far from subnormal).
SHOAL_HD inline float SigmoidOfTwice(float u) {
  const float a0 = u < 0.0f ? -2.0f * u : 2.0f * u;
  const float a = a0 < 40.0f ? a0 : 40.0f;
  const float e = ExpForLoops(-a);
  return (u < 0.0f ? e : 1.0f) / (1.0f + e);
}

// GELU, tanh approximation (Hendrycks & Gimpel; PyTorch approximate="tanh"):
//   gelu(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
// It differs from the exact erf form by < 1e-3 everywhere. Computed as the identical
// x * sigmoid(2u): one exponential that vectorizes (ExpForLoops) and no cancellation in
// 1 + tanh(u) for negative x. Agrees with PyTorch's tanh form to a few ulp.
inline constexpr float kGeluSqrt2OverPi = 0.7978845608028654f;
inline constexpr float kGeluCoeff = 0.044715f;

SHOAL_HD inline float GeluForward(float x) {
  const float u = kGeluSqrt2OverPi * (x + kGeluCoeff * x * x * x);
  return x * SigmoidOfTwice(u);
}
// d/dx of the tanh approximation above (not of the exact GELU), so that backward is consistent
// with forward: 0.5 (1 + t) + 0.5 x (1 - t^2) u', t = tanh(u), u' = sqrt(2/pi) (1 + 3 * 0.044715
// x^2); with s = sigmoid(2u) = 0.5 (1 + t) and 1 - t^2 = 4 s (1 - s): s + 2 x s (1 - s) u'.
SHOAL_HD inline float GeluGrad(float pre) {
  const float x2 = pre * pre;
  const float u = kGeluSqrt2OverPi * (pre + kGeluCoeff * x2 * pre);
  const float s = SigmoidOfTwice(u);
  const float du = kGeluSqrt2OverPi * (1.0f + 3.0f * kGeluCoeff * x2);
  return s + 2.0f * pre * s * (1.0f - s) * du;
}

SHOAL_HD inline float TanhForward(float x) { return tanhf(x); }
SHOAL_HD inline float TanhGrad(float pre) {
  const float t = tanhf(pre);
  return 1.0f - t * t;
}

// ---- Loss-gradient elements. ----

// One element of d(scale * cross_entropy)/d logit: scale * (softmax_j - [j == label]).
SHOAL_HD inline float SoftmaxXentGrad(float prob, bool is_label, float scale) {
  return scale * (prob - (is_label ? 1.0f : 0.0f));
}

// Per-row MSE against a one-hot target is (1/c) * sum_j (out_j - y_j)^2, so one element of its
// gradient times scale is scale * 2 (out_j - y_j) / c. `two_scale_over_c` = 2 * scale / c is
// precomputed by the caller to keep the division out of the loop.
SHOAL_HD inline float MseGrad(float out, bool is_label, float two_scale_over_c) {
  return two_scale_over_c * (out - (is_label ? 1.0f : 0.0f));
}

// ---- Optimizer element updates (in place on one parameter and its state). ----

// SGD with momentum and L2 weight decay, PyTorch torch.optim.SGD semantics (dampening 0,
// no Nesterov): g' = g + wd * p; v = momentum * v + g'; p -= lr * v.
// With momentum = 0 this is plain SGD (v just holds the last g').
SHOAL_HD inline void SgdMomentumStep(float& p, float g, float& v, float lr, float momentum,
                                     float weight_decay) {
  const float gd = g + weight_decay * p;
  v = momentum * v + gd;
  p -= lr * v;
}

// AdamW (Loshchilov & Hutter), PyTorch torch.optim.AdamW semantics:
//   p *= 1 - lr * wd                           (decoupled decay, applied before the Adam step)
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr * (m / bc1) / (sqrt(v / bc2) + eps)
// bc1 = 1 - b1^step and bc2 = 1 - b2^step are the bias corrections, computed once per launch by
// the caller (in double, then rounded) rather than per element.
SHOAL_HD inline void AdamWStep(float& p, float g, float& m, float& v, float lr, float beta1,
                               float beta2, float eps, float weight_decay, float bc1, float bc2) {
  p -= lr * weight_decay * p;
  m = beta1 * m + (1.0f - beta1) * g;
  v = beta2 * v + (1.0f - beta2) * g * g;
  const float m_hat = m / bc1;
  const float v_hat = v / bc2;
  p -= lr * m_hat / (sqrtf(v_hat) + eps);
}

// ---- Reductions. ----

// True when x is neither NaN nor +-inf. Tests the exponent bits instead of calling isfinite so the
// check stays branch-free and vectorizable and is not folded away under -ffast-math.
SHOAL_HD inline bool IsFiniteBits(float x) {
  uint32_t bits;
#ifdef __CUDA_ARCH__
  bits = __float_as_uint(x);
#else
  __builtin_memcpy(&bits, &x, sizeof(bits));
#endif
  return (bits & 0x7f800000u) != 0x7f800000u;
}

// FNV-1a 64-bit constants (http://www.isthe.com/chongo/tech/comp/fnv/).
inline constexpr uint64_t kFnv1aOffsetBasis = 0xcbf29ce484222325ull;
inline constexpr uint64_t kFnv1aPrime = 0x100000001b3ull;

SHOAL_HD inline uint64_t Fnv1aByte(uint64_t hash, uint8_t byte) {
  return (hash ^ byte) * kFnv1aPrime;
}

}  // namespace shoal::math
