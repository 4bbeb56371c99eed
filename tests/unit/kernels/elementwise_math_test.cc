#include "kernels/twins/elementwise_math.h"

#include <cmath>

#include <gtest/gtest.h>

namespace shoal::math {
namespace {

TEST(ExpForLoopsTest, WithinTwoUlpOfExpOverTheWholeRange) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.000731f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(ExpForLoops(x) - want) / want);
  }
  EXPECT_LT(worst, 2.5e-7);  // 2 ulp of a float is 2.4e-7 at worst
  EXPECT_EQ(ExpForLoops(0.0f), 1.0f);
}

TEST(GeluTest, ExtremeInputsStayFiniteAndSaturate) {
  EXPECT_EQ(GeluForward(1e4f), 1e4f);
  EXPECT_NEAR(GeluForward(-1e4f), 0.0f, 1e-12);
  EXPECT_EQ(GeluForward(3e13f), 3e13f);  // x^3 overflows to inf: sigmoid is then 1
  EXPECT_NEAR(GeluGrad(50.0f), 1.0f, 1e-6);
  EXPECT_NEAR(GeluGrad(-50.0f), 0.0f, 1e-12);
  EXPECT_EQ(GeluForward(0.0f), 0.0f);
  EXPECT_FLOAT_EQ(GeluGrad(0.0f), 0.5f);
}

// The sigmoid form of the tanh GELU equals PyTorch's 0.5 x (1 + tanh(u)) and its derivative.
TEST(GeluTest, SigmoidFormEqualsTheTanhForm) {
  for (double x = -12; x <= 12; x += 0.01) {
    const double u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
    const double t = std::tanh(u);
    const double want = 0.5 * x * (1 + t);
    const double du = 0.7978845608028654 * (1 + 3 * 0.044715 * x * x);
    const double dwant = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
    EXPECT_NEAR(GeluForward(static_cast<float>(x)), want, 1e-6 * std::max(1.0, std::abs(want)))
        << x;
    EXPECT_NEAR(GeluGrad(static_cast<float>(x)), dwant, 2e-6 * std::max(1.0, std::abs(dwant)))
        << x;
  }
  EXPECT_TRUE(std::isnan(GeluForward(NAN)));
  EXPECT_TRUE(std::isnan(GeluGrad(NAN)));
}

}  // namespace
}  // namespace shoal::math
