#include "kernels/cpu/bias_activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/twins/elementwise_math.h"
#include "tests/testing/test_util.h"

namespace shoal::cpu {
namespace {

// Double-precision references written independently of elementwise_math.h.
double RefAct(Activation act, double x) {
  switch (act) {
    case Activation::kRelu:
      return x > 0.0 ? x : 0.0;
    case Activation::kGelu: {
      const double k = std::sqrt(2.0 / M_PI);
      return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
    }
    case Activation::kTanh:
      return std::tanh(x);
  }
  return 0.0;
}

using ::shoal::testing::RelError;

std::string Name(Activation act) {
  switch (act) {
    case Activation::kRelu:
      return "Relu";
    case Activation::kGelu:
      return "Gelu";
    case Activation::kTanh:
      return "Tanh";
  }
  return "Unknown";
}

class BiasActivationTest : public ::testing::TestWithParam<Activation> {
 protected:
  static constexpr int kM = 9;
  static constexpr int kN = 13;

  void SetUp() override {
    std::mt19937 rng(42 + static_cast<int>(GetParam()));
    std::uniform_real_distribution<float> zdist(-2.5f, 2.5f), bdist(-0.5f, 0.5f), wdist(-1.f, 1.f);
    bias_.resize(kN);
    for (float& b : bias_) b = bdist(rng);
    z_.resize(kM * kN);
    for (int i = 0; i < kM; ++i) {
      for (int j = 0; j < kN; ++j) {
        // Keep pre-activations away from the ReLU kink so finite differences are valid.
        float z;
        do {
          z = zdist(rng);
        } while (std::fabs(static_cast<double>(z) + bias_[j]) < 0.05);
        z_[i * kN + j] = z;
      }
    }
    dout_.resize(kM * kN);
    for (float& w : dout_) w = wdist(rng);
  }

  // Scalar objective whose gradient the backward computes: L = sum_ij dout_ij * act(z_ij + b_j).
  double Objective(const std::vector<double>& z, const std::vector<double>& b) const {
    double acc = 0.0;
    for (int i = 0; i < kM; ++i) {
      for (int j = 0; j < kN; ++j)
        acc += dout_[i * kN + j] * RefAct(GetParam(), z[i * kN + j] + b[j]);
    }
    return acc;
  }

