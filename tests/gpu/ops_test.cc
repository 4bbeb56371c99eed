// The fused and element-wise CUDA operators against their CPU twins (kernels/cpu/), on fresh
// random inputs: bias + activation, softmax + cross-entropy, MSE, optimizers, reductions.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "common/spec/job_spec.h"  // ToString of the enums
#include "kernels/cpu/bias_activation.h"
#include "kernels/cpu/mse.h"
#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/softmax_cross_entropy.h"
#include "kernels/cuda/bias_activation.h"
#include "kernels/cuda/mse.h"
#include "kernels/cuda/optimizer.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax_cross_entropy.h"
#include "tests/gpu/gpu_test_util.h"

namespace shoal::testing {
namespace {

struct Dims {
  int m, n;
};
// Includes widths that are not multiples of 4 (scalar path) or 32 (partial column slabs).
const Dims kDims[] = {{1, 1}, {7, 13}, {33, 10}, {128, 256}, {64, 128}, {300, 37}};
const Activation kActs[] = {Activation::kRelu, Activation::kGelu, Activation::kTanh};

// Bit patterns equal (so -0.0 vs 0.0 or different rounding both count as a difference).
int64_t BitMismatches(const std::vector<float>& a, const std::vector<float>& b) {
  int64_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return diff;
}

using BiasActivationTest = GpuTest;

TEST_F(BiasActivationTest, ForwardMatchesCpu) {
  std::mt19937 rng = TestRng();
  for (const Dims d : kDims) {
    const std::vector<float> z = RandomVector(d.m * d.n, rng, -3.0f, 3.0f);
    const std::vector<float> bias = RandomVector(d.n, rng);
    DeviceBuffer<float> dz(z), dbias(bias), dpre(z.size()), dout(z.size());
    for (const Activation act : kActs) {
      std::vector<float> pre(z.size()), out(z.size());
      ASSERT_TRUE(cpu::BiasActivationForward(z.data(), bias.data(), d.m, d.n, act, pre.data(),
                                             out.data())
                      .ok());
      ASSERT_TRUE(cuda::BiasActivationForward(dz.get(), dbias.get(), d.m, d.n, act, dpre.get(),
                                              dout.get(), stream_)
                      .ok());
      Sync();
      EXPECT_EQ(BitMismatches(dpre.Download(), pre), 0) << "pre is a plain add";
      EXPECT_LT(RelError(dout.Download(), out), 1e-6) << ToString(act) << " " << d.m << "x" << d.n;
    }
    // Last layer: no activation, in place (out aliases z).
    std::vector<float> out(z.size());
    ASSERT_TRUE(cpu::BiasForward(z.data(), bias.data(), d.m, d.n, out.data()).ok());
    ASSERT_TRUE(cuda::BiasForward(dz.get(), dbias.get(), d.m, d.n, dz.get(), stream_).ok());
    Sync();
    EXPECT_EQ(BitMismatches(dz.Download(), out), 0);
  }
}

TEST_F(BiasActivationTest, BackwardAndBiasGradMatchCpu) {
  std::mt19937 rng = TestRng();
  for (const Dims d : kDims) {
    const std::vector<float> dout = RandomVector(d.m * d.n, rng);
    const std::vector<float> pre = RandomVector(d.m * d.n, rng, -3.0f, 3.0f);
    DeviceBuffer<float> ddout(dout), dpre(pre), ddz(dout.size()), ddbias(d.n);
    for (const Activation act : kActs) {
      std::vector<float> dz(dout.size()), dbias(d.n);
      ASSERT_TRUE(cpu::ActivationBackwardBiasGrad(dout.data(), pre.data(), d.m, d.n, act,
                                                  dz.data(), dbias.data())
                      .ok());
      ASSERT_TRUE(cuda::ActivationBackwardBiasGrad(ddout.get(), dpre.get(), d.m, d.n, act,
                                                   ddz.get(), ddbias.get(), stream_)
                      .ok());
      Sync();
      EXPECT_LT(RelError(ddz.Download(), dz), 1e-6) << ToString(act) << " " << d.m << "x" << d.n;
      EXPECT_LT(RelError(ddbias.Download(), dbias), 1e-5) << ToString(act);
    }
    std::vector<float> dbias(d.n);
    ASSERT_TRUE(cpu::BiasGrad(dout.data(), d.m, d.n, dbias.data()).ok());
    ASSERT_TRUE(cuda::BiasGrad(ddout.get(), d.m, d.n, ddbias.get(), stream_).ok());
    Sync();
    EXPECT_LT(RelError(ddbias.Download(), dbias), 1e-5);
  }
}

TEST_F(BiasActivationTest, InPlaceBackwardAndEmptyBatch) {
  std::mt19937 rng = TestRng();
  const int m = 50, n = 20;
  const std::vector<float> dout = RandomVector(m * n, rng);
  const std::vector<float> pre = RandomVector(m * n, rng);
  std::vector<float> dz(m * n), dbias(n);
  ASSERT_TRUE(cpu::ActivationBackwardBiasGrad(dout.data(), pre.data(), m, n, Activation::kGelu,
                                              dz.data(), dbias.data())
                  .ok());
  DeviceBuffer<float> ddout(dout), dpre(pre), ddbias(RandomVector(n, rng));
  ASSERT_TRUE(cuda::ActivationBackwardBiasGrad(ddout.get(), dpre.get(), m, n, Activation::kGelu,
                                               ddout.get(), ddbias.get(), stream_)
                  .ok());
  Sync();
  EXPECT_LT(RelError(ddout.Download(), dz), 1e-6);
  // m == 0: dbias is overwritten with zeros.
  ASSERT_TRUE(cuda::BiasGrad(ddout.get(), 0, n, ddbias.get(), stream_).ok());
  Sync();
  for (float v : ddbias.Download()) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(cuda::BiasGrad(ddout.get(), -1, n, ddbias.get(), stream_).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda::BiasActivationForward(nullptr, dpre.get(), m, n, Activation::kRelu, nullptr,
                                        ddout.get(), stream_)
                .code(),
            StatusCode::kInvalidArgument);
}

struct LossCase {
  int m, c;
};
const LossCase kLossCases[] = {{1, 1}, {7, 10}, {128, 10}, {100, 1000}, {33, 37}, {1000, 3}};

// Runs the GPU loss (softmax+xent when `xent`, else MSE) and its CPU twin on the same inputs and
// compares loss, correct count and gradient; `in_place` writes the gradient over the input.
void CompareLoss(GpuTest* t, cudaStream_t stream, bool xent, bool in_place, bool eval_only) {
  std::mt19937 rng = TestRng();
  for (const LossCase lc : kLossCases) {
    const std::vector<float> x = RandomVector(lc.m * lc.c, rng, -4.0f, 4.0f);
    const std::vector<int32_t> labels = RandomLabels(lc.m, lc.c, rng);
    const float scale = 1.0f / lc.m;
    std::vector<float> grad(x.size());
    double loss = 0.0;
    int64_t correct = 0;
    float* cpu_grad = eval_only ? nullptr : grad.data();
    ASSERT_TRUE((xent ? cpu::SoftmaxCrossEntropy(x.data(), labels.data(), lc.m, lc.c, scale,
                                                 cpu_grad, &loss, &correct)
                      : cpu::MeanSquaredError(x.data(), labels.data(), lc.m, lc.c, scale,
                                              cpu_grad, &loss, &correct))
                    .ok());
    DeviceBuffer<float> dx(x), dgrad(x.size());
    DeviceBuffer<int32_t> dlabels(labels);
    DeviceBuffer<double> dloss(1);
    DeviceBuffer<int64_t> dcorrect(1);
    float* gpu_grad = eval_only ? nullptr : in_place ? dx.get() : dgrad.get();
    ASSERT_TRUE((xent ? cuda::SoftmaxCrossEntropy(dx.get(), dlabels.get(), lc.m, lc.c, scale,
                                                  gpu_grad, dloss.get(), dcorrect.get(), stream)
                      : cuda::MeanSquaredError(dx.get(), dlabels.get(), lc.m, lc.c, scale,
                                               gpu_grad, dloss.get(), dcorrect.get(), stream))
                    .ok());
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    const double gpu_loss = dloss.Download()[0];
    EXPECT_NEAR(gpu_loss, loss, 1e-6 * std::max(1.0, std::abs(loss))) << lc.m << "x" << lc.c;
    EXPECT_EQ(dcorrect.Download()[0], correct) << lc.m << "x" << lc.c;
    if (!eval_only) {
      const std::vector<float> g = in_place ? dx.Download() : dgrad.Download();
      EXPECT_LT(RelError(g, grad), 1e-5) << lc.m << "x" << lc.c;
    }
  }
}

using LossTest = GpuTest;

TEST_F(LossTest, SoftmaxCrossEntropyMatchesCpu) { CompareLoss(this, stream_, true, false, false); }
TEST_F(LossTest, SoftmaxCrossEntropyInPlace) { CompareLoss(this, stream_, true, true, false); }
TEST_F(LossTest, SoftmaxCrossEntropyEvalOnly) { CompareLoss(this, stream_, true, false, true); }
TEST_F(LossTest, MseMatchesCpu) { CompareLoss(this, stream_, false, false, false); }
TEST_F(LossTest, MseInPlace) { CompareLoss(this, stream_, false, true, false); }

TEST_F(LossTest, BadLabelPoisonsLossAndEmptyBatchZeroes) {
  std::mt19937 rng = TestRng();
  const int m = 4, c = 5;
  DeviceBuffer<float> dx(RandomVector(m * c, rng));
  DeviceBuffer<int32_t> dlabels(std::vector<int32_t>{0, 1, 7, 2});
  DeviceBuffer<double> dloss(1);
  DeviceBuffer<int64_t> dcorrect(1);
  ASSERT_TRUE(cuda::SoftmaxCrossEntropy(dx.get(), dlabels.get(), m, c, 1.0f, nullptr, dloss.get(),
                                        dcorrect.get(), stream_)
                  .ok());
  Sync();
  EXPECT_TRUE(std::isnan(dloss.Download()[0]));
  ASSERT_TRUE(cuda::MeanSquaredError(dx.get(), dlabels.get(), 0, c, 1.0f, nullptr, dloss.get(),
                                     dcorrect.get(), stream_)
                  .ok());
  Sync();
  EXPECT_EQ(dloss.Download()[0], 0.0);
  EXPECT_EQ(dcorrect.Download()[0], 0);
  EXPECT_EQ(cuda::SoftmaxCrossEntropy(dx.get(), dlabels.get(), m, 0, 1.0f, nullptr, dloss.get(),
                                      dcorrect.get(), stream_)
                .code(),
            StatusCode::kInvalidArgument);
}

using OptimizerTest = GpuTest;

// Sizes: tiny, not a multiple of 4 (vector tail), large; offset 1 makes the buffers misaligned.
const int64_t kOptSizes[] = {1, 7, 1000003};

TEST_F(OptimizerTest, SgdMomentumBitIdenticalToCpu) {
  std::mt19937 rng = TestRng();
  for (const int64_t n : kOptSizes) {
    for (const int offset : {0, 1}) {
      std::vector<float> p = RandomVector(n + offset, rng), v(n + offset, 0.0f);
      DeviceBuffer<float> dp(p), dg(n + offset), dv(v);
      for (int step = 0; step < 3; ++step) {
        const std::vector<float> g = RandomVector(n + offset, rng);
        dg.Upload(g);
        cpu::SgdMomentumUpdate(p.data() + offset, g.data() + offset, v.data() + offset, n, 0.05f,
                               0.9f, 1e-3f);
        ASSERT_TRUE(cuda::SgdMomentumUpdate(dp.get() + offset, dg.get() + offset,
                                            dv.get() + offset, n, 0.05f, 0.9f, 1e-3f, stream_)
                        .ok());
      }
      Sync();
      EXPECT_EQ(BitMismatches(dp.Download(), p), 0) << "n=" << n << " offset=" << offset;
      EXPECT_EQ(BitMismatches(dv.Download(), v), 0) << "n=" << n << " offset=" << offset;
    }
  }
}

TEST_F(OptimizerTest, AdamWBitIdenticalToCpu) {
  std::mt19937 rng = TestRng();
  for (const int64_t n : kOptSizes) {
    for (const int offset : {0, 1}) {
      std::vector<float> p = RandomVector(n + offset, rng), m(n + offset, 0.0f),
                         v(n + offset, 0.0f);
      DeviceBuffer<float> dp(p), dg(n + offset), dm(m), dv(v);
      for (int64_t step = 1; step <= 3; ++step) {
        const std::vector<float> g = RandomVector(n + offset, rng);
        dg.Upload(g);
        cpu::AdamWUpdate(p.data() + offset, g.data() + offset, m.data() + offset,
                         v.data() + offset, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, step);
        ASSERT_TRUE(cuda::AdamWUpdate(dp.get() + offset, dg.get() + offset, dm.get() + offset,
                                      dv.get() + offset, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f,
                                      step, stream_)
                        .ok());
      }
      Sync();
      const std::vector<float> gp = dp.Download();
      EXPECT_LE(RelError(gp, p), 1e-6);
      EXPECT_EQ(BitMismatches(gp, p), 0) << "n=" << n << " offset=" << offset;
      EXPECT_EQ(BitMismatches(dm.Download(), m), 0);
      EXPECT_EQ(BitMismatches(dv.Download(), v), 0);
    }
  }
  DeviceBuffer<float> d(4);
  EXPECT_EQ(cuda::AdamWUpdate(d.get(), d.get(), d.get(), d.get(), 1, 1e-3f, 0.9f, 0.999f, 1e-8f,
                              0.0f, 0, stream_)
                .code(),
            StatusCode::kInvalidArgument);
}

using ReduceTest = GpuTest;

TEST_F(ReduceTest, ScaleInPlaceBitIdentical) {
  std::mt19937 rng = TestRng();
  for (const int64_t n : kOptSizes) {
    std::vector<float> x = RandomVector(n + 1, rng);
    DeviceBuffer<float> dx(x);
    cpu::ScaleInPlace(x.data() + 1, n, 0.25f / 3.0f);
    ASSERT_TRUE(cuda::ScaleInPlace(dx.get() + 1, n, 0.25f / 3.0f, stream_).ok());
    Sync();
    EXPECT_EQ(BitMismatches(dx.Download(), x), 0) << "n=" << n;
  }
}

TEST_F(ReduceTest, AnyNonFiniteAndSumOfSquares) {
  std::mt19937 rng = TestRng();
  const int64_t n = 100003;
  std::vector<float> x = RandomVector(n, rng);
  DeviceBuffer<float> dx(x);
  DeviceBuffer<int32_t> flag(1);
  DeviceBuffer<double> sum(1);
  auto nonfinite = [&] {
    EXPECT_TRUE(cuda::AnyNonFinite(dx.get(), n, flag.get(), stream_).ok());
    EXPECT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    return flag.Download()[0];
  };
  EXPECT_EQ(nonfinite(), 0);
  EXPECT_EQ(cpu::AllFinite(x.data(), n), true);
  ASSERT_TRUE(cuda::SumOfSquares(dx.get(), n, sum.get(), stream_).ok());
  Sync();
  const double ref = cpu::SumOfSquares(x.data(), n);
  EXPECT_NEAR(sum.Download()[0], ref, 1e-12 * ref);
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
    for (const int64_t at : {int64_t{0}, n / 2, n - 1}) {
      std::vector<float> y = x;
      y[at] = bad;
      dx.Upload(y);
      EXPECT_EQ(nonfinite(), 1) << "value " << bad << " at " << at;
      EXPECT_FALSE(cpu::AllFinite(y.data(), n));
    }
  }
  ASSERT_TRUE(cuda::AnyNonFinite(dx.get(), 0, flag.get(), stream_).ok());
  Sync();
  EXPECT_EQ(flag.Download()[0], 0);
}

}  // namespace
}  // namespace shoal::testing
