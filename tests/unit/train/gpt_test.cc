// The GPT model on the CPU operators (models/gpt/gpt.h): its parameter layout, its deterministic
// initialisation, and its whole backward against finite differences of its own forward.
#include "models/gpt/gpt.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace shoal {
namespace {

GptConfig Tiny() {
  GptConfig c;
  c.vocab_size = 11;
  c.context_length = 6;
  c.layers = 2;
  c.heads = 2;
  c.embed_dim = 8;
  return c;
}

TEST(GptTest, LayoutCoversTheBufferInBackwardOrder) {
  auto gpt = Gpt::Make(Tiny());
  ASSERT_TRUE(gpt.ok()) << gpt.status().ToString();
  const auto& tensors = (*gpt)->Tensors();
  EXPECT_EQ((*gpt)->num_params(), GptParameterCount(Tiny()));
  int64_t next = 0;
  for (const ParamTensor& t : tensors) {
    EXPECT_EQ(t.offset, next) << t.name;
    next += t.size;
  }
  EXPECT_EQ(next, (*gpt)->num_params());
  EXPECT_EQ(tensors.front().name, "wte.weight");
  EXPECT_EQ(tensors[2].name, "h.0.ln_1.weight");
  EXPECT_EQ(tensors.back().name, "ln_f.bias");
  EXPECT_EQ(tensors[4].shape, (std::vector<int64_t>{24, 8}));  // c_attn [3C, C]
}

TEST(GptTest, ConfigErrorsNameTheField) {
  GptConfig c = Tiny();
  c.heads = 3;
  EXPECT_NE(ValidateGptConfig(c).message().find("divisible by heads"), std::string::npos);
  c = Tiny();
  c.vocab_size = 0;
  EXPECT_NE(ValidateGptConfig(c).message().find("vocabSize"), std::string::npos);
}

TEST(GptTest, InitIsDeterministicAndGpt2Like) {
  auto gpt = Gpt::Make(Tiny());
  ASSERT_TRUE(gpt.ok());
  std::vector<float> a((*gpt)->num_params()), b(a.size());
  (*gpt)->InitParams(7, a.data());
  (*gpt)->InitParams(7, b.data());
  EXPECT_EQ(a, b);
  for (const ParamTensor& t : (*gpt)->Tensors()) {
    if (t.name == "h.0.ln_1.weight") {
      EXPECT_EQ(a[t.offset], 1.0f);
    }
    if (t.name == "h.0.ln_1.bias") {
      EXPECT_EQ(a[t.offset], 0.0f);
    }
  }
}

// Every gradient entry against a central difference of the loss the model itself computes.
TEST(GptTest, BackwardMatchesFiniteDifferences) {
  const GptConfig config = Tiny();
  auto made = Gpt::Make(config);
  ASSERT_TRUE(made.ok());
  Gpt& gpt = **made;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> params(gpt.num_params());
  for (float& p : params) p = u(rng);  // larger than GPT-2's init, so that gradients are sizeable
  const int B = 2, T = 5;
  std::vector<int32_t> tokens(B * T), targets(B * T);
  for (int i = 0; i < B * T; ++i) {
    tokens[i] = static_cast<int32_t>(rng() % config.vocab_size);
    targets[i] = static_cast<int32_t>(rng() % config.vocab_size);
  }
  std::vector<float> grads(params.size());
  double loss = 0;
  std::vector<int64_t> ready;
  ASSERT_TRUE(gpt.ForwardBackward(params.data(), tokens.data(), targets.data(), B, T, 1.0f,
                                  grads.data(), &loss, [&](int64_t from) { ready.push_back(from); })
                  .ok());
  ASSERT_FALSE(ready.empty());
  EXPECT_EQ(ready.back(), 0);
  for (size_t i = 1; i < ready.size(); ++i) EXPECT_LT(ready[i], ready[i - 1]);
  double again = 0;
  ASSERT_TRUE(gpt.Evaluate(params.data(), tokens.data(), targets.data(), B, T, &again).ok());
  EXPECT_EQ(again, loss);
  int checked = 0, bad = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const float keep = params[i];
    const float h = 1e-2f;
    double plus = 0, minus = 0;
    params[i] = keep + h;
    ASSERT_TRUE(gpt.Evaluate(params.data(), tokens.data(), targets.data(), B, T, &plus).ok());
    params[i] = keep - h;
    ASSERT_TRUE(gpt.Evaluate(params.data(), tokens.data(), targets.data(), B, T, &minus).ok());
    params[i] = keep;
    const double numeric = (plus - minus) / (2.0 * h);
    const double tol = 2e-3 + 2e-2 * std::fabs(numeric);
    ++checked;
    if (std::fabs(numeric - grads[i]) > tol) {
      if (++bad <= 10)
        ADD_FAILURE() << "param " << i << ": analytic " << grads[i] << " numeric " << numeric;
    }
  }
  EXPECT_EQ(bad, 0) << "of " << checked;
}

TEST(GptTest, RefusesTokensOutsideTheVocabularyNamingThePosition) {
  auto gpt = Gpt::Make(Tiny());
  ASSERT_TRUE(gpt.ok());
  std::vector<float> params((*gpt)->num_params(), 0.1f), grads(params.size());
  std::vector<int32_t> tokens = {1, 2, 3, 11}, targets = {1, 2, 3, 4};
  double loss = 0;
  Status st = (*gpt)->ForwardBackward(params.data(), tokens.data(), targets.data(), 1, 4, 1.0f,
                                      grads.data(), &loss);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("token 11 at sequence 0, position 3"), std::string::npos)
      << st.message();
  EXPECT_FALSE((*gpt)->Logits(params.data(), tokens.data(), 1, 7).ok());  // T > contextLength
}

}  // namespace
}  // namespace shoal