  std::vector<float> z_, bias_, dout_;
};

TEST_P(BiasActivationTest, ForwardMatchesDoubleReference) {
  const Activation act = GetParam();
  std::vector<float> pre(kM * kN, -7.0f), out(kM * kN, -7.0f);
  ASSERT_TRUE(
      BiasActivationForward(z_.data(), bias_.data(), kM, kN, act, pre.data(), out.data()).ok());
  std::vector<double> ref_pre(kM * kN), ref_out(kM * kN);
  for (int i = 0; i < kM; ++i) {
    for (int j = 0; j < kN; ++j) {
      ref_pre[i * kN + j] = static_cast<double>(z_[i * kN + j]) + bias_[j];
      ref_out[i * kN + j] = RefAct(act, ref_pre[i * kN + j]);
    }
  }
  EXPECT_LT(RelError(pre, ref_pre), 1e-6);
  EXPECT_LT(RelError(out, ref_out), 1e-6);

  // In place (pre aliases z) and inference (no pre) give the same activations.
  std::vector<float> inplace = z_, out2(kM * kN);
  ASSERT_TRUE(
      BiasActivationForward(inplace.data(), bias_.data(), kM, kN, act, inplace.data(), out2.data())
          .ok());
  EXPECT_EQ(inplace, pre);
  EXPECT_EQ(out2, out);
  std::vector<float> all_in_one = z_;
  ASSERT_TRUE(BiasActivationForward(all_in_one.data(), bias_.data(), kM, kN, act, nullptr,
                                    all_in_one.data())
                  .ok());
  EXPECT_EQ(all_in_one, out);
}

TEST_P(BiasActivationTest, BackwardMatchesFiniteDifferences) {
  const Activation act = GetParam();
  std::vector<float> pre(kM * kN), out(kM * kN);
  ASSERT_TRUE(
      BiasActivationForward(z_.data(), bias_.data(), kM, kN, act, pre.data(), out.data()).ok());
  std::vector<float> dz(kM * kN, 123.0f), dbias(kN, 456.0f);  // garbage: must be overwritten
  ASSERT_TRUE(
      ActivationBackwardBiasGrad(dout_.data(), pre.data(), kM, kN, act, dz.data(), dbias.data())
          .ok());

  // Central differences of the double objective.
  std::vector<double> z(z_.begin(), z_.end()), b(bias_.begin(), bias_.end());
  auto objective = [&] { return Objective(z, b); };
  const std::vector<double> fd_dz = ::shoal::testing::CentralDifferences(z, objective);
  const std::vector<double> fd_db = ::shoal::testing::CentralDifferences(b, objective);
  EXPECT_LT(RelError(dz, fd_dz), 1e-5);
  EXPECT_LT(RelError(dbias, fd_db), 1e-5);

  // dz aliasing dout gives the same result.
  std::vector<float> inplace = dout_, dbias2(kN);
  ASSERT_TRUE(ActivationBackwardBiasGrad(inplace.data(), pre.data(), kM, kN, act, inplace.data(),
                                         dbias2.data())
                  .ok());
  EXPECT_EQ(inplace, dz);
  EXPECT_EQ(dbias2, dbias);
}

INSTANTIATE_TEST_SUITE_P(Activations, BiasActivationTest,
                         ::testing::Values(Activation::kRelu, Activation::kGelu, Activation::kTanh),
                         [](const auto& info) { return Name(info.param); });

TEST(BiasActivationEdgeTest, GeluTanhApproximationIsCloseToExactGelu) {
  for (double x = -6.0; x <= 6.0; x += 0.01) {
    const double exact = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    EXPECT_NEAR(math::GeluForward(static_cast<float>(x)), exact, 1e-3) << x;
  }
}

TEST(BiasActivationEdgeTest, BiasForwardAndBiasGrad) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int m = 6, n = 11;
  std::vector<float> z(m * n), bias(n);
  for (float& v : z) v = dist(rng);
  for (float& v : bias) v = dist(rng);
  std::vector<float> out(m * n);
  ASSERT_TRUE(BiasForward(z.data(), bias.data(), m, n, out.data()).ok());
  std::vector<double> ref_out(m * n), ref_db(n, 0.0);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      ref_out[i * n + j] = static_cast<double>(z[i * n + j]) + bias[j];
      ref_db[j] += z[i * n + j];
    }
  }
  EXPECT_LT(RelError(out, ref_out), 1e-6);
  std::vector<float> db(n, 99.0f);
  ASSERT_TRUE(BiasGrad(z.data(), m, n, db.data()).ok());
  EXPECT_LT(RelError(db, ref_db), 1e-6);
  // Zero rows: the column sums are zero, not left alone.
  ASSERT_TRUE(BiasGrad(nullptr, 0, n, db.data()).ok());
  EXPECT_EQ(db, std::vector<float>(n, 0.0f));
  std::vector<float> db2(n, 99.0f);
  ASSERT_TRUE(
      ActivationBackwardBiasGrad(nullptr, nullptr, 0, n, Activation::kTanh, nullptr, db2.data())
          .ok());
  EXPECT_EQ(db2, std::vector<float>(n, 0.0f));
}

TEST(BiasActivationEdgeTest, RejectsBadArguments) {
  std::vector<float> buf(8, 1.0f);
  EXPECT_EQ(BiasActivationForward(buf.data(), buf.data(), -1, 2, Activation::kRelu, buf.data(),
                                  buf.data())
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      BiasActivationForward(buf.data(), nullptr, 2, 2, Activation::kRelu, buf.data(), buf.data())
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(ActivationBackwardBiasGrad(buf.data(), buf.data(), 2, -2, Activation::kGelu, buf.data(),
                                       buf.data())
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ActivationBackwardBiasGrad(buf.data(), nullptr, 2, 2, Activation::kGelu, buf.data(),
                                       buf.data())
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BiasGrad(buf.data(), 2, 2, nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BiasForward(buf.data(), buf.data(), 2, -1, buf.data()).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shoal::cpu
