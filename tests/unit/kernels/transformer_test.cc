#include "kernels/cpu/transformer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tests/testing/test_util.h"

namespace shoal::cpu {
namespace {

using ::shoal::testing::CentralDifferences;

// The small case of the gradient checks: every dimension distinct, so a swapped index shows.
constexpr int kB = 2, kT = 5, kC = 8, kNH = 2, kV = 11;

std::vector<float> Random(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<int32_t> RandomTokens(int n, int V, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, V - 1);
  std::vector<int32_t> v(n);
  for (int32_t& x : v) x = dist(rng);
  return v;
}

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// The scalar loss of the gradient checks, L = sum(out * w): dL/dout = w, and every output counts.
double Dot(const std::vector<double>& out, const std::vector<float>& w) {
  double sum = 0.0;
  for (size_t i = 0; i < out.size(); ++i) sum += out[i] * w[i];
  return sum;
}

// Each entry of a float analytic gradient against the double numeric one: within 1e-4 relative,
// with an absolute floor of 2e-5 of the largest entry for entries that cancel to near zero.
void ExpectGradNear(const std::vector<float>& got, const std::vector<double>& ref,
                    const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  double max_ref = 0.0;
  for (double r : ref) max_ref = std::max(max_ref, std::fabs(r));
  ASSERT_GT(max_ref, 1e-3) << what << ": a vanishing gradient checks nothing";
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 10; ++i) {
    const double tol = 1e-4 * std::fabs(ref[i]) + 2e-5 * max_ref;
    if (std::fabs(got[i] - ref[i]) > tol) {
      ADD_FAILURE() << what << "[" << i << "]: analytic " << got[i] << " numeric " << ref[i];
      ++failures;
    }
  }
}

void ExpectInvalid(const Status& s, const std::string& substr = "") {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find(substr), std::string::npos) << s.message();
}

// ---- Double-precision references, written from the definitions in transformer.h. ----

std::vector<double> RefEmbedding(const std::vector<int32_t>& tokens, const std::vector<double>& wte,
                                 const std::vector<double>& wpe, int B, int T, int C) {
  std::vector<double> out(static_cast<size_t>(B) * T * C);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t)
      for (int c = 0; c < C; ++c)
        out[(b * T + t) * C + c] = wte[tokens[b * T + t] * C + c] + wpe[t * C + c];
  return out;
}

std::vector<double> RefLayerNorm(const std::vector<double>& x, const std::vector<double>& w,
                                 const std::vector<double>& bias, int N, int C) {
  std::vector<double> out(x.size());
  for (int n = 0; n < N; ++n) {
    double mean = 0.0, var = 0.0;
    for (int c = 0; c < C; ++c) mean += x[n * C + c] / C;
    for (int c = 0; c < C; ++c) var += (x[n * C + c] - mean) * (x[n * C + c] - mean) / C;
    for (int c = 0; c < C; ++c) {
      out[n * C + c] = (x[n * C + c] - mean) / std::sqrt(var + 1e-5) * w[c] + bias[c];
    }
  }
  return out;
}

// Explicit loops; `att` (when given) receives the [B, NH, T, T] probabilities.
std::vector<double> RefAttention(const std::vector<double>& qkv, int B, int T, int C, int NH,
                                 std::vector<double>* att = nullptr) {
  const int hs = C / NH;
  std::vector<double> out(static_cast<size_t>(B) * T * C, 0.0);
  if (att != nullptr) att->assign(static_cast<size_t>(B) * NH * T * T, 0.0);
  std::vector<double> p(T);
  for (int b = 0; b < B; ++b) {
    for (int h = 0; h < NH; ++h) {
      for (int t = 0; t < T; ++t) {
        const double* q = &qkv[(b * T + t) * 3 * C + h * hs];
        double max_v = -std::numeric_limits<double>::infinity(), sum = 0.0;
        for (int s = 0; s <= t; ++s) {
          const double* k = &qkv[(b * T + s) * 3 * C + C + h * hs];
          double dot = 0.0;
          for (int i = 0; i < hs; ++i) dot += q[i] * k[i];
          p[s] = dot / std::sqrt(static_cast<double>(hs));
          max_v = std::max(max_v, p[s]);
        }
        for (int s = 0; s <= t; ++s) sum += (p[s] = std::exp(p[s] - max_v));
        for (int s = 0; s <= t; ++s) {
          p[s] /= sum;
          if (att != nullptr) (*att)[((b * NH + h) * T + t) * T + s] = p[s];
          const double* v = &qkv[(b * T + s) * 3 * C + 2 * C + h * hs];
          for (int i = 0; i < hs; ++i) out[(b * T + t) * C + h * hs + i] += p[s] * v[i];
        }
      }
    }
  }
  return out;
}

