#include "common/memory_estimate.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace shoal {
namespace {

JobSpec Mlp(std::vector<int> layers, int batch) {
  JobSpec spec;
  spec.model.layers = std::move(layers);
  spec.training.batch_size = batch;
  return spec;
}

TEST(EstimateRankMemory, MatchesHandComputedFashionMlp) {
  // 784-256-128-10: 200,960 + 32,896 + 1,290 parameters.
  const RankMemoryEstimate e = EstimateRankMemory(Mlp({784, 256, 128, 10}, 128));
  EXPECT_EQ(e.parameters, 235146);
  EXPECT_EQ(e.model_state_bytes, 16 * 235146);
  EXPECT_EQ(e.snapshot_bytes, 12 * 235146);
  // Per row: input 784 + label 1, outputs 256 + 128 + 10, pre-activations 256 + 128, two
  // backward buffers of 256: 2,075 floats; x 128 rows x 4 B.
  EXPECT_EQ(e.activation_bytes, int64_t{2075} * 128 * 4);
  EXPECT_EQ(e.overhead_bytes, 256 * kMiB);
  EXPECT_EQ(e.device_bytes, 3762336 + 1062400 + 268435456);
  EXPECT_EQ(e.host_bytes, e.device_bytes + 2821752);
}

TEST(EstimateRankMemory, EvaluationChunkSizesScratchWithATestSet) {
  JobSpec spec = Mlp({4, 3}, 8);
  EXPECT_EQ(EstimateRankMemory(spec).activation_bytes, int64_t{4 + 1 + 3 + 2 * 3} * 8 * 4);
  spec.data.test = "/data/test";
  EXPECT_EQ(EstimateRankMemory(spec).activation_bytes, int64_t{4 + 1 + 3 + 2 * 3} * 1024 * 4);
}

TEST(EstimateRankMemory, GradAccumulationKeepsASumAndEveryMicroBatch) {
  JobSpec spec = Mlp({784, 256, 128, 10}, 128);
  spec.training.grad_accumulation = 4;
  const RankMemoryEstimate e = EstimateRankMemory(spec);
  EXPECT_EQ(e.model_state_bytes, 20 * 235146);
  // Three more micro-batches of input rows (784 features + 1 label) are gathered at once.
  EXPECT_EQ(e.activation_bytes, int64_t{2075} * 128 * 4 + int64_t{785} * 3 * 128 * 4);
}

TEST(EstimateRankMemory, LargestModelNeedsTensOfGiB) {
  // 32767 x 65535 weights + 65535 biases = 2,147,450,880 parameters (just under 2^31).
  JobSpec spec = Mlp({32767, 65535}, 32);
  const RankMemoryEstimate e = EstimateRankMemory(spec);
  EXPECT_EQ(e.parameters, int64_t{2147450880});
  EXPECT_EQ(e.model_state_bytes, int64_t{2147450880} * 16);  // 32.0 GiB
  EXPECT_GT(e.device_bytes, 32 * kGiB);
  EXPECT_GT(e.host_bytes, 56 * kGiB);
  EXPECT_EQ(RankMemoryNeed(spec), e.host_bytes);  // backend auto: held to the host figure
  spec.resources.backend = Backend::kCuda;
  EXPECT_EQ(RankMemoryNeed(spec), e.device_bytes);
}

TEST(EstimateRankMemory, SaturatesInsteadOfOverflowing) {
  JobSpec spec = Mlp({1048576, 1048576, 1048576}, 1048576);
  const RankMemoryEstimate e = EstimateRankMemory(spec);
  EXPECT_GT(e.host_bytes, 0);
  EXPECT_GE(e.host_bytes, e.device_bytes);
  EXPECT_EQ(EstimateRankMemory(Mlp({7}, 1)).parameters, 0);
}

TEST(RankMemoryLimit, HeadroomThenCap) {
  EXPECT_EQ(RankMemoryLimit(256 * kMiB, 0), 768 * kMiB);     // + 512 MiB is more than x 1.5
  EXPECT_EQ(RankMemoryLimit(4 * kGiB, 0), 6 * kGiB);         // x 1.5
  EXPECT_EQ(RankMemoryLimit(4 * kGiB, 5 * kGiB), 5 * kGiB);  // capped at what the slot lends
  EXPECT_EQ(RankMemoryLimit(4 * kGiB, 1 * kGiB), 4 * kGiB);  // never below the estimate
  EXPECT_EQ(RankMemoryLimit(0, 1 * kGiB), 0);                // no estimate: no limit
}

TEST(FormatBytes, OneDecimal) {
  EXPECT_EQ(FormatBytes(12), "12 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(512 * kMiB), "512.0 MiB");
  EXPECT_EQ(FormatBytes(int64_t{36614596198}), "34.1 GiB");
}

}  // namespace
}  // namespace shoal
