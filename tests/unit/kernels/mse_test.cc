#include "kernels/cpu/mse.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tests/testing/test_util.h"

namespace shoal::cpu {
namespace {

using ::shoal::testing::RelError;

// sum_i (1/c) sum_j (out_ij - onehot_ij)^2, in double.
double RefLossSum(const std::vector<double>& out, const std::vector<int32_t>& labels, int m,
                  int c) {
  double total = 0.0;
  for (int i = 0; i < m; ++i) {
    double row = 0.0;
    for (int j = 0; j < c; ++j) {
      const double d = out[i * c + j] - (j == labels[i] ? 1.0 : 0.0);
      row += d * d;
    }
    total += row / c;
  }
  return total;
}

struct Problem {
  int m, c;
  std::vector<float> out;
  std::vector<int32_t> labels;
};

Problem MakeProblem(int m, int c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.5f, 1.5f);
  std::uniform_int_distribution<int32_t> label_dist(0, c - 1);
  Problem p{m, c, std::vector<float>(m * c), std::vector<int32_t>(m)};
  for (float& x : p.out) x = dist(rng);
  for (int32_t& l : p.labels) l = label_dist(rng);
  return p;
}

TEST(MeanSquaredErrorTest, ForwardMatchesDoubleReference) {
  const Problem p = MakeProblem(29, 10, 1);
  double loss = -1.0;
  int64_t correct = -1;
  ASSERT_TRUE(
      MeanSquaredError(p.out.data(), p.labels.data(), p.m, p.c, 1.0f, nullptr, &loss, &correct)
          .ok());
  const std::vector<double> out(p.out.begin(), p.out.end());
  const double ref = RefLossSum(out, p.labels, p.m, p.c);
  EXPECT_LT(std::fabs(loss - ref) / ref, 1e-6);
  int64_t ref_correct = 0;
  for (int i = 0; i < p.m; ++i) {
    int arg = 0;
    for (int j = 1; j < p.c; ++j) {
      if (p.out[i * p.c + j] > p.out[i * p.c + arg]) arg = j;
    }
    ref_correct += arg == p.labels[i];
  }
  EXPECT_EQ(correct, ref_correct);
}

TEST(MeanSquaredErrorTest, KnownValue) {
  // Row (0.5, 0.25) with label 0: ((0.5 - 1)^2 + 0.25^2) / 2 = 0.15625; argmax 0 is right.
  const std::vector<float> out = {0.5f, 0.25f};
  const std::vector<int32_t> labels = {0};
  std::vector<float> d(2);
  double loss = 0.0;
  int64_t correct = 0;
  ASSERT_TRUE(
      MeanSquaredError(out.data(), labels.data(), 1, 2, 2.0f, d.data(), &loss, &correct).ok());
  EXPECT_DOUBLE_EQ(loss, 0.15625);
  EXPECT_EQ(correct, 1);
  // d = scale * 2 (out - y) / c = 2 * 2 * (-0.5, 0.25) / 2.
  EXPECT_FLOAT_EQ(d[0], -1.0f);
  EXPECT_FLOAT_EQ(d[1], 0.5f);
}

TEST(MeanSquaredErrorTest, GradientMatchesFiniteDifferences) {
  for (const int c : {1, 3, 10}) {
    const Problem p = MakeProblem(13, c, 20 + c);
    const float scale = 0.125f;
    std::vector<float> d(p.m * p.c, 9.0f);
    double loss = 0.0;
    int64_t correct = 0;
    ASSERT_TRUE(
        MeanSquaredError(p.out.data(), p.labels.data(), p.m, p.c, scale, d.data(), &loss, &correct)
            .ok());
    std::vector<double> x(p.out.begin(), p.out.end()), fd(x.size());
    fd = ::shoal::testing::CentralDifferences(x, [&] { return RefLossSum(x, p.labels, p.m, p.c); });
    for (double& g : fd) g *= scale;
    EXPECT_LT(RelError(d, fd), 1e-5) << "c=" << c;

    // In place gives the same gradient.
    std::vector<float> inplace = p.out;
    double loss2 = 0.0;
    int64_t correct2 = 0;
    ASSERT_TRUE(MeanSquaredError(inplace.data(), p.labels.data(), p.m, p.c, scale, inplace.data(),
                                 &loss2, &correct2)
                    .ok());
    EXPECT_EQ(inplace, d);
    EXPECT_EQ(loss2, loss);
    EXPECT_EQ(correct2, correct);
  }
}

TEST(MeanSquaredErrorTest, RejectsBadArgumentsWithoutWriting) {
  const Problem p = MakeProblem(4, 3, 2);
  std::vector<int32_t> labels = p.labels;
  labels[3] = 3;
  std::vector<float> d(p.m * p.c, 42.0f);
  double loss = 42.0;
  int64_t correct = 42;
  EXPECT_EQ(MeanSquaredError(p.out.data(), labels.data(), p.m, p.c, 1.0f, d.data(), &loss, &correct)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(d, std::vector<float>(p.m * p.c, 42.0f));
  EXPECT_EQ(loss, 42.0);
  EXPECT_EQ(correct, 42);
  EXPECT_EQ(MeanSquaredError(p.out.data(), p.labels.data(), p.m, 0, 1.0f, nullptr, &loss, &correct)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MeanSquaredError(p.out.data(), p.labels.data(), p.m, p.c, 1.0f, nullptr, &loss, nullptr)
                .code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shoal::cpu