// ---- Embedding ----

TEST(EmbeddingTest, ForwardAddsTokenAndPositionRows) {
  const int max_t = kT + 3;
  const std::vector<int32_t> tokens = RandomTokens(kB * kT, kV, 1);
  const std::vector<float> wte = Random(kV * kC, 2);
  std::vector<float> wpe = Random(max_t * kC, 3);
  // Rows of wpe at or past T must not be read.
  std::fill(wpe.begin() + kT * kC, wpe.end(), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> out(kB * kT * kC);
  ASSERT_TRUE(
      EmbeddingForward(tokens.data(), wte.data(), wpe.data(), kB, kT, kC, kV, out.data()).ok());
  const std::vector<double> ref = RefEmbedding(tokens, ToDouble(wte), ToDouble(wpe), kB, kT, kC);
  // A sum of two floats rounds the same way in float as from double: exact equality.
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], static_cast<float>(ref[i])) << i;
}

struct EmbeddingCase {
  std::vector<int32_t> tokens = RandomTokens(kB * kT, kV, 4);
  std::vector<float> wte = Random(kV * kC, 5), wpe = Random(kT * kC, 6),
                     w = Random(kB * kT * kC, 7);
  EmbeddingCase() { tokens[7] = tokens[1]; }  // a repeated token accumulates into one row
};

TEST(EmbeddingTest, BackwardMatchesFiniteDifferences) {
  const EmbeddingCase p;
  std::vector<float> dwte(kV * kC, 0.0f), dwpe(kT * kC, 0.0f);
  ASSERT_TRUE(
      EmbeddingBackward(p.w.data(), p.tokens.data(), kB, kT, kC, kV, dwte.data(), dwpe.data())
          .ok());
  std::vector<double> wte = ToDouble(p.wte), wpe = ToDouble(p.wpe);
  auto loss = [&] { return Dot(RefEmbedding(p.tokens, wte, wpe, kB, kT, kC), p.w); };
  ExpectGradNear(dwte, CentralDifferences(wte, loss), "dwte");
  ExpectGradNear(dwpe, CentralDifferences(wpe, loss), "dwpe");
}

TEST(EmbeddingTest, BackwardAccumulates) {
  const EmbeddingCase p;
  std::vector<float> once_te(kV * kC, 0.0f), once_pe(kT * kC, 0.0f);
  ASSERT_TRUE(
      EmbeddingBackward(p.w.data(), p.tokens.data(), kB, kT, kC, kV, once_te.data(), once_pe.data())
          .ok());
  std::vector<float> dwte(kV * kC, 0.0f), dwpe(kT * kC, 0.0f);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        EmbeddingBackward(p.w.data(), p.tokens.data(), kB, kT, kC, kV, dwte.data(), dwpe.data())
            .ok());
  }
  for (size_t i = 0; i < dwte.size(); ++i) EXPECT_NEAR(dwte[i], 2 * once_te[i], 1e-6) << i;
  for (size_t i = 0; i < dwpe.size(); ++i) EXPECT_NEAR(dwpe[i], 2 * once_pe[i], 1e-6) << i;
}

