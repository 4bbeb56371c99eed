// Next-token sampling (models/gpt/sampling.h): greedy, top-k, temperature, reproducibility, and
// that draws follow the softmax probabilities.
#include "models/gpt/sampling.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(SamplingTest, GreedyTakesTheArgmaxAndTiesGoToTheLowerId) {
  std::mt19937_64 rng(1);
  const std::vector<float> logits = {0.5f, 2.0f, 2.0f, -1.0f};
  auto t = SampleToken(logits.data(), 4, {0.0, 0}, rng);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 1);
}

TEST(SamplingTest, TopKNeverDrawsOutsideTheK) {
  std::mt19937_64 rng(2);
  const std::vector<float> logits = {3.0f, 0.0f, 2.9f, 1.0f, 2.8f};
  for (int i = 0; i < 2000; ++i) {
    auto t = SampleToken(logits.data(), 5, {1.0, 2}, rng);
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(*t == 0 || *t == 2) << *t;
  }
}

TEST(SamplingTest, DrawsFollowTheSoftmaxAndRepeatWithTheSeed) {
  const std::vector<float> logits = {0.0f, std::log(3.0f)};  // probabilities 1/4, 3/4
  std::mt19937_64 rng(3), same(3);
  int ones = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const int32_t a = *SampleToken(logits.data(), 2, {1.0, 0}, rng);
    const int32_t b = *SampleToken(logits.data(), 2, {1.0, 0}, same);
    ASSERT_EQ(a, b);
    ones += a;
  }
  EXPECT_NEAR(static_cast<double>(ones) / n, 0.75, 0.015);
  // A low temperature sharpens towards the argmax.
  int sharp = 0;
  for (int i = 0; i < 2000; ++i) sharp += *SampleToken(logits.data(), 2, {0.1, 0}, rng);
  EXPECT_GT(sharp, 1990);
}

TEST(SamplingTest, RefusesBadInput) {
  std::mt19937_64 rng(4);
  const std::vector<float> logits = {0.0f, NAN};
  EXPECT_FALSE(SampleToken(logits.data(), 2, {1.0, 0}, rng).ok());
  EXPECT_FALSE(SampleToken(logits.data(), 1, {-1.0, 0}, rng).ok());
  EXPECT_FALSE(SampleToken(logits.data(), 1, {1.0, -2}, rng).ok());
  EXPECT_FALSE(SampleToken(nullptr, 2, {1.0, 0}, rng).ok());
}

}  // namespace
}  // namespace shoal
