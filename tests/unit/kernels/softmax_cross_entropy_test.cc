#include "kernels/cpu/softmax_cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "tests/testing/test_util.h"

namespace shoal::cpu {
namespace {

using ::shoal::testing::RelError;

// Sum over rows of -log softmax[label], in double.
double RefLossSum(const std::vector<double>& logits, const std::vector<int32_t>& labels, int m,
                  int c) {
  double total = 0.0;
  for (int i = 0; i < m; ++i) {
    double max_v = logits[i * c];
    for (int j = 1; j < c; ++j) max_v = std::max(max_v, logits[i * c + j]);
    double sum = 0.0;
    for (int j = 0; j < c; ++j) sum += std::exp(logits[i * c + j] - max_v);
    total += max_v + std::log(sum) - logits[i * c + labels[i]];
  }
  return total;
}

struct Problem {
  int m, c;
  std::vector<float> logits;
  std::vector<int32_t> labels;
};

Problem MakeProblem(int m, int c, float spread, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-spread, spread);
  std::uniform_int_distribution<int32_t> label_dist(0, c - 1);
  Problem p{m, c, std::vector<float>(m * c), std::vector<int32_t>(m)};
  for (float& x : p.logits) x = dist(rng);
  for (int32_t& l : p.labels) l = label_dist(rng);
  return p;
}

TEST(SoftmaxCrossEntropyTest, ForwardMatchesDoubleReference) {
  const Problem p = MakeProblem(37, 10, 4.0f, 1);
  double loss = -1.0;
  int64_t correct = -1;
  std::vector<float> dlogits(p.m * p.c);
  ASSERT_TRUE(SoftmaxCrossEntropy(p.logits.data(), p.labels.data(), p.m, p.c, 1.0f, dlogits.data(),
                                  &loss, &correct)
                  .ok());
  const std::vector<double> logits(p.logits.begin(), p.logits.end());
  const double ref = RefLossSum(logits, p.labels, p.m, p.c);
  EXPECT_LT(std::fabs(loss - ref) / std::fabs(ref), 1e-6);

  int64_t ref_correct = 0;
  for (int i = 0; i < p.m; ++i) {
    int arg = 0;
    for (int j = 1; j < p.c; ++j) {
      if (p.logits[i * p.c + j] > p.logits[i * p.c + arg]) arg = j;
    }
    ref_correct += arg == p.labels[i];
  }
  EXPECT_EQ(correct, ref_correct);

  // Evaluation only (no dlogits) reports the same loss and count.
  double loss2 = 0.0;
  int64_t correct2 = 0;
  ASSERT_TRUE(SoftmaxCrossEntropy(p.logits.data(), p.labels.data(), p.m, p.c, 1.0f, nullptr, &loss2,
                                  &correct2)
                  .ok());
  EXPECT_EQ(loss2, loss);
  EXPECT_EQ(correct2, correct);
}

TEST(SoftmaxCrossEntropyTest, GradientMatchesFiniteDifferences) {
  for (const int c : {1, 2, 10, 33}) {
    const Problem p = MakeProblem(11, c, 3.0f, 10 + c);
    const float scale = 1.0f / 7.0f;
    double loss = 0.0;
    int64_t correct = 0;
    std::vector<float> dlogits(p.m * p.c, 5.0f);
    ASSERT_TRUE(SoftmaxCrossEntropy(p.logits.data(), p.labels.data(), p.m, p.c, scale,
                                    dlogits.data(), &loss, &correct)
                    .ok());
    if (c == 1) {
      // One class: the loss is identically zero and so is its gradient.
      EXPECT_NEAR(loss, 0.0, 1e-12);
      for (float d : dlogits) EXPECT_EQ(d, 0.0f);
      continue;
    }
    std::vector<double> x(p.logits.begin(), p.logits.end()), fd(x.size());
    fd = ::shoal::testing::CentralDifferences(x, [&] { return RefLossSum(x, p.labels, p.m, p.c); });
    for (double& g : fd) g *= scale;
    EXPECT_LT(RelError(dlogits, fd), 1e-5) << "c=" << c;
  }
}

TEST(SoftmaxCrossEntropyTest, InPlaceMatchesOutOfPlace) {
  const Problem p = MakeProblem(16, 7, 2.0f, 3);
  std::vector<float> out(p.m * p.c), inplace = p.logits;
  double loss_a = 0.0, loss_b = 0.0;
  int64_t correct_a = 0, correct_b = 0;
  ASSERT_TRUE(SoftmaxCrossEntropy(p.logits.data(), p.labels.data(), p.m, p.c, 0.5f, out.data(),
                                  &loss_a, &correct_a)
                  .ok());
  ASSERT_TRUE(SoftmaxCrossEntropy(inplace.data(), p.labels.data(), p.m, p.c, 0.5f, inplace.data(),
                                  &loss_b, &correct_b)
                  .ok());
  EXPECT_EQ(inplace, out);
  EXPECT_EQ(loss_a, loss_b);
  EXPECT_EQ(correct_a, correct_b);
}

TEST(SoftmaxCrossEntropyTest, LargeLogitsStayFinite) {
  // exp(1000) overflows float; the max subtraction must keep everything finite.
  const std::vector<float> logits = {1000.0f, 990.0f, -1000.0f, 500.0f, 1000.0f, 999.0f};
  const std::vector<int32_t> labels = {1, 1};
  std::vector<float> d(6);
  double loss = 0.0;
  int64_t correct = 0;
  ASSERT_TRUE(
      SoftmaxCrossEntropy(logits.data(), labels.data(), 2, 3, 1.0f, d.data(), &loss, &correct)
          .ok());
  // Row 0: -log softmax[1] = 10 + log(1 + e^-10 + e^-2000) and the argmax is 0 (wrong);
  // row 1: the label is the argmax and -log softmax[1] = log(1 + e^-500 + e^-1).
  const double row0 = 10.0 + std::log1p(std::exp(-10.0));
  const double row1 = std::log1p(std::exp(-500.0) + std::exp(-1.0));
  EXPECT_NEAR(loss, row0 + row1, 1e-5);
  EXPECT_EQ(correct, 1);
  for (float v : d) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(d[1], 1.0 / (1.0 + std::exp(10.0)) - 1.0, 1e-6);  // softmax - 1 at the label
}

TEST(SoftmaxCrossEntropyTest, ArgmaxTiesGoToLowestIndex) {
  const std::vector<float> logits = {2.0f, 2.0f, 1.0f, 0.5f, 3.0f, 3.0f};
  double loss = 0.0;
  int64_t correct = 0;
  const std::vector<int32_t> first = {0, 1};
  ASSERT_TRUE(
      SoftmaxCrossEntropy(logits.data(), first.data(), 2, 3, 1.0f, nullptr, &loss, &correct).ok());
  EXPECT_EQ(correct, 2);
  const std::vector<int32_t> second = {1, 2};
  ASSERT_TRUE(
      SoftmaxCrossEntropy(logits.data(), second.data(), 2, 3, 1.0f, nullptr, &loss, &correct).ok());
  EXPECT_EQ(correct, 0);
}

TEST(SoftmaxCrossEntropyTest, RejectsOutOfRangeLabelsWithoutWriting) {
  const Problem p = MakeProblem(4, 3, 1.0f, 9);
  for (const int32_t bad : {-1, 3, 1000}) {
    std::vector<int32_t> labels = p.labels;
    labels[2] = bad;
    std::vector<float> d(p.m * p.c, 42.0f);
    double loss = 42.0;
    int64_t correct = 42;
    const Status st = SoftmaxCrossEntropy(p.logits.data(), labels.data(), p.m, p.c, 1.0f, d.data(),
                                          &loss, &correct);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(d, std::vector<float>(p.m * p.c, 42.0f));
    EXPECT_EQ(loss, 42.0);
    EXPECT_EQ(correct, 42);
  }
  double loss = 0.0;
  int64_t correct = 0;
  EXPECT_EQ(
      SoftmaxCrossEntropy(p.logits.data(), p.labels.data(), -1, p.c, 1.0f, nullptr, &loss, &correct)
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(SoftmaxCrossEntropy(p.logits.data(), p.labels.data(), p.m, p.c, 1.0f, nullptr, nullptr,
                                &correct)
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(SoftmaxCrossEntropyTest, EmptyBatch) {
  double loss = 3.0;
  int64_t correct = 3;
  ASSERT_TRUE(SoftmaxCrossEntropy(nullptr, nullptr, 0, 10, 1.0f, nullptr, &loss, &correct).ok());
  EXPECT_EQ(loss, 0.0);
  EXPECT_EQ(correct, 0);
}

}  // namespace
}  // namespace shoal::cpu
