#include "kernels/cpu/transformer.h"

#include <math.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "kernels/cpu/gemm.h"

namespace shoal::cpu {
namespace {

// Named dimensions must all be positive; the message lists them so a bad call is easy to find.
Status CheckDims(const char* op, std::initializer_list<std::pair<const char*, int64_t>> dims) {
  for (const auto& [name, value] : dims) {
    if (value <= 0) {
      return InvalidArgument(std::string(op) + ": dimension " + name + "=" + std::to_string(value) +
                             " is not positive");
    }
  }
  return Status::Ok();
}

Status CheckPointers(const char* op, std::initializer_list<const void*> ptrs) {
  for (const void* p : ptrs) {
    if (p == nullptr) return InvalidArgument(std::string(op) + ": null pointer argument");
  }
  return Status::Ok();
}

// Every token must index a row of wte; checked before anything is written so that a bad batch
// leaves the outputs untouched.
Status CheckTokens(const char* op, const int32_t* tokens, int B, int T, int V) {
  for (int b = 0; b < B; ++b) {
    for (int t = 0; t < T; ++t) {
      const int32_t token = tokens[static_cast<int64_t>(b) * T + t];
      if (token < 0 || token >= V) {
        return InvalidArgument(std::string(op) + ": token " + std::to_string(token) +
                               " at (b=" + std::to_string(b) + ", t=" + std::to_string(t) +
                               ") is outside [0, " + std::to_string(V) + ")");
      }
    }
  }
  return Status::Ok();
}

Status CheckAttention(const char* op, int B, int T, int C, int NH) {
  RETURN_IF_ERROR(CheckDims(op, {{"B", B}, {"T", T}, {"C", C}, {"NH", NH}}));
  if (C % NH != 0) {
    return InvalidArgument(std::string(op) + ": C=" + std::to_string(C) +
                           " is not divisible by NH=" + std::to_string(NH));
  }
  return Status::Ok();
}

}  // namespace

Status EmbeddingForward(const int32_t* tokens, const float* wte, const float* wpe, int B, int T,
                        int C, int V, float* out) {
  constexpr const char* kOp = "EmbeddingForward";
  RETURN_IF_ERROR(CheckDims(kOp, {{"B", B}, {"T", T}, {"C", C}, {"V", V}}));
  RETURN_IF_ERROR(CheckPointers(kOp, {tokens, wte, wpe, out}));
  RETURN_IF_ERROR(CheckTokens(kOp, tokens, B, T, V));
  for (int b = 0; b < B; ++b) {
    for (int t = 0; t < T; ++t) {
      const int64_t row = static_cast<int64_t>(b) * T + t;
      const float* te = wte + static_cast<int64_t>(tokens[row]) * C;
      const float* pe = wpe + static_cast<int64_t>(t) * C;
      float* o = out + row * C;
      for (int c = 0; c < C; ++c) o[c] = te[c] + pe[c];
    }
  }
  return Status::Ok();
}

Status EmbeddingBackward(const float* dout, const int32_t* tokens, int B, int T, int C, int V,
                         float* dwte, float* dwpe) {
  constexpr const char* kOp = "EmbeddingBackward";
  RETURN_IF_ERROR(CheckDims(kOp, {{"B", B}, {"T", T}, {"C", C}, {"V", V}}));
  RETURN_IF_ERROR(CheckPointers(kOp, {dout, tokens, dwte, dwpe}));
  RETURN_IF_ERROR(CheckTokens(kOp, tokens, B, T, V));
  // A token repeated in the batch adds into the same dwte row; the (b, t) order fixes the result.
  for (int b = 0; b < B; ++b) {
    for (int t = 0; t < T; ++t) {
      const int64_t row = static_cast<int64_t>(b) * T + t;
      const float* d = dout + row * C;
      float* te = dwte + static_cast<int64_t>(tokens[row]) * C;
      float* pe = dwpe + static_cast<int64_t>(t) * C;
      for (int c = 0; c < C; ++c) {
        te[c] += d[c];
        pe[c] += d[c];
      }
    }
  }
  return Status::Ok();
}

Status LayerNormForward(const float* x, const float* weight, const float* bias, int N, int C,
                        float* out, float* mean, float* rstd) {
  constexpr const char* kOp = "LayerNormForward";
  RETURN_IF_ERROR(CheckDims(kOp, {{"N", N}, {"C", C}}));
  RETURN_IF_ERROR(CheckPointers(kOp, {x, weight, bias, out, mean, rstd}));
  for (int n = 0; n < N; ++n) {
    const float* xr = x + static_cast<int64_t>(n) * C;
    float* o = out + static_cast<int64_t>(n) * C;
    // Two passes (the one-pass E[x^2] - E[x]^2 cancels badly when |mean| >> std), accumulated in
    // double so that wide rows (C = 768+) keep float accuracy in mean and rstd.
    double sum = 0.0;
    for (int c = 0; c < C; ++c) sum += xr[c];
    const double m = sum / C;
    double sq = 0.0;
    for (int c = 0; c < C; ++c) {
      const double d = xr[c] - m;
      sq += d * d;
    }
    // Biased variance (divide by C) with eps inside the sqrt, as torch.nn.LayerNorm.
    const float s = static_cast<float>(1.0 / sqrt(sq / C + static_cast<double>(kLayerNormEps)));
    const float mf = static_cast<float>(m);
    for (int c = 0; c < C; ++c) o[c] = (xr[c] - mf) * s * weight[c] + bias[c];
    mean[n] = mf;
    rstd[n] = s;
  }
  return Status::Ok();
}

Status LayerNormBackward(const float* dout, const float* x, const float* weight, const float* mean,
                         const float* rstd, int N, int C, float* dx, float* dweight, float* dbias) {
  constexpr const char* kOp = "LayerNormBackward";
  RETURN_IF_ERROR(CheckDims(kOp, {{"N", N}, {"C", C}}));
  RETURN_IF_ERROR(CheckPointers(kOp, {dout, x, weight, mean, rstd, dx, dweight, dbias}));
  for (int n = 0; n < N; ++n) {
    const int64_t row = static_cast<int64_t>(n) * C;
    const float* d = dout + row;
    const float* xr = x + row;
    const float m = mean[n];
    const float s = rstd[n];
    // With xhat = (x - mean) * rstd and g = dout * weight:
    //   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
    double g_sum = 0.0, g_xhat_sum = 0.0;
    for (int c = 0; c < C; ++c) {
      const float xhat = (xr[c] - m) * s;
      const float g = d[c] * weight[c];
      g_sum += g;
      g_xhat_sum += static_cast<double>(g) * xhat;
    }
    const float g_mean = static_cast<float>(g_sum / C);
    const float g_xhat_mean = static_cast<float>(g_xhat_sum / C);
    float* dxr = dx + row;
    for (int c = 0; c < C; ++c) {
      const float xhat = (xr[c] - m) * s;
      const float g = d[c] * weight[c];
      dbias[c] += d[c];
      dweight[c] += xhat * d[c];
      dxr[c] += (g - g_mean - xhat * g_xhat_mean) * s;
    }
  }
  return Status::Ok();
}

// Per (b, h) the head's q, k, v are T x hs matrices with row stride 3C inside qkv, and its out /
// dout slice is T x hs with row stride C, so each product is one strided GEMM and nothing is
// copied. q.k^T fills the whole T x T block (twice the causal work) because one BLAS call beats
// T small ones; the masked half is then overwritten with exact zeros.
Status AttentionForward(const float* qkv, int B, int T, int C, int NH, float* out, float* att) {
  constexpr const char* kOp = "AttentionForward";
  RETURN_IF_ERROR(CheckAttention(kOp, B, T, C, NH));
  RETURN_IF_ERROR(CheckPointers(kOp, {qkv, out, att}));
  const int hs = C / NH;
  const int C3 = 3 * C;
  const float scale = static_cast<float>(1.0 / sqrt(static_cast<double>(hs)));
  for (int b = 0; b < B; ++b) {
    const float* base = qkv + static_cast<int64_t>(b) * T * C3;
    for (int h = 0; h < NH; ++h) {
      const float* q = base + h * hs;
      const float* k = base + C + h * hs;
      const float* v = base + 2 * C + h * hs;
      float* a = att + (static_cast<int64_t>(b) * NH + h) * T * T;
      RETURN_IF_ERROR(Gemm(false, true, T, T, hs, scale, q, C3, k, C3, 0.0f, a, T));
      for (int t = 0; t < T; ++t) {
        float* row = a + static_cast<int64_t>(t) * T;
        float max_v = row[0];
        for (int s = 1; s <= t; ++s) max_v = row[s] > max_v ? row[s] : max_v;
        float sum = 0.0f;
        for (int s = 0; s <= t; ++s) {
          row[s] = expf(row[s] - max_v);
          sum += row[s];
        }
        // sum >= 1: the max term contributes exp(0).
        const float inv_sum = 1.0f / sum;
        for (int s = 0; s <= t; ++s) row[s] *= inv_sum;
        for (int s = t + 1; s < T; ++s) row[s] = 0.0f;
      }
      float* o = out + static_cast<int64_t>(b) * T * C + h * hs;
      RETURN_IF_ERROR(Gemm(false, false, T, hs, T, 1.0f, a, T, v, C3, 0.0f, o, C));
    }
  }
  return Status::Ok();
}

Status AttentionBackward(const float* dout, const float* qkv, const float* att, int B, int T, int C,
                         int NH, float* dqkv, float* scratch) {
  constexpr const char* kOp = "AttentionBackward";
  RETURN_IF_ERROR(CheckAttention(kOp, B, T, C, NH));
  RETURN_IF_ERROR(CheckPointers(kOp, {dout, qkv, att, dqkv, scratch}));
  const int hs = C / NH;
  const int C3 = 3 * C;
  const float scale = static_cast<float>(1.0 / sqrt(static_cast<double>(hs)));
  for (int b = 0; b < B; ++b) {
    const float* base = qkv + static_cast<int64_t>(b) * T * C3;
    float* dbase = dqkv + static_cast<int64_t>(b) * T * C3;
    const float* d_o = dout + static_cast<int64_t>(b) * T * C;
    for (int h = 0; h < NH; ++h) {
      const float* q = base + h * hs;
      const float* k = base + C + h * hs;
      const float* v = base + 2 * C + h * hs;
      const float* d_oh = d_o + h * hs;
      const int64_t block = (static_cast<int64_t>(b) * NH + h) * T * T;
      const float* a = att + block;
      float* ds = scratch + block;
      // datt = dout . v^T and dv += att^T . dout.
      RETURN_IF_ERROR(Gemm(false, true, T, T, hs, 1.0f, d_oh, C, v, C3, 0.0f, ds, T));
      RETURN_IF_ERROR(
          Gemm(true, false, T, hs, T, 1.0f, a, T, d_oh, C, 1.0f, dbase + 2 * C + h * hs, C3));
      // Softmax backward per row: dscore[s] = att[s] * (datt[s] - sum_s' att[s'] datt[s']) on the
      // causal part, 0 beyond it (those scores never reached the output).
      for (int t = 0; t < T; ++t) {
        const float* ar = a + static_cast<int64_t>(t) * T;
        float* dr = ds + static_cast<int64_t>(t) * T;
        float dot = 0.0f;
        for (int s = 0; s <= t; ++s) dot += ar[s] * dr[s];
        for (int s = 0; s <= t; ++s) dr[s] = ar[s] * (dr[s] - dot);
        for (int s = t + 1; s < T; ++s) dr[s] = 0.0f;
      }
      // score = scale * q . k^T: dq += scale * dscore . k and dk += scale * dscore^T . q.
      RETURN_IF_ERROR(Gemm(false, false, T, hs, T, scale, ds, T, k, C3, 1.0f, dbase + h * hs, C3));
      RETURN_IF_ERROR(
          Gemm(true, false, T, hs, T, scale, ds, T, q, C3, 1.0f, dbase + C + h * hs, C3));
    }
  }
  return Status::Ok();
}

Status ResidualForward(const float* a, const float* b, int64_t n, float* out) {
  RETURN_IF_ERROR(CheckDims("ResidualForward", {{"n", n}}));
  RETURN_IF_ERROR(CheckPointers("ResidualForward", {a, b, out}));
  // Element-wise, so out aliasing a or b is safe: each element is read before it is written.
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
  return Status::Ok();
}

Status SumOfSquares(const float* x, int64_t n, double* out) {
  RETURN_IF_ERROR(CheckDims("SumOfSquares", {{"n", n}}));
  RETURN_IF_ERROR(CheckPointers("SumOfSquares", {x, out}));
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  *out = sum;
  return Status::Ok();
}

Status Scale(float* x, int64_t n, float s) {
  RETURN_IF_ERROR(CheckDims("Scale", {{"n", n}}));
  RETURN_IF_ERROR(CheckPointers("Scale", {x}));
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
  return Status::Ok();
}

Status TokensFromFloats(const float* x, int64_t n, int V, int32_t* tokens) {
  if (n < 0) return InvalidArgument("TokensFromFloats: negative length " + std::to_string(n));
  RETURN_IF_ERROR(CheckDims("TokensFromFloats", {{"V", V}}));
  if (n == 0) return Status::Ok();
  RETURN_IF_ERROR(CheckPointers("TokensFromFloats", {x, tokens}));
  const float limit = static_cast<float>(V);
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    // !(v >= 0) also catches NaN; floorf is exact, so the comparison is the CUDA kernel's.
    tokens[i] = (v >= 0.0f && v == floorf(v) && v < limit) ? static_cast<int32_t>(v) : -1;
  }
  return Status::Ok();
}

}  // namespace shoal::cpu