TEST(EmbeddingTest, RejectsBadArgumentsAndLeavesOutputsUntouched) {
  std::vector<int32_t> tokens = RandomTokens(kB * kT, kV, 8);
  const std::vector<float> wte = Random(kV * kC, 9), wpe = Random(kT * kC, 10);
  const std::vector<float> dout = Random(kB * kT * kC, 11);
  const std::vector<float> sentinel(kB * kT * kC + kV * kC, 7.0f);
  std::vector<float> out = sentinel, dwte = sentinel, dwpe = sentinel;
  auto fwd = [&](const int32_t* tk, const float* te, const float* pe, int B, int T, int C, int V,
                 float* o) { return EmbeddingForward(tk, te, pe, B, T, C, V, o); };
  auto bwd = [&](const int32_t* tk, int B, int T, int C, int V, float* gte, float* gpe) {
    return EmbeddingBackward(dout.data(), tk, B, T, C, V, gte, gpe);
  };
  const int32_t* tk = tokens.data();
  for (const auto& [B, T, C, V] : std::vector<std::array<int, 4>>{
           {0, kT, kC, kV}, {kB, -1, kC, kV}, {kB, kT, 0, kV}, {kB, kT, kC, 0}}) {
    ExpectInvalid(fwd(tk, wte.data(), wpe.data(), B, T, C, V, out.data()), "not positive");
    ExpectInvalid(bwd(tk, B, T, C, V, dwte.data(), dwpe.data()), "not positive");
  }
  ExpectInvalid(fwd(nullptr, wte.data(), wpe.data(), kB, kT, kC, kV, out.data()), "null");
  ExpectInvalid(fwd(tk, nullptr, wpe.data(), kB, kT, kC, kV, out.data()), "null");
  ExpectInvalid(fwd(tk, wte.data(), nullptr, kB, kT, kC, kV, out.data()), "null");
  ExpectInvalid(fwd(tk, wte.data(), wpe.data(), kB, kT, kC, kV, nullptr), "null");
  ExpectInvalid(bwd(nullptr, kB, kT, kC, kV, dwte.data(), dwpe.data()), "null");
  ExpectInvalid(bwd(tk, kB, kT, kC, kV, nullptr, dwpe.data()), "null");
  ExpectInvalid(bwd(tk, kB, kT, kC, kV, dwte.data(), nullptr), "null");
  ExpectInvalid(EmbeddingBackward(nullptr, tk, kB, kT, kC, kV, dwte.data(), dwpe.data()), "null");
  // The bad token is the last one, so an operator that wrote rows before checking would show.
  for (const int32_t bad : {kV, -1, 1 << 30}) {
    tokens[kB * kT - 1] = bad;
    const std::string where = "token " + std::to_string(bad) + " at (b=1, t=4)";
    ExpectInvalid(fwd(tk, wte.data(), wpe.data(), kB, kT, kC, kV, out.data()), where);
    ExpectInvalid(bwd(tk, kB, kT, kC, kV, dwte.data(), dwpe.data()), where);
  }
  EXPECT_EQ(out, sentinel);
  EXPECT_EQ(dwte, sentinel);
  EXPECT_EQ(dwpe, sentinel);
}

// ---- LayerNorm ----

TEST(LayerNormTest, ForwardMatchesTorchSemantics) {
  // x = [1, 2, 3, 4]: mean 2.5, biased variance 1.25 (torch divides by C), eps inside the sqrt.
  const std::vector<float> x = {1, 2, 3, 4}, w = {1, 2, 1, 1}, bias = {0, 0, 0.5f, 0};
  std::vector<float> out(4), mean(1), rstd(1);
  ASSERT_TRUE(
      LayerNormForward(x.data(), w.data(), bias.data(), 1, 4, out.data(), mean.data(), rstd.data())
          .ok());
  const double r = 1.0 / std::sqrt(1.25 + 1e-5);
  EXPECT_EQ(mean[0], 2.5f);
  EXPECT_NEAR(rstd[0], r, 1e-6);
  // Without eps rstd would be 0.8944272 and with the unbiased variance 0.7745967.
  EXPECT_NEAR(rstd[0], 0.8944236f, 1e-6);
  const double want[4] = {-1.5 * r, -0.5 * r * 2, 0.5 * r + 0.5, 1.5 * r};
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(out[c], want[c], 1e-6) << c;
}

