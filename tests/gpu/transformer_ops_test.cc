// The GPT-2 operators on the GPU (kernels/cuda/transformer.h) against their CPU twins
// (kernels/cpu/transformer.h) on fresh random inputs: embedding, LayerNorm, causal attention,
// residual, sum of squares, scale, float ids to int32 tokens. Element-wise results must be
// bit-identical to the CPU, the reductions equal to fp32 rounding, and every backward bit-identical
// from one run to the next.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/transformer.h"
#include "kernels/cuda/transformer.h"
#include "tests/gpu/gpu_test_util.h"

namespace shoal::testing {
namespace {

int64_t BitMismatches(const std::vector<float>& a, const std::vector<float>& b) {
  int64_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return diff;
}

// Elements outside |gpu - cpu| <= rtol * |cpu| + atol; the first few are printed.
int64_t NotClose(const std::vector<float>& gpu, const std::vector<float>& cpu, double rtol,
                 double atol, const std::string& what) {
  int64_t bad = 0;
  for (size_t i = 0; i < gpu.size(); ++i) {
    const double g = gpu[i], c = cpu[i];
    if (!(std::abs(g - c) <= rtol * std::abs(c) + atol)) {
      if (++bad <= 3) ADD_FAILURE() << what << "[" << i << "]: gpu " << g << " cpu " << c;
    }
  }
  return bad;
}

constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-6;

// ---------------------------------------------------------------------------------------------

struct EmbCase {
  int B, T, C, V, max_t;
};
// V small against B*T forces repeated tokens (several additions into one dwte row).
const EmbCase kEmbCases[] = {{1, 1, 1, 1, 1},
                             {2, 5, 7, 3, 9},
                             {4, 64, 48, 100, 64},
                             {3, 37, 130, 1000, 50},
                             {2, 300, 33, 17, 300}};

using TransformerEmbeddingTest = GpuTest;

TEST_F(TransformerEmbeddingTest, ForwardAndBackwardBitIdenticalToCpu) {
  std::mt19937 rng = TestRng();
  for (const EmbCase e : kEmbCases) {
    const std::string dims = std::to_string(e.B) + "x" + std::to_string(e.T) + "x" +
                             std::to_string(e.C) + " V=" + std::to_string(e.V);
    const std::vector<int32_t> tokens = RandomLabels(e.B * e.T, e.V, rng);
    const std::vector<float> wte = RandomVector(e.V * e.C, rng);
    const std::vector<float> wpe = RandomVector(e.max_t * e.C, rng);
    const std::vector<float> dout = RandomVector(e.B * e.T * e.C, rng);
    const std::vector<float> dwte0 = RandomVector(e.V * e.C, rng);
    const std::vector<float> dwpe0 = RandomVector(e.max_t * e.C, rng);

    std::vector<float> out(e.B * e.T * e.C), dwte = dwte0, dwpe = dwpe0;
    ASSERT_TRUE(
        cpu::EmbeddingForward(tokens.data(), wte.data(), wpe.data(), e.B, e.T, e.C, e.V, out.data())
            .ok());
    ASSERT_TRUE(cpu::EmbeddingBackward(dout.data(), tokens.data(), e.B, e.T, e.C, e.V, dwte.data(),
                                       dwpe.data())
                    .ok());

    DeviceBuffer<int32_t> d_tokens(tokens);
    DeviceBuffer<float> d_wte(wte), d_wpe(wpe), d_dout(dout), d_out(out.size());
    ASSERT_TRUE(cuda::EmbeddingForward(d_tokens.get(), d_wte.get(), d_wpe.get(), e.B, e.T, e.C, e.V,
                                       d_out.get(), stream_)
                    .ok());
    Sync();
    EXPECT_EQ(BitMismatches(d_out.Download(), out), 0) << dims;

    std::vector<float> first_dwte, first_dwpe;
    for (int run = 0; run < 2; ++run) {
      DeviceBuffer<float> d_dwte(dwte0), d_dwpe(dwpe0);
      ASSERT_TRUE(cuda::EmbeddingBackward(d_dout.get(), d_tokens.get(), e.B, e.T, e.C, e.V,
                                          d_dwte.get(), d_dwpe.get(), stream_)
                      .ok());
      Sync();
      const std::vector<float> g_dwte = d_dwte.Download(), g_dwpe = d_dwpe.Download();
      // The same (b, t)-ordered fp32 additions as the CPU, so bitwise equal.
      EXPECT_EQ(BitMismatches(g_dwte, dwte), 0) << dims;
      EXPECT_EQ(BitMismatches(g_dwpe, dwpe), 0) << dims;
      if (run == 0) {
        first_dwte = g_dwte;
        first_dwpe = g_dwpe;
      } else {
        EXPECT_EQ(BitMismatches(g_dwte, first_dwte), 0) << "not deterministic " << dims;
        EXPECT_EQ(BitMismatches(g_dwpe, first_dwpe), 0) << "not deterministic " << dims;
      }
    }
  }
}

TEST_F(TransformerEmbeddingTest, OutOfRangeTokenPoisonsRowAndArgumentErrors) {
  std::mt19937 rng = TestRng();
  const int B = 1, T = 4, C = 8, V = 5;
  const std::vector<int32_t> tokens = {0, 7, -1, 4};
  const std::vector<float> dwte0 = RandomVector(V * C, rng);
  DeviceBuffer<int32_t> d_tokens(tokens);
  DeviceBuffer<float> d_wte(RandomVector(V * C, rng)), d_wpe(RandomVector(T * C, rng));
  DeviceBuffer<float> d_out(B * T * C), d_dout(RandomVector(B * T * C, rng));
  DeviceBuffer<float> d_dwte(dwte0), d_dwpe(T * C);
  ASSERT_TRUE(cuda::EmbeddingForward(d_tokens.get(), d_wte.get(), d_wpe.get(), B, T, C, V,
                                     d_out.get(), stream_)
                  .ok());
  ASSERT_TRUE(cuda::EmbeddingBackward(d_dout.get(), d_tokens.get(), B, T, C, V, d_dwte.get(),
                                      d_dwpe.get(), stream_)
                  .ok());
  Sync();
  const std::vector<float> out = d_out.Download(), dwte = d_dwte.Download();
  for (int t = 0; t < T; ++t) {
    const bool bad = tokens[t] < 0 || tokens[t] >= V;
    for (int c = 0; c < C; ++c) EXPECT_EQ(std::isnan(out[t * C + c]), bad) << t << "," << c;
  }
  // Only rows 0 and 4 of dwte receive gradient; the bad tokens touch nothing.
  for (int v = 1; v < 4; ++v) {
    for (int c = 0; c < C; ++c) EXPECT_EQ(dwte[v * C + c], dwte0[v * C + c]);
  }
  EXPECT_EQ(cuda::EmbeddingForward(d_tokens.get(), d_wte.get(), d_wpe.get(), 0, T, C, V,
                                   d_out.get(), stream_)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda::EmbeddingBackward(d_dout.get(), nullptr, B, T, C, V, d_dwte.get(), d_dwpe.get(),
                                    stream_)
                .code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------

struct LnCase {
  int N, C;
};
const LnCase kLnCases[] = {{1, 1}, {7, 13}, {64, 768}, {300, 37}, {1000, 100}};

using TransformerLayerNormTest = GpuTest;

TEST_F(TransformerLayerNormTest, ForwardAndBackwardMatchCpuAndAreDeterministic) {
  std::mt19937 rng = TestRng();
  for (const LnCase l : kLnCases) {
    const std::string dims = std::to_string(l.N) + "x" + std::to_string(l.C);
    // An offset mean, as in real activations, exercises the two-pass variance.
    const std::vector<float> x = RandomVector(l.N * l.C, rng, 0.5f, 3.0f);
    const std::vector<float> weight = RandomVector(l.C, rng, 0.5f, 1.5f);
    const std::vector<float> bias = RandomVector(l.C, rng);
    const std::vector<float> dout = RandomVector(l.N * l.C, rng);
    const std::vector<float> dx0 = RandomVector(l.N * l.C, rng);
    const std::vector<float> dw0 = RandomVector(l.C, rng), db0 = RandomVector(l.C, rng);

    std::vector<float> out(x.size()), mean(l.N), rstd(l.N), dx = dx0, dw = dw0, db = db0;
    ASSERT_TRUE(cpu::LayerNormForward(x.data(), weight.data(), bias.data(), l.N, l.C, out.data(),
                                      mean.data(), rstd.data())
                    .ok());
    ASSERT_TRUE(cpu::LayerNormBackward(dout.data(), x.data(), weight.data(), mean.data(),
                                       rstd.data(), l.N, l.C, dx.data(), dw.data(), db.data())
                    .ok());

    DeviceBuffer<float> d_x(x), d_w(weight), d_b(bias), d_dout(dout);
    DeviceBuffer<float> d_out(x.size()), d_mean(l.N), d_rstd(l.N);
    ASSERT_TRUE(cuda::LayerNormForward(d_x.get(), d_w.get(), d_b.get(), l.N, l.C, d_out.get(),
                                       d_mean.get(), d_rstd.get(), stream_)
                    .ok());
    Sync();
    EXPECT_EQ(NotClose(d_out.Download(), out, kRtol, kAtol, "out " + dims), 0);
    EXPECT_EQ(NotClose(d_mean.Download(), mean, kRtol, kAtol, "mean " + dims), 0);
    EXPECT_EQ(NotClose(d_rstd.Download(), rstd, kRtol, kAtol, "rstd " + dims), 0);

    // Column sums over N rows in another order: the absolute slack grows like sqrt(N).
    const double col_atol = kAtol * std::sqrt(static_cast<double>(l.N)) * 10;
    std::vector<float> first;
    for (int run = 0; run < 2; ++run) {
      DeviceBuffer<float> d_dx(dx0), d_dw(dw0), d_db(db0);
      // The CPU's mean/rstd, so the backward is compared on identical inputs.
      DeviceBuffer<float> c_mean(mean), c_rstd(rstd);
      ASSERT_TRUE(cuda::LayerNormBackward(d_dout.get(), d_x.get(), d_w.get(), c_mean.get(),
                                          c_rstd.get(), l.N, l.C, d_dx.get(), d_dw.get(),
                                          d_db.get(), stream_)
                      .ok());
      Sync();
      const std::vector<float> g_dx = d_dx.Download(), g_dw = d_dw.Download(),
                               g_db = d_db.Download();
      EXPECT_EQ(NotClose(g_dx, dx, kRtol, kAtol * 10, "dx " + dims), 0);
      EXPECT_EQ(NotClose(g_dw, dw, kRtol, col_atol, "dweight " + dims), 0);
      EXPECT_EQ(NotClose(g_db, db, kRtol, col_atol, "dbias " + dims), 0);
      std::vector<float> all = g_dx;
      all.insert(all.end(), g_dw.begin(), g_dw.end());
      all.insert(all.end(), g_db.begin(), g_db.end());
      if (run == 0) {
        first = all;
      } else {
        EXPECT_EQ(BitMismatches(all, first), 0) << "not deterministic " << dims;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

struct AttCase {
  int B, T, C, NH;
};
// T = 1 (a single key), T below and above the warp width, hs = 1 and hs > 32.
const AttCase kAttCases[] = {
    {1, 1, 4, 1}, {2, 7, 12, 3}, {2, 33, 64, 4}, {1, 70, 96, 2}, {3, 16, 8, 8}};

using TransformerAttentionTest = GpuTest;

TEST_F(TransformerAttentionTest, ForwardAndBackwardMatchCpuAndAreDeterministic) {
  std::mt19937 rng = TestRng();
  for (const AttCase a : kAttCases) {
    const std::string dims = std::to_string(a.B) + "x" + std::to_string(a.T) + "x" +
                             std::to_string(a.C) + " NH=" + std::to_string(a.NH);
    const size_t btc = static_cast<size_t>(a.B) * a.T * a.C;
    const size_t att_n = static_cast<size_t>(a.B) * a.NH * a.T * a.T;
    const std::vector<float> qkv = RandomVector(3 * btc, rng);
    const std::vector<float> dout = RandomVector(btc, rng);
    const std::vector<float> dqkv0 = RandomVector(3 * btc, rng);

    std::vector<float> out(btc), att(att_n), dqkv = dqkv0, scratch(att_n);
    ASSERT_TRUE(
        cpu::AttentionForward(qkv.data(), a.B, a.T, a.C, a.NH, out.data(), att.data()).ok());
    ASSERT_TRUE(cpu::AttentionBackward(dout.data(), qkv.data(), att.data(), a.B, a.T, a.C, a.NH,
                                       dqkv.data(), scratch.data())
                    .ok());

    DeviceBuffer<float> d_qkv(qkv), d_dout(dout), d_out(btc), d_att(att_n);
    ASSERT_TRUE(
        cuda::AttentionForward(d_qkv.get(), a.B, a.T, a.C, a.NH, d_out.get(), d_att.get(), stream_)
            .ok());
    Sync();
    EXPECT_EQ(NotClose(d_out.Download(), out, kRtol, kAtol, "out " + dims), 0);
    EXPECT_EQ(NotClose(d_att.Download(), att, kRtol, kAtol, "att " + dims), 0);

    std::vector<float> first;
    for (int run = 0; run < 2; ++run) {
      DeviceBuffer<float> d_dqkv(dqkv0), d_scratch(att_n), c_att(att);  // the CPU's att
      ASSERT_TRUE(cuda::AttentionBackward(d_dout.get(), d_qkv.get(), c_att.get(), a.B, a.T, a.C,
                                          a.NH, d_dqkv.get(), d_scratch.get(), stream_)
                      .ok());
      Sync();
      const std::vector<float> g = d_dqkv.Download();
      EXPECT_EQ(NotClose(g, dqkv, kRtol, kAtol * 10, "dqkv " + dims), 0);
      if (run == 0) {
        first = g;
      } else {
        EXPECT_EQ(BitMismatches(g, first), 0) << "not deterministic " << dims;
      }
    }
  }
}

TEST_F(TransformerAttentionTest, ArgumentErrors) {
  DeviceBuffer<float> buf(3 * 2 * 4 * 6);
  EXPECT_EQ(cuda::AttentionForward(buf.get(), 1, 2, 6, 4, buf.get(), buf.get(), stream_).code(),
            StatusCode::kInvalidArgument)
      << "C not divisible by NH";
  EXPECT_EQ(cuda::AttentionForward(buf.get(), 1, 0, 6, 3, buf.get(), buf.get(), stream_).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda::AttentionBackward(buf.get(), buf.get(), buf.get(), 1, 2, 6, 3, buf.get(), nullptr,
                                    stream_)
                .code(),
            StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------

using TransformerElementwiseTest = GpuTest;

TEST_F(TransformerElementwiseTest, ResidualAndScaleBitIdenticalToCpu) {
  std::mt19937 rng = TestRng();
  for (const int64_t n : {int64_t{1}, int64_t{1023}, int64_t{1} << 20}) {
    const std::vector<float> a = RandomVector(n, rng, -5.0f, 5.0f), b = RandomVector(n, rng);
    std::vector<float> out(n);
    ASSERT_TRUE(cpu::ResidualForward(a.data(), b.data(), n, out.data()).ok());
    DeviceBuffer<float> d_a(a), d_b(b), d_out(n);
    ASSERT_TRUE(cuda::ResidualForward(d_a.get(), d_b.get(), n, d_out.get(), stream_).ok());
    // In place, as the residual stream uses it: a += b.
    ASSERT_TRUE(cuda::ResidualForward(d_a.get(), d_b.get(), n, d_a.get(), stream_).ok());
    Sync();
    EXPECT_EQ(BitMismatches(d_out.Download(), out), 0) << n;
    EXPECT_EQ(BitMismatches(d_a.Download(), out), 0) << n;

    std::vector<float> scaled = a;
    ASSERT_TRUE(cpu::Scale(scaled.data(), n, 0.37f).ok());
    DeviceBuffer<float> d_s(a);
    ASSERT_TRUE(cuda::Scale(d_s.get(), n, 0.37f, stream_).ok());
    Sync();
    EXPECT_EQ(BitMismatches(d_s.Download(), scaled), 0) << n;
  }
  EXPECT_EQ(cuda::ResidualForward(nullptr, nullptr, -1, nullptr, stream_).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(cuda::ResidualForward(nullptr, nullptr, 0, nullptr, stream_).ok());
}

TEST_F(TransformerElementwiseTest, SumOfSquaresMatchesCpuAndIsDeterministic) {
  std::mt19937 rng = TestRng();
  DeviceBuffer<double> d_sum(1), d_scratch(cuda::kSumOfSquaresScratch);
  // Up to more elements than kSumOfSquaresScratch blocks of 256 threads cover in one pass.
  for (const int64_t n : {int64_t{1}, int64_t{257}, int64_t{100003}, int64_t{3} << 20}) {
    const std::vector<float> x = RandomVector(n, rng, -2.0f, 2.0f);
    double cpu_sum = 0.0;
    ASSERT_TRUE(cpu::SumOfSquares(x.data(), n, &cpu_sum).ok());
    DeviceBuffer<float> d_x(x);
    double first = 0.0;
    for (int run = 0; run < 2; ++run) {
      ASSERT_TRUE(cuda::SumOfSquares(d_x.get(), n, d_sum.get(), d_scratch.get(), stream_).ok());
      Sync();
      const double g = d_sum.Download()[0];
      EXPECT_NEAR(g, cpu_sum, 1e-10 * cpu_sum) << n;  // double sums in two orders
      if (run == 0) {
        first = g;
      } else {
        EXPECT_EQ(std::memcmp(&g, &first, sizeof(double)), 0) << "not deterministic " << n;
      }
    }
  }
  ASSERT_TRUE(cuda::SumOfSquares(nullptr, 0, d_sum.get(), d_scratch.get(), stream_).ok());
  Sync();
  EXPECT_EQ(d_sum.Download()[0], 0.0);
  EXPECT_EQ(cuda::SumOfSquares(nullptr, 5, d_sum.get(), nullptr, stream_).code(),
            StatusCode::kInvalidArgument);
}

// The GPU GPT's rows carry token ids as floats: every kind of non-id must become -1 on both sides.
TEST_F(TransformerElementwiseTest, TokensFromFloatsBitIdenticalToCpu) {
  std::mt19937 rng = TestRng();
  constexpr int kV = 100;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.0f, 1.0f, 99.0f, 100.0f, -1.0f, 3.5f, -0.0f, 1e30f, 50.0f, nan, inf};
  const std::vector<int32_t> expected = {0, 1, 99, -1, -1, -1, 0, -1, 50, -1, -1};
  // Then many random ids (and a few non-ids), past one grid-stride pass.
  std::uniform_int_distribution<int> id(-3, kV + 2);
  for (int i = 0; i < 300000; ++i) {
    x.push_back(static_cast<float>(id(rng)) + (i % 97 == 0 ? 0.25f : 0.0f));
  }
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<int32_t> cpu_tokens(n, 7);
  ASSERT_TRUE(cpu::TokensFromFloats(x.data(), n, kV, cpu_tokens.data()).ok());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(cpu_tokens[i], expected[i]) << x[i];
  DeviceBuffer<float> d_x(x);
  DeviceBuffer<int32_t> d_tokens(std::vector<int32_t>(n, 7));
  ASSERT_TRUE(cuda::TokensFromFloats(d_x.get(), n, kV, d_tokens.get(), stream_).ok());
  Sync();
  EXPECT_EQ(d_tokens.Download(), cpu_tokens);

  EXPECT_EQ(cuda::TokensFromFloats(d_x.get(), -1, kV, d_tokens.get(), stream_).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda::TokensFromFloats(d_x.get(), n, 0, d_tokens.get(), stream_).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda::TokensFromFloats(nullptr, n, kV, d_tokens.get(), stream_).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(cuda::TokensFromFloats(nullptr, 0, kV, nullptr, stream_).ok());
}

}  // namespace
}  // namespace shoal::testing
