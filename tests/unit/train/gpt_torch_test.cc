// shoal's GPT (models/gpt/gpt.h) against PyTorch on a committed fixture (tests/data/gpt/
// tiny_gpt.safetensors, made by tests/data/gpt/make_fixture.py with Debian's python3-torch): the
// logits, the loss, every parameter's gradient, and the losses of 10 AdamW steps -- the llm.c
// test_gpt2 discipline.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/safetensors.h"
#include "kernels/cpu/optimizer.h"
#include "models/gpt/gpt.h"

namespace shoal {
namespace {

std::string FixturePath() {
  return std::string(SHOAL_SOURCE_DIR) + "/tests/data/gpt/tiny_gpt.safetensors";
}

// max |a - b| / max |b|: one relative error for a whole tensor (entries near 0 would make a
// per-entry relative error meaningless).
double RelativeError(const float* a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-12;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return diff / scale;
}

class GptTorchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto file = ReadSafetensors(FixturePath(), 64 << 20);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    fixture_ = std::move(*file);
    const nlohmann::json c = nlohmann::json::parse(fixture_.metadata.at("config"));
    config_.vocab_size = c["vocabSize"];
    config_.context_length = c["contextLength"];
    config_.layers = c["layers"];
    config_.heads = c["heads"];
    config_.embed_dim = c["embedDim"];
    B_ = c["B"];
    T_ = c["T"];
    auto gpt = Gpt::Make(config_);
    ASSERT_TRUE(gpt.ok()) << gpt.status().ToString();
    gpt_ = std::move(*gpt);
    params_.resize(gpt_->num_params());
    for (const ParamTensor& t : gpt_->Tensors()) {
      const Tensor& src = fixture_.tensors.at("param." + t.name);
      ASSERT_EQ(src.shape, t.shape) << t.name;
      std::copy(src.data.begin(), src.data.end(), params_.begin() + t.offset);
    }
    for (const char* name : {"tokens", "targets"}) {
      auto& out = std::string(name) == "tokens" ? tokens_ : targets_;
      for (float v : fixture_.tensors.at(name).data) out.push_back(static_cast<int32_t>(v));
    }
  }
  const std::vector<float>& Ref(const std::string& name) const {
    return fixture_.tensors.at(name).data;
  }

  SafetensorsFile fixture_;
  GptConfig config_;
  int B_ = 0, T_ = 0;
  std::unique_ptr<Gpt> gpt_;
  std::vector<float> params_;
  std::vector<int32_t> tokens_, targets_;
};

TEST_F(GptTorchTest, LogitsLossAndEveryGradientMatch) {
  auto logits = gpt_->Logits(params_.data(), tokens_.data(), B_, T_);
  ASSERT_TRUE(logits.ok()) << logits.status().ToString();
  const double logits_error = RelativeError(*logits, Ref("logits"));
  EXPECT_LT(logits_error, 1e-5);

  const int N = B_ * T_;
  std::vector<float> grads(params_.size());
  double loss_sum = 0;
  ASSERT_TRUE(gpt_->ForwardBackward(params_.data(), tokens_.data(), targets_.data(), B_, T_,
                                    1.0f / N, grads.data(), &loss_sum)
                  .ok());
  const double loss = loss_sum / N;
  EXPECT_NEAR(loss, Ref("loss")[0], 1e-5 * Ref("loss")[0]);
  double worst = 0;
  for (const ParamTensor& t : gpt_->Tensors()) {
    const double error = RelativeError(grads.data() + t.offset, Ref("grad." + t.name));
    EXPECT_LT(error, 1e-4) << t.name;
    worst = std::max(worst, error);
  }
  std::cout << "vs PyTorch: logits " << logits_error << ", loss " << loss << " vs "
            << Ref("loss")[0] << ", worst gradient tensor " << worst << " (relative)\n";
}

TEST_F(GptTorchTest, TenAdamWStepsFollowTheSameLosses) {
  const int N = B_ * T_;
  const int64_t n = gpt_->num_params();
  std::vector<float> grads(n), m(n, 0.0f), v(n, 0.0f);
  const std::vector<float>& expected = Ref("adamw_losses");
  for (int step = 1; step <= static_cast<int>(expected.size()); ++step) {
    double loss_sum = 0;
    ASSERT_TRUE(gpt_->ForwardBackward(params_.data(), tokens_.data(), targets_.data(), B_, T_,
                                      1.0f / N, grads.data(), &loss_sum)
                    .ok());
    EXPECT_NEAR(loss_sum / N, expected[step - 1], 1e-4 * expected[step - 1]) << "step " << step;
    if (step == static_cast<int>(expected.size())) {
      std::cout << "step " << step << " loss " << loss_sum / N << " vs PyTorch "
                << expected[step - 1] << "\n";
    }
    cpu::AdamWUpdate(params_.data(), grads.data(), m.data(), v.data(), n, 1e-2f, 0.9f, 0.999f,
                     1e-8f, 0.1f, step);
  }
}

}  // namespace
}  // namespace shoal