TEST(LayerNormTest, ForwardMatchesDoubleReference) {
  const int N = 7, C = 33;
  // An offset of 100 makes a one-pass variance cancel badly; the contract's answer must not.
  const std::vector<float> x = Random(N * C, 12, 99.0f, 101.0f), w = Random(C, 13),
                           bias = Random(C, 14);
  std::vector<float> out(N * C), mean(N), rstd(N);
  ASSERT_TRUE(
      LayerNormForward(x.data(), w.data(), bias.data(), N, C, out.data(), mean.data(), rstd.data())
          .ok());
  const std::vector<double> ref = RefLayerNorm(ToDouble(x), ToDouble(w), ToDouble(bias), N, C);
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], ref[i], 1e-4) << i;
  for (int n = 0; n < N; ++n) {
    double m = 0.0;
    for (int c = 0; c < C; ++c) m += x[n * C + c] / static_cast<double>(C);
    EXPECT_NEAR(mean[n], m, 1e-5 * std::fabs(m));
  }
}

struct LayerNormCase {
  int N = kB * kT, C = kC;
  std::vector<float> x = Random(N * C, 15, -2.0f, 2.0f), w = Random(C, 16, 0.5f, 1.5f),
                     bias = Random(C, 17), dout = Random(N * C, 18);
  std::vector<float> out = std::vector<float>(N * C), mean = std::vector<float>(N),
                     rstd = std::vector<float>(N);
  LayerNormCase() {
    EXPECT_TRUE(LayerNormForward(x.data(), w.data(), bias.data(), N, C, out.data(), mean.data(),
                                 rstd.data())
                    .ok());
  }
  Status Backward(std::vector<float>& dx, std::vector<float>& dw, std::vector<float>& db) const {
    return LayerNormBackward(dout.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C,
                             dx.data(), dw.data(), db.data());
  }
};

TEST(LayerNormTest, BackwardMatchesFiniteDifferences) {
  const LayerNormCase p;
  std::vector<float> dx(p.N * p.C, 0.0f), dw(p.C, 0.0f), db(p.C, 0.0f);
  ASSERT_TRUE(p.Backward(dx, dw, db).ok());
  std::vector<double> x = ToDouble(p.x), w = ToDouble(p.w), bias = ToDouble(p.bias);
  auto loss = [&] { return Dot(RefLayerNorm(x, w, bias, p.N, p.C), p.dout); };
  ExpectGradNear(dx, CentralDifferences(x, loss), "dx");
  ExpectGradNear(dw, CentralDifferences(w, loss), "dweight");
  ExpectGradNear(db, CentralDifferences(bias, loss), "dbias");
}

TEST(LayerNormTest, BackwardAccumulates) {
  const LayerNormCase p;
  std::vector<float> dx(p.N * p.C, 0.0f), dw(p.C, 0.0f), db(p.C, 0.0f);
  ASSERT_TRUE(p.Backward(dx, dw, db).ok());
  // Start from non-zero gradients: the result is start + one call's gradient, twice over.
  const std::vector<float> start_x = Random(dx.size(), 19), start_w = Random(dw.size(), 20),
                           start_b = Random(db.size(), 21);
  std::vector<float> ax = start_x, aw = start_w, ab = start_b;
  ASSERT_TRUE(p.Backward(ax, aw, ab).ok());
  ASSERT_TRUE(p.Backward(ax, aw, ab).ok());
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(ax[i], start_x[i] + 2 * dx[i], 1e-5) << i;
  for (size_t i = 0; i < dw.size(); ++i) EXPECT_NEAR(aw[i], start_w[i] + 2 * dw[i], 1e-5) << i;
  for (size_t i = 0; i < db.size(); ++i) EXPECT_NEAR(ab[i], start_b[i] + 2 * db[i], 1e-5) << i;
}

