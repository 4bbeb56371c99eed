#include "models/mlp/mlp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/reduce.h"

namespace shoal {
namespace {

struct Batch {
  std::vector<float> x;
  std::vector<int32_t> labels;
};

Batch RandomBatch(int rows, int in, int classes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::uniform_int_distribution<int32_t> label_dist(0, classes - 1);
  Batch b{std::vector<float>(static_cast<size_t>(rows) * in), std::vector<int32_t>(rows)};
  for (float& v : b.x) v = dist(rng);
  for (int32_t& l : b.labels) l = label_dist(rng);
  return b;
}

// Init plus random biases (init zeroes them, and zero biases would hide bias-gradient bugs).
std::vector<float> RandomParams(const Mlp& mlp, uint64_t seed) {
  std::vector<float> params(mlp.num_params());
  mlp.InitParams(seed, params.data());
  std::mt19937 rng(static_cast<uint32_t>(seed) + 99);
  std::uniform_real_distribution<float> dist(-0.3f, 0.3f);
  for (int l = 0; l < mlp.num_layers(); ++l) {
    const int out = mlp.config().layers[l + 1];
    for (int j = 0; j < out; ++j) params[mlp.bias_offset(l) + j] = dist(rng);
  }
  return params;
}

double RelError(const float* out, const double* ref, int64_t n) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / den);
}

std::string ActName(Activation a) {
  return a == Activation::kRelu ? "Relu" : a == Activation::kGelu ? "Gelu" : "Tanh";
}

class MlpGradientTest : public ::testing::TestWithParam<std::tuple<Activation, LossKind>> {};

