#include "kernels/cpu/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace shoal::cpu {
namespace {

std::vector<float> RandomVector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// ||out - ref|| / ||ref|| over the m x n matrix stored with leading dimension ld.
double RelError(const std::vector<float>& out, const std::vector<double>& ref, int m, int n,
                int ld) {
  double num = 0.0, den = 0.0;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      const double d = out[i * ld + j] - ref[i * ld + j];
      num += d * d;
      den += ref[i * ld + j] * ref[i * ld + j];
    }
  }
  return std::sqrt(num / den);
}

struct Shape {
  int m, n, k;
};

class GemmTest : public ::testing::TestWithParam<std::tuple<Shape, bool, bool, int>> {};

TEST_P(GemmTest, MatchesDoubleReference) {
  const auto [shape, trans_a, trans_b, pad] = GetParam();
  const int m = shape.m, n = shape.n, k = shape.k;
  std::mt19937 rng(1234 + m * 7 + n * 13 + k * 17 + trans_a * 2 + trans_b);
  // Stored shapes: A is m x k or k x m, B is k x n or n x k; pad the leading dimensions.
  const int a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
  const int b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
  const int lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
  const std::vector<float> a = RandomVector(static_cast<size_t>(a_rows) * lda, rng);
  const std::vector<float> b = RandomVector(static_cast<size_t>(b_rows) * ldb, rng);
  std::vector<float> c = RandomVector(static_cast<size_t>(m) * ldc, rng);
  const float alpha = 0.75f, beta = -0.5f;

  auto a_at = [&](int i, int p) { return trans_a ? a[p * lda + i] : a[i * lda + p]; };
  auto b_at = [&](int p, int j) { return trans_b ? b[j * ldb + p] : b[p * ldb + j]; };
  std::vector<double> ref(c.begin(), c.end());
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int p = 0; p < k; ++p) acc += static_cast<double>(a_at(i, p)) * b_at(p, j);
      ref[i * ldc + j] = alpha * acc + beta * static_cast<double>(c[i * ldc + j]);
    }
  }
  const std::vector<float> c_before = c;

  ASSERT_TRUE(
      Gemm(trans_a, trans_b, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc)
          .ok());
  EXPECT_LT(RelError(c, ref, m, n, ldc), 1e-5);
  // The padding columns of C are not part of the matrix and must not be written.
  for (int i = 0; i < m; ++i) {
    for (int j = n; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], c_before[i * ldc + j]);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmTest,
    ::testing::Combine(::testing::Values(Shape{1, 1, 1}, Shape{7, 13, 5}, Shape{33, 65, 17},
                                         Shape{128, 256, 64}, Shape{5, 1, 9}, Shape{1, 8, 3}),
                       ::testing::Bool(), ::testing::Bool(), ::testing::Values(0, 3)));

TEST(GemmEdgeTest, BetaZeroIgnoresGarbageInC) {
  std::mt19937 rng(7);
  const int m = 4, n = 5, k = 3;
  const std::vector<float> a = RandomVector(m * k, rng);
  const std::vector<float> b = RandomVector(k * n, rng);
  std::vector<float> c(m * n, std::numeric_limits<float>::quiet_NaN());
  ASSERT_TRUE(Gemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n).ok());
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int p = 0; p < k; ++p) acc += static_cast<double>(a[i * k + p]) * b[p * n + j];
      EXPECT_NEAR(c[i * n + j], acc, 1e-5);
    }
  }
}

TEST(GemmEdgeTest, ZeroKScalesByBeta) {
  std::vector<float> c = {1.0f, -2.0f, 3.0f, 4.0f};
  ASSERT_TRUE(Gemm(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, c.data(), 2).ok());
  EXPECT_EQ(c, (std::vector<float>{0.5f, -1.0f, 1.5f, 2.0f}));
  std::vector<float> d(4, std::numeric_limits<float>::quiet_NaN());
  ASSERT_TRUE(Gemm(true, true, 2, 2, 0, 1.0f, nullptr, 2, nullptr, 1, 0.0f, d.data(), 2).ok());
  EXPECT_EQ(d, std::vector<float>(4, 0.0f));
}

TEST(GemmEdgeTest, EmptyOutputIsOk) {
  EXPECT_TRUE(Gemm(false, false, 0, 3, 2, 1.0f, nullptr, 2, nullptr, 3, 0.0f, nullptr, 3).ok());
  EXPECT_TRUE(Gemm(false, false, 3, 0, 2, 1.0f, nullptr, 2, nullptr, 1, 0.0f, nullptr, 1).ok());
}

TEST(GemmEdgeTest, RejectsBadShapesWithoutTouchingC) {
  std::vector<float> a(12, 1.0f), b(12, 1.0f), c(12, 9.0f);
  const std::vector<float> c_before = c;
  auto expect_invalid = [&](Status st) {
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_EQ(c, c_before);
  };
  expect_invalid(Gemm(false, false, -1, 3, 4, 1.0f, a.data(), 4, b.data(), 3, 0.0f, c.data(), 3));
  // lda below k (no transpose) and below m (transpose).
  expect_invalid(Gemm(false, false, 3, 3, 4, 1.0f, a.data(), 3, b.data(), 3, 0.0f, c.data(), 3));
  expect_invalid(Gemm(true, false, 3, 3, 4, 1.0f, a.data(), 2, b.data(), 3, 0.0f, c.data(), 3));
  // ldb below n (no transpose) and below k (transpose).
  expect_invalid(Gemm(false, false, 3, 3, 4, 1.0f, a.data(), 4, b.data(), 2, 0.0f, c.data(), 3));
  expect_invalid(Gemm(false, true, 3, 3, 4, 1.0f, a.data(), 4, b.data(), 3, 0.0f, c.data(), 3));
  // ldc below n.
  expect_invalid(Gemm(false, false, 3, 3, 4, 1.0f, a.data(), 4, b.data(), 3, 0.0f, c.data(), 2));
  expect_invalid(Gemm(false, false, 3, 3, 4, 1.0f, nullptr, 4, b.data(), 3, 0.0f, c.data(), 3));
  EXPECT_EQ(Gemm(false, false, 3, 3, 4, 1.0f, a.data(), 4, b.data(), 3, 0.0f, nullptr, 3).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shoal::cpu