TEST(LayerNormTest, RejectsBadArgumentsAndLeavesOutputsUntouched) {
  const int N = 3, C = 4;
  const std::vector<float> in = Random(N * C, 22);
  const std::vector<float> sentinel(N * C, 7.0f);
  std::vector<float> o1 = sentinel, o2 = sentinel, o3 = sentinel;
  // Forward: x, weight, bias, out, mean, rstd; backward: dout, x, weight, mean, rstd, dx, dw, db.
  for (int null_at = -1; null_at < 8; ++null_at) {
    auto p = [&](int i, const float* v) { return i == null_at ? nullptr : v; };
    auto q = [&](int i, float* v) { return i == null_at ? nullptr : v; };
    if (null_at < 6) {
      const Status fwd =
          LayerNormForward(p(0, in.data()), p(1, in.data()), p(2, in.data()), null_at < 0 ? 0 : N,
                           C, q(3, o1.data()), q(4, o2.data()), q(5, o3.data()));
      ExpectInvalid(fwd, null_at < 0 ? "N=0" : "null");
    }
    const Status bwd = LayerNormBackward(p(0, in.data()), p(1, in.data()), p(2, in.data()),
                                         p(3, in.data()), p(4, in.data()), N, null_at < 0 ? -2 : C,
                                         q(5, o1.data()), q(6, o2.data()), q(7, o3.data()));
    ExpectInvalid(bwd, null_at < 0 ? "C=-2" : "null");
  }
  EXPECT_EQ(o1, sentinel);
  EXPECT_EQ(o2, sentinel);
  EXPECT_EQ(o3, sentinel);
}

// ---- Attention ----

struct AttentionCase {
  int B, T, C, NH;
  std::vector<float> qkv, dout, out, att;
  AttentionCase(int b, int t, int c, int nh, uint32_t seed)
      : B(b),
        T(t),
        C(c),
        NH(nh),
        qkv(Random(B * T * 3 * C, seed, -2.0f, 2.0f)),
        dout(Random(B * T * C, seed + 1)),
        out(B * T * C),
        att(B * NH * T * T) {
    EXPECT_TRUE(AttentionForward(qkv.data(), B, T, C, NH, out.data(), att.data()).ok());
  }
  Status Backward(std::vector<float>& dqkv) const {
    std::vector<float> scratch(att.size());
    return AttentionBackward(dout.data(), qkv.data(), att.data(), B, T, C, NH, dqkv.data(),
                             scratch.data());
  }
};

TEST(AttentionTest, ForwardMatchesNaiveReference) {
  const AttentionCase p(kB, kT, kC, kNH, 23);
  std::vector<double> ref_att;
  const std::vector<double> ref = RefAttention(ToDouble(p.qkv), p.B, p.T, p.C, p.NH, &ref_att);
  for (size_t i = 0; i < p.out.size(); ++i) EXPECT_NEAR(p.out[i], ref[i], 1e-5) << i;
  for (size_t i = 0; i < p.att.size(); ++i) EXPECT_NEAR(p.att[i], ref_att[i], 1e-6) << i;
  for (int bh = 0; bh < p.B * p.NH; ++bh) {
    for (int t = 0; t < p.T; ++t) {
      const float* row = &p.att[(bh * p.T + t) * p.T];
      double sum = 0.0;
      for (int s = 0; s <= t; ++s) sum += row[s];
      EXPECT_NEAR(sum, 1.0, 1e-6);
      for (int s = t + 1; s < p.T; ++s) EXPECT_EQ(row[s], 0.0f) << "future position s=" << s;
    }
    EXPECT_EQ(p.att[bh * p.T * p.T], 1.0f);  // the first token attends only to itself
  }
}

