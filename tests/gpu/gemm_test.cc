// cuda::Gemm against a double-precision reference (docs/design.md §6), for every precision, all
// four transpose combinations and shapes that are and are not multiples of the tile sizes.
#include "kernels/cuda/gemm.h"

#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "common/spec/job_spec.h"  // ToString of the enums
#include "tests/gpu/gpu_test_util.h"

namespace shoal::testing {
namespace {

struct Shape {
  int m, n, k;
};

// op(A) is m x k, op(B) is k x n; A and B are stored as the transpose flags say.
struct GemmCase {
  Shape s;
  bool ta, tb;
  int lda, ldb, ldc;
  size_t a_size() const { return static_cast<size_t>(ta ? s.k : s.m) * lda; }
  size_t b_size() const { return static_cast<size_t>(tb ? s.n : s.k) * ldb; }
  size_t c_size() const { return static_cast<size_t>(s.m) * ldc; }
};

GemmCase MakeCase(Shape s, bool ta, bool tb, int pad = 0) {
  return {s, ta, tb, (ta ? s.m : s.k) + pad, (tb ? s.k : s.n) + pad, s.n + pad};
}

std::vector<double> Reference(const GemmCase& g, float alpha, const std::vector<float>& a,
                              const std::vector<float>& b, float beta,
                              const std::vector<float>& c0) {
  std::vector<double> ref(static_cast<size_t>(g.s.m) * g.s.n);
  for (int i = 0; i < g.s.m; ++i) {
    for (int j = 0; j < g.s.n; ++j) {
      double acc = 0.0;
      for (int p = 0; p < g.s.k; ++p) {
        const double av = g.ta ? a[static_cast<size_t>(p) * g.lda + i]
                               : a[static_cast<size_t>(i) * g.lda + p];
        const double bv = g.tb ? b[static_cast<size_t>(j) * g.ldb + p]
                               : b[static_cast<size_t>(p) * g.ldb + j];
        acc += av * bv;
      }
      double r = static_cast<double>(alpha) * acc;
      if (beta != 0.0f) r += static_cast<double>(beta) * c0[static_cast<size_t>(i) * g.ldc + j];
      ref[static_cast<size_t>(i) * g.s.n + j] = r;
    }
  }
  return ref;
}

// The m x n part of a C buffer with leading dimension ldc.
std::vector<float> Compact(const std::vector<float>& c, const GemmCase& g) {
  std::vector<float> out(static_cast<size_t>(g.s.m) * g.s.n);
  for (int i = 0; i < g.s.m; ++i) {
    for (int j = 0; j < g.s.n; ++j) out[static_cast<size_t>(i) * g.s.n + j] = c[i * g.ldc + j];
  }
  return out;
}

double Tolerance(Precision p) {
  switch (p) {
    case Precision::kFp32:
      return 1e-5;  // DESIGN: fp32 << 1e-4
    case Precision::kTf32:
      return 5e-3;  // DESIGN: tf32 ~ 1e-3
    case Precision::kBf16:
      return 2e-2;  // DESIGN: bf16 <= 1e-2
  }
  return 0.0;
}

class GemmTest : public GpuTest {
 protected:
  // Runs one case twice: beta = 0 over a NaN-filled C (which must not be read) and beta = 0.5
  // over a random C. Returns the worse relative error.
  void Check(Precision p, const GemmCase& g, size_t a_offset = 0) {
    std::mt19937 rng = TestRng();
    const float alpha = 1.25f;
    // a_offset shifts A off 16-byte alignment to exercise the scalar load path.
    const std::vector<float> a_full = RandomVector(g.a_size() + a_offset, rng);
    const std::vector<float> a(a_full.begin() + a_offset, a_full.end());
    const std::vector<float> b = RandomVector(g.b_size(), rng);
    DeviceBuffer<float> da(a_full), db(b);
    for (const float beta : {0.0f, 0.5f}) {
      const std::vector<float> c0 =
          beta == 0.0f ? std::vector<float>(g.c_size(), std::numeric_limits<float>::quiet_NaN())
                       : RandomVector(g.c_size(), rng);
      DeviceBuffer<float> dc(c0);
      ASSERT_TRUE(cuda::Gemm(p, g.ta, g.tb, g.s.m, g.s.n, g.s.k, alpha, da.get() + a_offset,
                             g.lda, db.get(), g.ldb, beta, dc.get(), g.ldc, stream_)
                      .ok());
      Sync();
      const std::vector<float> c = dc.Download();
      const double err = RelError(Compact(c, g), Reference(g, alpha, a, b, beta, c0));
      EXPECT_LT(err, Tolerance(p)) << "precision " << ToString(p) << " m=" << g.s.m
                                   << " n=" << g.s.n << " k=" << g.s.k << " ta=" << g.ta
                                   << " tb=" << g.tb << " beta=" << beta;
      // Padding between rows of C (ldc > n) must be left untouched.
      for (int i = 0; i < g.s.m; ++i) {
        for (int j = g.s.n; j < g.ldc; ++j) {
          const float before = c0[i * g.ldc + j], after = c[i * g.ldc + j];
          ASSERT_TRUE(before == after || (std::isnan(before) && std::isnan(after)))
              << "C padding written at " << i << "," << j;
        }
      }
    }
  }
};

using GemmParam = std::tuple<Precision, Shape, bool, bool>;

class GemmShapesTest : public GemmTest, public ::testing::WithParamInterface<GemmParam> {};

TEST_P(GemmShapesTest, MatchesDoubleReference) {
  const auto [p, s, ta, tb] = GetParam();
  Check(p, MakeCase(s, ta, tb));
}

std::string GemmCaseName(const ::testing::TestParamInfo<GemmParam>& info) {
  const auto [p, s, ta, tb] = info.param;
  return std::string(ToString(p)) + "_" + std::to_string(s.m) + "x" + std::to_string(s.n) + "x" +
         std::to_string(s.k) + (ta ? "_At" : "_A") + (tb ? "_Bt" : "_B");
}

INSTANTIATE_TEST_SUITE_P(
    AllPrecisions, GemmShapesTest,
    ::testing::Combine(::testing::Values(Precision::kFp32, Precision::kTf32, Precision::kBf16),
                       ::testing::Values(Shape{1, 1, 1}, Shape{7, 13, 5}, Shape{127, 129, 65},
                                         Shape{128, 784, 256}, Shape{256, 10, 128},
                                         Shape{784, 256, 128}, Shape{64, 64, 64}),
                       ::testing::Bool(), ::testing::Bool()),
    GemmCaseName);

TEST_F(GemmTest, PaddedLeadingDimensionsAndMisalignedA) {
  for (const Precision p : {Precision::kFp32, Precision::kTf32, Precision::kBf16}) {
    for (const bool ta : {false, true}) {
      for (const bool tb : {false, true}) {
        Check(p, MakeCase({37, 45, 29}, ta, tb, /*pad=*/3), /*a_offset=*/1);
        Check(p, MakeCase({130, 132, 68}, ta, tb, /*pad=*/4));
      }
    }
  }
}

TEST_F(GemmTest, KZeroScalesC) {
  const int m = 5, n = 6;
  std::mt19937 rng = TestRng();
  const std::vector<float> c0 = RandomVector(m * n, rng);
  for (const Precision p : {Precision::kFp32, Precision::kTf32, Precision::kBf16}) {
    DeviceBuffer<float> dc(c0);
    ASSERT_TRUE(cuda::Gemm(p, false, false, m, n, 0, 1.0f, nullptr, 1, nullptr, n, 0.5f, dc.get(),
                           n, stream_)
                    .ok());
    Sync();
    const std::vector<float> c = dc.Download();
    for (int i = 0; i < m * n; ++i) EXPECT_EQ(c[i], 0.5f * c0[i]);
  }
}

TEST_F(GemmTest, RejectsBadArguments) {
  DeviceBuffer<float> buf(64);
  float* d = buf.get();
  auto code = [&](int m, int n, int k, int lda, int ldb, int ldc, bool ta = false) {
    return cuda::Gemm(Precision::kFp32, ta, false, m, n, k, 1.0f, d, lda, d, ldb, 0.0f, d, ldc,
                      stream_)
        .code();
  };
  EXPECT_EQ(code(-1, 2, 2, 2, 2, 2), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(2, 2, 3, 2, 2, 2), StatusCode::kInvalidArgument);  // lda < k
  EXPECT_EQ(code(4, 2, 2, 2, 2, 2, true), StatusCode::kInvalidArgument);  // lda < m (A^T)
  EXPECT_EQ(code(2, 3, 2, 2, 2, 3), StatusCode::kInvalidArgument);  // ldb < n
  EXPECT_EQ(code(2, 3, 2, 2, 3, 2), StatusCode::kInvalidArgument);  // ldc < n
  EXPECT_EQ(cuda::Gemm(static_cast<Precision>(7), false, false, 2, 2, 2, 1.0f, d, 2, d, 2, 0.0f,
                       d, 2, stream_)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda::Gemm(Precision::kFp32, false, false, 2, 2, 2, 1.0f, nullptr, 2, d, 2, 0.0f, d, 2,
                       stream_)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(0, 0, 0, 1, 1, 1), StatusCode::kOk);  // empty: nothing to do
}

}  // namespace
}  // namespace shoal::testing
