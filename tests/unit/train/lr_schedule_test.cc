#include "worker/train/lr_schedule.h"

#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

namespace shoal {
namespace {

JobSpec::Optimizer Optimizer(const char* kind, int warmup, double min_lr = 0, int decay = 0) {
  JobSpec::Optimizer o;
  o.lr = 0.01;
  o.schedule.kind = kind;
  o.schedule.warmup_steps = warmup;
  o.schedule.min_lr = min_lr;
  o.schedule.decay_steps = decay;
  return o;
}

TEST(LearningRateTest, ConstantWithoutWarmupIsLr) {
  const auto o = Optimizer("constant", 0);
  for (int64_t s : {1, 2, 500, 100000}) EXPECT_DOUBLE_EQ(LearningRate(o, s, 1000), 0.01);
}

TEST(LearningRateTest, WarmupRisesLinearlyToLr) {
  const auto o = Optimizer("constant", 4);
  EXPECT_DOUBLE_EQ(LearningRate(o, 1, 100), 0.0025);
  EXPECT_DOUBLE_EQ(LearningRate(o, 2, 100), 0.005);
  EXPECT_DOUBLE_EQ(LearningRate(o, 4, 100), 0.01);
  EXPECT_DOUBLE_EQ(LearningRate(o, 5, 100), 0.01);
}

TEST(LearningRateTest, CosineDecaysToMinLrAtTheEndOfTraining) {
  const auto o = Optimizer("cosine", 10, 0.001);
  EXPECT_DOUBLE_EQ(LearningRate(o, 10, 110), 0.01);  // the warm-up's last update
  // Half-way through the decay: the mean of lr and minLr.
  EXPECT_NEAR(LearningRate(o, 60, 110), 0.0055, 1e-12);
  const double quarter = 0.001 + 0.009 * 0.5 * (1 + std::cos(std::numbers::pi * 0.25));
  EXPECT_NEAR(LearningRate(o, 35, 110), quarter, 1e-12);
  EXPECT_NEAR(LearningRate(o, 110, 110), 0.001, 1e-12);
  EXPECT_NEAR(LearningRate(o, 500, 110), 0.001, 1e-12);  // past the end: minLr
  // Monotone after the warm-up.
  for (int64_t s = 11; s <= 110; ++s) EXPECT_LE(LearningRate(o, s, 110), LearningRate(o, s - 1, 110));
}

TEST(LearningRateTest, DecayStepsOverridesTheRunLength) {
  const auto o = Optimizer("cosine", 0, 0.0, 20);
  EXPECT_NEAR(LearningRate(o, 10, 1000), 0.005, 1e-12);
  EXPECT_NEAR(LearningRate(o, 20, 1000), 0.0, 1e-12);
  EXPECT_NEAR(LearningRate(o, 900, 1000), 0.0, 1e-12);
}

TEST(LearningRateTest, WarmupLongerThanTheRunStillEndsBelowLr) {
  const auto o = Optimizer("cosine", 50, 0.0);
  EXPECT_NEAR(LearningRate(o, 20, 20), 0.004, 1e-12);
}

}  // namespace
}  // namespace shoal