TEST(AttentionTest, OutputIgnoresFutureTokens) {
  AttentionCase p(1, 6, 8, 2, 24);
  // Change every q, k and v of tokens 3.. : outputs of tokens 0..2 must not move at all.
  for (size_t i = 3 * 3 * p.C; i < p.qkv.size(); ++i) p.qkv[i] = -3.0f * p.qkv[i] + 1.0f;
  std::vector<float> out(p.out.size()), att(p.att.size());
  ASSERT_TRUE(AttentionForward(p.qkv.data(), p.B, p.T, p.C, p.NH, out.data(), att.data()).ok());
  for (int i = 0; i < 3 * p.C; ++i) EXPECT_EQ(out[i], p.out[i]) << i;
  EXPECT_NE(std::vector<float>(out.begin() + 3 * p.C, out.end()),
            std::vector<float>(p.out.begin() + 3 * p.C, p.out.end()));
}

TEST(AttentionTest, BackwardMatchesFiniteDifferences) {
  // The brief's case, one token, one head, and three heads of odd size.
  for (const auto& [B, T, C, NH] : std::vector<std::array<int, 4>>{
           {kB, kT, kC, kNH}, {1, 1, 4, 1}, {1, 7, 6, 3}, {2, 4, 8, 1}}) {
    const AttentionCase p(B, T, C, NH, 25 + T);
    std::vector<float> dqkv(p.qkv.size(), 0.0f);
    ASSERT_TRUE(p.Backward(dqkv).ok());
    std::vector<double> qkv = ToDouble(p.qkv);
    const std::vector<double> fd =
        CentralDifferences(qkv, [&] { return Dot(RefAttention(qkv, B, T, C, NH), p.dout); });
    ExpectGradNear(dqkv, fd,
                   "dqkv B=" + std::to_string(B) + " T=" + std::to_string(T) +
                       " C=" + std::to_string(C) + " NH=" + std::to_string(NH));
  }
}

TEST(AttentionTest, BackwardAccumulates) {
  const AttentionCase p(kB, kT, kC, kNH, 26);
  std::vector<float> once(p.qkv.size(), 0.0f);
  ASSERT_TRUE(p.Backward(once).ok());
  const std::vector<float> start = Random(once.size(), 27);
  std::vector<float> dqkv = start;
  ASSERT_TRUE(p.Backward(dqkv).ok());
  ASSERT_TRUE(p.Backward(dqkv).ok());
  for (size_t i = 0; i < dqkv.size(); ++i) EXPECT_NEAR(dqkv[i], start[i] + 2 * once[i], 1e-5) << i;
}

TEST(AttentionTest, RejectsBadArgumentsAndLeavesOutputsUntouched) {
  const int B = 1, T = 3, C = 6, NH = 2;
  const std::vector<float> in = Random(B * T * 3 * C, 28);
  const std::vector<float> sentinel(B * T * 3 * C + B * NH * T * T, 7.0f);
  std::vector<float> out = sentinel, att = sentinel, dqkv = sentinel, scratch = sentinel;
  auto fwd = [&](int b, int t, int c, int nh) {
    return AttentionForward(in.data(), b, t, c, nh, out.data(), att.data());
  };
  auto bwd = [&](int b, int t, int c, int nh) {
    return AttentionBackward(in.data(), in.data(), in.data(), b, t, c, nh, dqkv.data(),
                             scratch.data());
  };
  ExpectInvalid(fwd(B, T, C, 4), "C=6 is not divisible by NH=4");
  ExpectInvalid(bwd(B, T, C, 4), "C=6 is not divisible by NH=4");
  for (const auto& [b, t, c, nh] : std::vector<std::array<int, 4>>{
           {0, T, C, NH}, {B, 0, C, NH}, {B, T, -6, NH}, {B, T, C, 0}, {B, T, C, -2}}) {
    ExpectInvalid(fwd(b, t, c, nh), "not positive");
    ExpectInvalid(bwd(b, t, c, nh), "not positive");
  }
  const float* x = in.data();
  ExpectInvalid(AttentionForward(nullptr, B, T, C, NH, out.data(), att.data()), "null");
  ExpectInvalid(AttentionForward(x, B, T, C, NH, nullptr, att.data()), "null");
  ExpectInvalid(AttentionForward(x, B, T, C, NH, out.data(), nullptr), "null");
  ExpectInvalid(AttentionBackward(nullptr, x, x, B, T, C, NH, dqkv.data(), scratch.data()), "null");
  ExpectInvalid(AttentionBackward(x, nullptr, x, B, T, C, NH, dqkv.data(), scratch.data()), "null");
  ExpectInvalid(AttentionBackward(x, x, nullptr, B, T, C, NH, dqkv.data(), scratch.data()), "null");
  ExpectInvalid(AttentionBackward(x, x, x, B, T, C, NH, nullptr, scratch.data()), "null");
  ExpectInvalid(AttentionBackward(x, x, x, B, T, C, NH, dqkv.data(), nullptr), "null");
  EXPECT_EQ(out, sentinel);
  EXPECT_EQ(att, sentinel);
  EXPECT_EQ(dqkv, sentinel);
  EXPECT_EQ(scratch, sentinel);
}