TEST_P(MlpGradientTest, ForwardBackwardMatchesFiniteDifferencesOfEvaluate) {
  const auto [act, loss_kind] = GetParam();
  Mlp mlp(MlpConfig{{5, 7, 6, 3}, act, loss_kind});
  ASSERT_EQ(mlp.num_params(), 7 * 5 + 7 + 6 * 7 + 6 + 3 * 6 + 3);
  const int batch = 8;
  const Batch data = RandomBatch(batch, 5, 3, 17);
  std::vector<float> params = RandomParams(mlp, 5);
  const float grad_scale = 1.0f / batch;

  std::vector<float> grads(mlp.num_params(), std::numeric_limits<float>::quiet_NaN());
  double loss_sum = 0.0;
  int64_t correct = -1;
  ASSERT_TRUE(mlp.ForwardBackward(params.data(), data.x.data(), data.labels.data(), batch,
                                  grad_scale, grads.data(), &loss_sum, &correct)
                  .ok());
  EXPECT_GT(loss_sum, 0.0);
  EXPECT_GE(correct, 0);
  EXPECT_LE(correct, batch);

  // Central differences of grad_scale * Evaluate's loss, in float parameters.
  const float eps = 3e-3f;
  std::vector<double> fd(mlp.num_params());
  for (int64_t p = 0; p < mlp.num_params(); ++p) {
    const float saved = params[p];
    double plus = 0.0, minus = 0.0;
    int64_t ignored = 0;
    params[p] = saved + eps;
    const double step_up = static_cast<double>(params[p]) - saved;  // the eps actually applied
    ASSERT_TRUE(
        mlp.Evaluate(params.data(), data.x.data(), data.labels.data(), batch, &plus, &ignored)
            .ok());
    params[p] = saved - eps;
    const double step_down = saved - static_cast<double>(params[p]);
    ASSERT_TRUE(
        mlp.Evaluate(params.data(), data.x.data(), data.labels.data(), batch, &minus, &ignored)
            .ok());
    params[p] = saved;
    fd[p] = grad_scale * (plus - minus) / (step_up + step_down);
  }
  // Observed errors are ~5e-5 (float rounding in the differences); the bounds leave room for
  // that while still catching a gradient that is off by a few percent anywhere.
  EXPECT_LT(RelError(grads.data(), fd.data(), mlp.num_params()), 2e-3);
  // Every weight matrix and bias vector separately, so a bug in a small group cannot hide.
  for (int l = 0; l < mlp.num_layers(); ++l) {
    const int in = mlp.config().layers[l], out = mlp.config().layers[l + 1];
    EXPECT_LT(RelError(grads.data() + mlp.weight_offset(l), fd.data() + mlp.weight_offset(l),
                       static_cast<int64_t>(out) * in),
              5e-3)
        << "W" << l;
    EXPECT_LT(RelError(grads.data() + mlp.bias_offset(l), fd.data() + mlp.bias_offset(l), out),
              5e-3)
        << "b" << l;
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllActivationsAndLosses, MlpGradientTest,
    ::testing::Combine(::testing::Values(Activation::kRelu, Activation::kGelu, Activation::kTanh),
                       ::testing::Values(LossKind::kCrossEntropy, LossKind::kMse)),
    [](const auto& info) {
      return ActName(std::get<0>(info.param)) +
             (std::get<1>(info.param) == LossKind::kMse ? "Mse" : "CrossEntropy");
    });

TEST(MlpTest, LayoutAndParamCount) {
  Mlp mlp(MlpConfig{{784, 256, 128, 10}, Activation::kRelu, LossKind::kCrossEntropy});
  EXPECT_EQ(mlp.num_layers(), 3);
  EXPECT_EQ(mlp.num_params(), 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(mlp.weight_offset(0), 0);
  EXPECT_EQ(mlp.bias_offset(0), 784 * 256);
  EXPECT_EQ(mlp.weight_offset(1), 784 * 256 + 256);
  EXPECT_EQ(mlp.bias_offset(2), mlp.num_params() - 10);
}

TEST(MlpTest, InvalidConfigIsReportedNotCrashed) {
  for (const std::vector<int>& layers : {std::vector<int>{}, std::vector<int>{5},
                                         std::vector<int>{5, 0, 3}, std::vector<int>{5, -2}}) {
    const MlpConfig config{layers, Activation::kRelu, LossKind::kCrossEntropy};
    EXPECT_EQ(Mlp::ValidateConfig(config).code(), StatusCode::kInvalidArgument);
    Mlp mlp(config);
    EXPECT_EQ(mlp.num_params(), 0);
    float dummy[4] = {0};
    int32_t label = 0;
    double loss = 0.0;
    int64_t correct = 0;
    EXPECT_EQ(mlp.ForwardBackward(dummy, dummy, &label, 1, 1.0f, dummy, &loss, &correct).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(mlp.Evaluate(dummy, dummy, &label, 1, &loss, &correct).code(),
              StatusCode::kInvalidArgument);
  }
}

TEST(MlpTest, RejectsBadLabelsAndBatch) {
  Mlp mlp(MlpConfig{{4, 5, 3}, Activation::kTanh, LossKind::kCrossEntropy});
  std::vector<float> params(mlp.num_params()), grads(mlp.num_params());
  mlp.InitParams(1, params.data());
  Batch data = RandomBatch(6, 4, 3, 2);
  data.labels[4] = 3;
  double loss = 0.0;
  int64_t correct = 0;
  EXPECT_EQ(mlp.ForwardBackward(params.data(), data.x.data(), data.labels.data(), 6, 1.0f,
                                grads.data(), &loss, &correct)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      mlp.Evaluate(params.data(), data.x.data(), data.labels.data(), 6, &loss, &correct).code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      mlp.Evaluate(params.data(), data.x.data(), data.labels.data(), -1, &loss, &correct).code(),
      StatusCode::kInvalidArgument);
}

TEST(MlpTest, ForwardBackwardAgreesWithEvaluateAndIsLinearInScale) {
  Mlp mlp(MlpConfig{{6, 9, 4}, Activation::kGelu, LossKind::kCrossEntropy});
  const std::vector<float> params = RandomParams(mlp, 3);
  const Batch data = RandomBatch(10, 6, 4, 4);
  std::vector<float> g1(mlp.num_params()), g2(mlp.num_params());
  double loss_fb = 0.0, loss_eval = 0.0, loss2 = 0.0;
  int64_t correct_fb = 0, correct_eval = 0, correct2 = 0;
  ASSERT_TRUE(mlp.ForwardBackward(params.data(), data.x.data(), data.labels.data(), 10, 1.0f,
                                  g1.data(), &loss_fb, &correct_fb)
                  .ok());
  ASSERT_TRUE(
      mlp.Evaluate(params.data(), data.x.data(), data.labels.data(), 10, &loss_eval, &correct_eval)
          .ok());
  EXPECT_NEAR(loss_fb, loss_eval, 1e-9 * loss_eval);
  EXPECT_EQ(correct_fb, correct_eval);
  // The reported loss is unscaled; only the gradient scales (exactly, for a power of two).
  ASSERT_TRUE(mlp.ForwardBackward(params.data(), data.x.data(), data.labels.data(), 10, 0.25f,
                                  g2.data(), &loss2, &correct2)
                  .ok());
  EXPECT_EQ(loss2, loss_fb);
  for (int64_t i = 0; i < mlp.num_params(); ++i) ASSERT_EQ(g2[i], 0.25f * g1[i]) << i;
}

TEST(MlpTest, HalfBatchGradientsSumToFullBatchGradient) {
  // What data parallelism relies on: per-rank gradients with grad_scale = 1/global_batch, summed,
  // equal the single-process gradient of the mean loss.
  Mlp mlp(MlpConfig{{5, 8, 8, 3}, Activation::kTanh, LossKind::kMse});
  const std::vector<float> params = RandomParams(mlp, 7);
  const Batch data = RandomBatch(12, 5, 3, 8);
  const float scale = 1.0f / 12;
  std::vector<float> full(mlp.num_params()), half_a(mlp.num_params()), half_b(mlp.num_params());
  double loss_full = 0.0, loss_a = 0.0, loss_b = 0.0;
  int64_t c_full = 0, c_a = 0, c_b = 0;
  ASSERT_TRUE(mlp.ForwardBackward(params.data(), data.x.data(), data.labels.data(), 12, scale,
                                  full.data(), &loss_full, &c_full)
                  .ok());
  ASSERT_TRUE(mlp.ForwardBackward(params.data(), data.x.data(), data.labels.data(), 6, scale,
                                  half_a.data(), &loss_a, &c_a)
                  .ok());
  ASSERT_TRUE(mlp.ForwardBackward(params.data(), data.x.data() + 6 * 5, data.labels.data() + 6, 6,
                                  scale, half_b.data(), &loss_b, &c_b)
                  .ok());
  std::vector<double> sum(mlp.num_params());
  for (int64_t i = 0; i < mlp.num_params(); ++i)
    sum[i] = static_cast<double>(half_a[i]) + half_b[i];
  EXPECT_LT(RelError(full.data(), sum.data(), mlp.num_params()), 1e-5);
  EXPECT_NEAR(loss_full, loss_a + loss_b, 1e-6 * loss_full);
  EXPECT_EQ(c_full, c_a + c_b);
}

TEST(MlpTest, ScratchGrowthAndEmptyBatch) {
  const MlpConfig config{{5, 7, 3}, Activation::kRelu, LossKind::kCrossEntropy};
  Mlp reused(config), fresh(config);
  const std::vector<float> params = RandomParams(reused, 9);
  const Batch big = RandomBatch(17, 5, 3, 10);
  std::vector<float> g_reused(reused.num_params()), g_fresh(reused.num_params());
  double loss = 0.0, loss_fresh = 0.0;
  int64_t correct = 0, correct_fresh = 0;
  // Small, then big (the scratch grows), then small again: same as a fresh model.
  for (const int rows : {3, 17, 3}) {
    ASSERT_TRUE(reused
                    .ForwardBackward(params.data(), big.x.data(), big.labels.data(), rows, 1.0f,
                                     g_reused.data(), &loss, &correct)
                    .ok());
  }
  ASSERT_TRUE(fresh
                  .ForwardBackward(params.data(), big.x.data(), big.labels.data(), 3, 1.0f,
                                   g_fresh.data(), &loss_fresh, &correct_fresh)
                  .ok());
  EXPECT_EQ(g_reused, g_fresh);
  EXPECT_EQ(loss, loss_fresh);
  // An empty batch: zero loss, zero gradient (grads are overwritten, not accumulated).
  std::vector<float> g_empty(reused.num_params(), 5.0f);
  ASSERT_TRUE(reused
                  .ForwardBackward(params.data(), nullptr, nullptr, 0, 1.0f, g_empty.data(), &loss,
                                   &correct)
                  .ok());
  EXPECT_EQ(loss, 0.0);
  EXPECT_EQ(correct, 0);
  EXPECT_EQ(g_empty, std::vector<float>(reused.num_params(), 0.0f));
}

TEST(MlpTest, InitIsDeterministicAndFollowsTheDocumentedMapping) {
  Mlp relu(MlpConfig{{20, 30, 4}, Activation::kRelu, LossKind::kCrossEntropy});
  Mlp tanh(MlpConfig{{20, 30, 4}, Activation::kTanh, LossKind::kCrossEntropy});
  const int64_t n = relu.num_params();
  std::vector<float> a(n), b(n), c(n), t(n);
  relu.InitParams(42, a.data());
  relu.InitParams(42, b.data());
  relu.InitParams(43, c.data());
  tanh.InitParams(42, t.data());
  EXPECT_EQ(cpu::Fnv1aChecksum(a.data(), n), cpu::Fnv1aChecksum(b.data(), n));
  EXPECT_NE(cpu::Fnv1aChecksum(a.data(), n), cpu::Fnv1aChecksum(c.data(), n));
  EXPECT_NE(a, c);

  // The first weight from the documented recipe: mt19937_64(seed), (draw >> 11) * 2^-53.
  std::mt19937_64 rng(42);
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  EXPECT_EQ(a[0], static_cast<float>((2.0 * u - 1.0) * std::sqrt(6.0 / 20)));

  for (int l = 0; l < relu.num_layers(); ++l) {
    const int in = relu.config().layers[l], out = relu.config().layers[l + 1];
    const double he = std::sqrt(6.0 / in), xavier = std::sqrt(6.0 / (in + out));
    double max_abs = 0.0, sum = 0.0, max_abs_t = 0.0;
    for (int64_t i = 0; i < static_cast<int64_t>(out) * in; ++i) {
      const float w = a[relu.weight_offset(l) + i];
      ASSERT_LE(std::fabs(w), he);
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(w)));
      sum += w;
      const float wt = t[tanh.weight_offset(l) + i];
      ASSERT_LE(std::fabs(wt), xavier);
      max_abs_t = std::max(max_abs_t, static_cast<double>(std::fabs(wt)));
    }
    // Uniform over the whole range, centred on zero.
    EXPECT_GT(max_abs, 0.9 * he) << l;
    EXPECT_GT(max_abs_t, 0.9 * xavier) << l;
    EXPECT_LT(std::fabs(sum / (out * in)), 0.1 * he) << l;
    for (int j = 0; j < out; ++j) EXPECT_EQ(a[relu.bias_offset(l) + j], 0.0f);
  }
}

TEST(MlpTest, ChecksumChangesWhenOneParameterChanges) {
  Mlp mlp(MlpConfig{{8, 16, 4}, Activation::kGelu, LossKind::kCrossEntropy});
  std::vector<float> params(mlp.num_params());
  mlp.InitParams(1, params.data());
  const std::string before = cpu::Fnv1aChecksum(params.data(), mlp.num_params());
  params[mlp.bias_offset(1) + 3] = 1e-7f;  // one bias, the last group of the buffer
  EXPECT_NE(cpu::Fnv1aChecksum(params.data(), mlp.num_params()), before);
}

// Labels are the argmax of a fixed random linear map of x: separable by construction.
Batch SeparableProblem(int rows, int in, int classes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> teacher(static_cast<size_t>(classes) * in);
  for (float& w : teacher) w = dist(rng);
  Batch b{std::vector<float>(static_cast<size_t>(rows) * in), std::vector<int32_t>(rows)};
  for (float& v : b.x) v = dist(rng);
  for (int i = 0; i < rows; ++i) {
    int best = 0;
    double best_score = -1e300;
    for (int k = 0; k < classes; ++k) {
      double s = 0.0;
      for (int j = 0; j < in; ++j) s += teacher[k * in + j] * b.x[i * in + j];
      if (s > best_score) {
        best_score = s;
        best = k;
      }
    }
    b.labels[i] = best;
  }
  return b;
}

class MlpTrainingTest : public ::testing::TestWithParam<std::tuple<Activation, LossKind>> {};

TEST_P(MlpTrainingTest, AdamWLearnsASeparableProblem) {
  const auto [act, loss_kind] = GetParam();
  Mlp mlp(MlpConfig{{5, 16, 3}, act, loss_kind});
  const int rows = 120;
  const Batch data = SeparableProblem(rows, 5, 3, 31);
  std::vector<float> params(mlp.num_params()), grads(mlp.num_params());
  std::vector<float> m(mlp.num_params(), 0.0f), v(mlp.num_params(), 0.0f);
  mlp.InitParams(2024, params.data());

  double initial = 0.0, loss = 0.0;
  int64_t correct = 0;
  ASSERT_TRUE(
      mlp.Evaluate(params.data(), data.x.data(), data.labels.data(), rows, &initial, &correct)
          .ok());
  for (int64_t step = 1; step <= 300; ++step) {
    ASSERT_TRUE(mlp.ForwardBackward(params.data(), data.x.data(), data.labels.data(), rows,
                                    1.0f / rows, grads.data(), &loss, &correct)
                    .ok());
    cpu::AdamWUpdate(params.data(), grads.data(), m.data(), v.data(), mlp.num_params(), 0.02f, 0.9f,
                     0.999f, 1e-8f, 1e-4f, step);
  }
  ASSERT_TRUE(
      mlp.Evaluate(params.data(), data.x.data(), data.labels.data(), rows, &loss, &correct).ok());
  EXPECT_TRUE(cpu::AllFinite(params.data(), mlp.num_params()));
  EXPECT_LT(loss, 0.25 * initial) << "initial mean loss " << initial / rows << ", final "
                                  << loss / rows;
  // MSE on one-hot targets fits the margins more slowly than cross-entropy in 300 steps.
  const int64_t min_correct = loss_kind == LossKind::kMse ? rows * 90 / 100 : rows * 95 / 100;
  EXPECT_GE(correct, min_correct) << correct << " of " << rows;
}

INSTANTIATE_TEST_SUITE_P(
    AllActivationsAndLosses, MlpTrainingTest,
    ::testing::Combine(::testing::Values(Activation::kRelu, Activation::kGelu, Activation::kTanh),
                       ::testing::Values(LossKind::kCrossEntropy, LossKind::kMse)),
    [](const auto& info) {
      return ActName(std::get<0>(info.param)) +
             (std::get<1>(info.param) == LossKind::kMse ? "Mse" : "CrossEntropy");
    });

}  // namespace
}  // namespace shoal
