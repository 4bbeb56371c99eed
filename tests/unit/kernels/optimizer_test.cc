#include "kernels/cpu/optimizer.h"

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

#include <cmath>
#include <random>
#include <vector>

namespace shoal::cpu {
namespace {

using ::shoal::testing::RelError;

std::vector<float> RandomVector(size_t n, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// n not a multiple of any vector width, to exercise loop tails.
constexpr int64_t kN = 1027;

TEST(OptimizerTest, SgdMomentumMatchesDoubleReference) {
  std::mt19937 rng(11);
  std::vector<float> params = RandomVector(kN, -1.0f, 1.0f, rng), velocity(kN, 0.0f);
  std::vector<double> ref_p(params.begin(), params.end()), ref_v(kN, 0.0);
  const float lr = 0.05f, momentum = 0.9f, wd = 0.01f;
  for (int step = 0; step < 5; ++step) {
    const std::vector<float> grads = RandomVector(kN, -2.0f, 2.0f, rng);
    SgdMomentumUpdate(params.data(), grads.data(), velocity.data(), kN, lr, momentum, wd);
    for (int64_t i = 0; i < kN; ++i) {
      const double g = grads[i] + static_cast<double>(wd) * ref_p[i];
      ref_v[i] = momentum * ref_v[i] + g;
      ref_p[i] -= lr * ref_v[i];
    }
  }
  EXPECT_LT(RelError(params, ref_p), 1e-5);
  EXPECT_LT(RelError(velocity, ref_v), 1e-5);
}

TEST(OptimizerTest, SgdFirstStepIsPlainGradientStep) {
  // With zero velocity, the first step is p -= lr * (g + wd p) regardless of momentum.
  std::vector<float> p = {1.0f, -2.0f}, v = {0.0f, 0.0f};
  const std::vector<float> g = {0.5f, 0.25f};
  SgdMomentumUpdate(p.data(), g.data(), v.data(), 2, 0.1f, 0.9f, 0.5f);
  EXPECT_FLOAT_EQ(p[0], 1.0f - 0.1f * (0.5f + 0.5f * 1.0f));
  EXPECT_FLOAT_EQ(p[1], -2.0f - 0.1f * (0.25f + 0.5f * -2.0f));
}

TEST(OptimizerTest, AdamWMatchesDoubleReference) {
  std::mt19937 rng(12);
  std::vector<float> params = RandomVector(kN, -1.0f, 1.0f, rng), m(kN, 0.0f), v(kN, 0.0f);
  std::vector<double> ref_p(params.begin(), params.end()), ref_m(kN, 0.0), ref_v(kN, 0.0);
  // The kernel takes float hyperparameters; the reference uses the same (rounded) values.
  const float lr_f = 1e-2f, b1_f = 0.9f, b2_f = 0.999f, eps_f = 1e-8f, wd_f = 0.05f;
  const double lr = lr_f, b1 = b1_f, b2 = b2_f, eps = eps_f, wd = wd_f;
  for (int64_t step = 1; step <= 6; ++step) {
    const std::vector<float> grads = RandomVector(kN, -1.0f, 1.0f, rng);
    AdamWUpdate(params.data(), grads.data(), m.data(), v.data(), kN, lr_f, b1_f, b2_f, eps_f, wd_f,
                step);
    const double bc1 = 1.0 - std::pow(b1, step), bc2 = 1.0 - std::pow(b2, step);
    for (int64_t i = 0; i < kN; ++i) {
      ref_p[i] *= 1.0 - lr * wd;
      ref_m[i] = b1 * ref_m[i] + (1.0 - b1) * grads[i];
      ref_v[i] = b2 * ref_v[i] + (1.0 - b2) * grads[i] * grads[i];
      ref_p[i] -= lr * (ref_m[i] / bc1) / (std::sqrt(ref_v[i] / bc2) + eps);
    }
  }
  EXPECT_LT(RelError(params, ref_p), 1e-5);
  EXPECT_LT(RelError(m, ref_m), 1e-5);
  EXPECT_LT(RelError(v, ref_v), 1e-5);
}

TEST(OptimizerTest, AdamWFirstStepMovesEachParamByLrAgainstGradientSign) {
  // Bias correction makes the first Adam step exactly lr * sign(g) (up to eps): a missing or
  // wrong correction would show up as a step of lr * (1 - b1) / sqrt(1 - b2) instead.
  std::vector<float> p = {0.5f, -0.5f, 2.0f}, m(3, 0.0f), v(3, 0.0f);
  const std::vector<float> g = {0.3f, -4.0f, 1e-3f};
  AdamWUpdate(p.data(), g.data(), m.data(), v.data(), 3, 0.01f, 0.9f, 0.999f, 1e-12f, 0.0f, 1);
  EXPECT_NEAR(p[0], 0.49f, 1e-6);
  EXPECT_NEAR(p[1], -0.49f, 1e-6);
  EXPECT_NEAR(p[2], 1.99f, 1e-6);
}

TEST(OptimizerTest, AdamWWeightDecayIsDecoupled) {
  // With a zero gradient (and zero moments) only the decoupled decay acts: p *= 1 - lr * wd.
  // (L2 decay folded into the gradient would instead move p by about lr through Adam's
  // normalization.)
  std::vector<float> p = {1.0f, -3.0f}, m(2, 0.0f), v(2, 0.0f);
  const std::vector<float> g(2, 0.0f);
  AdamWUpdate(p.data(), g.data(), m.data(), v.data(), 2, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f, 1);
  EXPECT_FLOAT_EQ(p[0], 0.95f);
  EXPECT_FLOAT_EQ(p[1], -2.85f);
}

}  // namespace
}  // namespace shoal::cpu