// ---- Residual, global norm, scale ----

TEST(ResidualTest, AddsElementwiseAndMayAlias) {
  const int64_t n = 37;
  const std::vector<float> a = Random(n, 29), b = Random(n, 30);
  std::vector<float> out(n);
  ASSERT_TRUE(ResidualForward(a.data(), b.data(), n, out.data()).ok());
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(out[i], a[i] + b[i]) << i;
  std::vector<float> in_a = a, in_b = b;
  ASSERT_TRUE(ResidualForward(in_a.data(), b.data(), n, in_a.data()).ok());
  ASSERT_TRUE(ResidualForward(a.data(), in_b.data(), n, in_b.data()).ok());
  EXPECT_EQ(in_a, out);
  EXPECT_EQ(in_b, out);
}

TEST(SumOfSquaresTest, AccumulatesInDoubleInIndexOrder) {
  // 1e8 + 1000 * 0.01: a float accumulator would stay at 1e8.
  std::vector<float> x(1001, 0.1f);
  x[0] = 1e4f;
  double got = 0.0;
  ASSERT_TRUE(SumOfSquares(x.data(), static_cast<int64_t>(x.size()), &got).ok());
  double want = 0.0;
  for (float v : x) want += static_cast<double>(v) * v;
  EXPECT_EQ(got, want);
  EXPECT_NEAR(got, 1e8 + 10.0, 1e-3);
}

TEST(ScaleTest, MultipliesInPlace) {
  const std::vector<float> x = Random(19, 31);
  std::vector<float> y = x;
  ASSERT_TRUE(Scale(y.data(), static_cast<int64_t>(y.size()), 0.25f).ok());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i] * 0.25f) << i;
}

TEST(ElementwiseOpsTest, RejectBadArgumentsAndLeaveOutputsUntouched) {
  std::vector<float> v(4, 7.0f);
  double sum = -1.0;
  for (const int64_t n : {int64_t{0}, int64_t{-1}}) {
    ExpectInvalid(ResidualForward(v.data(), v.data(), n, v.data()), "not positive");
    ExpectInvalid(SumOfSquares(v.data(), n, &sum), "not positive");
    ExpectInvalid(Scale(v.data(), n, 2.0f), "not positive");
  }
  ExpectInvalid(ResidualForward(nullptr, v.data(), 4, v.data()), "null");
  ExpectInvalid(ResidualForward(v.data(), nullptr, 4, v.data()), "null");
  ExpectInvalid(ResidualForward(v.data(), v.data(), 4, nullptr), "null");
  ExpectInvalid(SumOfSquares(nullptr, 4, &sum), "null");
  ExpectInvalid(SumOfSquares(v.data(), 4, nullptr), "null");
  ExpectInvalid(Scale(nullptr, 4, 2.0f), "null");
  EXPECT_EQ(v, std::vector<float>(4, 7.0f));
  EXPECT_EQ(sum, -1.0);
}

// ---- Determinism: every operator twice on a larger case, compared bit for bit. ----

