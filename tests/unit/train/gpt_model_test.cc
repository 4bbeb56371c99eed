// The GPT behind the training loop's Model interface (models/gpt/gpt_model.h): made from the
// spec, a row's loss is the mean over its positions, correct counts positions, and inputs that
// are not token ids are refused.
#include "models/gpt/gpt_model.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/spec/job_spec.h"

namespace shoal {
namespace {

JobSpec::Model Spec() {
  JobSpec::Model m;
  m.kind = "gpt";
  m.blocks = 1;
  m.vocab_size = 7;
  m.context_length = 4;
  m.heads = 2;
  m.embed_dim = 8;
  return m;
}

TEST(GptModelTest, RowsAreWindowsAndTheLossIsTheMeanOverPositions) {
  auto model = MakeModel(Spec());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Model& m = **model;
  EXPECT_EQ(m.label_width(), 4);
  EXPECT_EQ(m.num_params(), ModelParameterCount(Spec()));
  std::vector<float> params(m.num_params()), grads(params.size());
  m.InitParams(1, params.data());
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 0, 1};
  const std::vector<int32_t> y = {2, 3, 4, 5, 6, 0, 1, 2};
  double loss = 0;
  int64_t correct = -1;
  ASSERT_TRUE(
      m.ForwardBackward(params.data(), x.data(), y.data(), 2, 0.5f, grads.data(), &loss, &correct)
          .ok());
  // At GPT-2's small initialisation every next token is about equally likely: each row's mean
  // loss is near log(7), and the sum over two rows twice that.
  EXPECT_NEAR(loss, 2 * std::log(7.0), 0.05);
  EXPECT_GE(correct, 0);
  EXPECT_LE(correct, 8);
  double eval = 0;
  int64_t eval_correct = -1;
  ASSERT_TRUE(m.Evaluate(params.data(), x.data(), y.data(), 2, &eval, &eval_correct).ok());
  EXPECT_EQ(eval, loss);
  EXPECT_EQ(eval_correct, correct);
  const std::vector<float> not_ids = {1, 2.5f, 3, 4};
  EXPECT_EQ(m.Evaluate(params.data(), not_ids.data(), y.data(), 1, &eval, &eval_correct).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace shoal