std::vector<float> RunAll(const std::vector<int32_t>& tokens, const std::vector<float>& params,
                          int B, int T, int C, int NH, int V) {
  const int N = B * T;
  const float* wte = params.data();
  const float* wpe = wte + V * C;
  const float* lnw = wpe + T * C;
  const float* lnb = lnw + C;
  const float* qkv = lnb + C;
  const float* dout = qkv + N * 3 * C;
  std::vector<float> emb(N * C), ln(N * C), mean(N), rstd(N), att(B * NH * T * T), out(N * C);
  std::vector<float> dqkv(N * 3 * C, 0.0f), scratch(att.size()), dx(N * C, 0.0f), dw(C, 0.0f),
      db(C, 0.0f), dwte(V * C, 0.0f), dwpe(T * C, 0.0f);
  EXPECT_TRUE(EmbeddingForward(tokens.data(), wte, wpe, B, T, C, V, emb.data()).ok());
  EXPECT_TRUE(
      LayerNormForward(emb.data(), lnw, lnb, N, C, ln.data(), mean.data(), rstd.data()).ok());
  EXPECT_TRUE(AttentionForward(qkv, B, T, C, NH, out.data(), att.data()).ok());
  EXPECT_TRUE(ResidualForward(out.data(), ln.data(), N * C, out.data()).ok());
  EXPECT_TRUE(
      AttentionBackward(dout, qkv, att.data(), B, T, C, NH, dqkv.data(), scratch.data()).ok());
  EXPECT_TRUE(LayerNormBackward(dout, emb.data(), lnw, mean.data(), rstd.data(), N, C, dx.data(),
                                dw.data(), db.data())
                  .ok());
  EXPECT_TRUE(
      EmbeddingBackward(dx.data(), tokens.data(), B, T, C, V, dwte.data(), dwpe.data()).ok());
  double sq = 0.0;
  EXPECT_TRUE(SumOfSquares(dqkv.data(), N * 3 * C, &sq).ok());
  EXPECT_TRUE(Scale(dqkv.data(), N * 3 * C, static_cast<float>(1.0 / std::sqrt(sq))).ok());
  std::vector<float> all;
  for (const auto* v : {&emb, &ln, &mean, &rstd, &att, &out, &dqkv, &dx, &dw, &db, &dwte, &dwpe})
    all.insert(all.end(), v->begin(), v->end());
  return all;
}

TEST(TransformerOpsTest, BitIdenticalAcrossRuns) {
  const int B = 2, T = 130, C = 64, NH = 4, V = 50;
  const std::vector<int32_t> tokens = RandomTokens(B * T, V, 32);
  const std::vector<float> params = Random(V * C + T * C + 2 * C + B * T * 4 * C, 33);
  const std::vector<float> first = RunAll(tokens, params, B, T, C, NH, V);
  const std::vector<float> second = RunAll(tokens, params, B, T, C, NH, V);
  ASSERT_EQ(first.size(), second.size());
  EXPECT_EQ(std::memcmp(first.data(), second.data(), first.size() * sizeof(float)), 0);
}

// The trainer's rows hold token ids as floats; anything that is not an id becomes -1.
TEST(TokensFromFloatsTest, WholeIdsInRangeElseMinusOne) {
  const std::vector<float> x = {0.0f, 1.0f, 9.0f, 10.0f, -1.0f, 2.5f, NAN, INFINITY};
  std::vector<int32_t> tokens(x.size(), 7);
  ASSERT_TRUE(TokensFromFloats(x.data(), static_cast<int64_t>(x.size()), 10, tokens.data()).ok());
  EXPECT_EQ(tokens, (std::vector<int32_t>{0, 1, 9, -1, -1, -1, -1, -1}));
  EXPECT_TRUE(TokensFromFloats(nullptr, 0, 10, nullptr).ok());
  EXPECT_FALSE(TokensFromFloats(x.data(), -1, 10, tokens.data()).ok());
  EXPECT_FALSE(TokensFromFloats(x.data(), 2, 0, tokens.data()).ok());
  EXPECT_FALSE(TokensFromFloats(nullptr, 2, 10, tokens.data()).ok());
}

}  // namespace
}  // namespace shoal::cpu
