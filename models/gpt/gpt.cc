#include "models/gpt/gpt.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "common/spec/enums.h"
#include "kernels/cpu/bias_activation.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/softmax_cross_entropy.h"
#include "kernels/cpu/transformer.h"

namespace shoal {

namespace {

// y[N, OC] = x[N, IC] . w[OC, IC]^T (+ beta * y).
Status Linear(const float* x, const float* w, int N, int IC, int OC, float* y, float beta = 0.0f) {
  return cpu::Gemm(false, true, N, OC, IC, 1.0f, x, IC, w, IC, beta, y, OC);
}

// dw[OC, IC] += dy[N, OC]^T . x[N, IC]
Status LinearWeightGrad(const float* dy, const float* x, int N, int IC, int OC, float* dw) {
  return cpu::Gemm(true, false, OC, IC, N, 1.0f, dy, OC, x, IC, 1.0f, dw, IC);
}

// dx[N, IC] = dy[N, OC] . w[OC, IC]
Status LinearInputGrad(const float* dy, const float* w, int N, int IC, int OC, float* dx) {
  return cpu::Gemm(false, false, N, IC, OC, 1.0f, dy, OC, w, IC, 0.0f, dx, IC);
}

// dbias[n] += sum_rows dy[r, n]: BiasGrad overwrites, and a bias gets gradient once per step, so
// it writes into a zeroed buffer.
Status BiasGradInto(const float* dy, int N, int n, float* dbias) {
  return cpu::BiasGrad(dy, N, n, dbias);
}

}  // namespace

Status ValidateGptConfig(const GptConfig& c) {
  auto positive = [](int v, const char* name) -> Status {
    if (v <= 0)
      return InvalidArgument(std::string(name) + " must be positive, got " + std::to_string(v));
    return Status::Ok();
  };
  RETURN_IF_ERROR(positive(c.vocab_size, "vocabSize"));
  RETURN_IF_ERROR(positive(c.context_length, "contextLength"));
  RETURN_IF_ERROR(positive(c.layers, "layers"));
  RETURN_IF_ERROR(positive(c.heads, "heads"));
  RETURN_IF_ERROR(positive(c.embed_dim, "embedDim"));
  if (c.embed_dim % c.heads != 0) {
    return InvalidArgument("embedDim " + std::to_string(c.embed_dim) +
                           " is not divisible by heads " + std::to_string(c.heads));
  }
  // Every GEMM dimension (4C, V) must fit an int; the parameter count an int64 comfortably.
  if (c.embed_dim > (1 << 16) || c.vocab_size > (1 << 24) || c.context_length > (1 << 20) ||
      c.layers > 4096) {
    return InvalidArgument(
        "model too large: embedDim <= 65536, vocabSize <= 2^24, contextLength "
        "<= 2^20 and layers <= 4096");
  }
  return Status::Ok();
}

int64_t GptParameterCount(const GptConfig& c) {
  const int64_t C = c.embed_dim;
  return int64_t{c.vocab_size} * C + int64_t{c.context_length} * C +
         int64_t{c.layers} * (12 * C * C + 13 * C) + 2 * C;
}

Result<std::unique_ptr<Gpt>> Gpt::Make(const GptConfig& config) {
  RETURN_IF_ERROR(ValidateGptConfig(config));
  return std::unique_ptr<Gpt>(new Gpt(config));
}

Gpt::Gpt(const GptConfig& config) : config_(config) {
  const int64_t C = config.embed_dim;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    int64_t size = 1;
    for (int64_t d : shape) size *= d;
    tensors_.push_back({std::move(name), std::move(shape), num_params_, size});
    num_params_ += size;
    return tensors_.back().offset;
  };
  wte_ = add("wte.weight", {config.vocab_size, C});
  wpe_ = add("wpe.weight", {config.context_length, C});
  for (int l = 0; l < config.layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    Block b{};
    b.ln1_w = add(p + "ln_1.weight", {C});
    b.ln1_b = add(p + "ln_1.bias", {C});
    b.qkv_w = add(p + "attn.c_attn.weight", {3 * C, C});
    b.qkv_b = add(p + "attn.c_attn.bias", {3 * C});
    b.proj_w = add(p + "attn.c_proj.weight", {C, C});
    b.proj_b = add(p + "attn.c_proj.bias", {C});
    b.ln2_w = add(p + "ln_2.weight", {C});
    b.ln2_b = add(p + "ln_2.bias", {C});
    b.fc_w = add(p + "mlp.c_fc.weight", {4 * C, C});
    b.fc_b = add(p + "mlp.c_fc.bias", {4 * C});
    b.fcproj_w = add(p + "mlp.c_proj.weight", {C, 4 * C});
    b.fcproj_b = add(p + "mlp.c_proj.bias", {C});
    blocks_.push_back(b);
  }
  lnf_w_ = add("ln_f.weight", {C});
  lnf_b_ = add("ln_f.bias", {C});
}

void Gpt::InitParams(uint64_t seed, float* params) const {
  std::mt19937_64 rng(seed);
  // Box-Muller over our own uniform mapping: std::normal_distribution differs between standard
  // libraries, and every rank must start bit-identical.
  auto uniform01 = [&rng]() { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
  auto normal = [&](float* out, int64_t n, double std) {
    for (int64_t i = 0; i < n; ++i) {
      const double r = std::sqrt(-2.0 * std::log(uniform01()));
      out[i] = static_cast<float>(std * r * std::cos(2.0 * M_PI * uniform01()));
    }
  };
  const double residual_std = 0.02 / std::sqrt(2.0 * config_.layers);
  for (const ParamTensor& t : tensors_) {
    float* p = params + t.offset;
    const std::string& n = t.name;
    if (n.ends_with(".bias")) {
      std::fill(p, p + t.size, 0.0f);
    } else if (n.find("ln_") != std::string::npos) {
      std::fill(p, p + t.size, 1.0f);
    } else if (n == "wpe.weight") {
      normal(p, t.size, 0.01);
    } else if (n.ends_with("c_proj.weight")) {
      normal(p, t.size, residual_std);
    } else {
      normal(p, t.size, 0.02);
    }
  }
}

Status Gpt::CheckInputs(const float* params, const int32_t* tokens, const int32_t* targets, int B,
                        int T) const {
  if (params == nullptr || tokens == nullptr) return InvalidArgument("null params or tokens");
  if (B <= 0 || T <= 0 || T > config_.context_length) {
    return InvalidArgument("batch " + std::to_string(B) + " x " + std::to_string(T) +
                           " tokens: need B >= 1 and 1 <= T <= contextLength " +
                           std::to_string(config_.context_length));
  }
  if (int64_t{B} * T * std::max(config_.vocab_size, 4 * config_.embed_dim) >
      std::numeric_limits<int32_t>::max()) {
    return InvalidArgument("batch too large: B * T * max(vocabSize, 4 * embedDim) must fit 2^31");
  }
  const int64_t n = int64_t{B} * T;
  for (int64_t i = 0; i < n; ++i) {
    for (const int32_t* ids : {tokens, targets}) {
      if (ids != nullptr && (ids[i] < 0 || ids[i] >= config_.vocab_size)) {
        return InvalidArgument(std::string(ids == tokens ? "token" : "target") + " " +
                               std::to_string(ids[i]) + " at sequence " + std::to_string(i / T) +
                               ", position " + std::to_string(i % T) + " is outside [0, " +
                               std::to_string(config_.vocab_size) + ")");
      }
    }
  }
  return Status::Ok();
}

void Gpt::EnsureScratch(int B, int T) {
  const int64_t N = int64_t{B} * T;
  if (N <= scratch_rows_ && B <= scratch_b_ && T <= scratch_t_) return;
  scratch_rows_ = std::max(N, scratch_rows_);
  scratch_b_ = std::max(B, scratch_b_);
  scratch_t_ = std::max(T, scratch_t_);
  const int64_t rows = scratch_rows_;
  const int64_t C = config_.embed_dim, NH = config_.heads;
  const int64_t att = int64_t{scratch_b_} * NH * scratch_t_ * scratch_t_;
  acts_.resize(config_.layers);
  for (BlockActs& a : acts_) {
    for (auto* v : {&a.x, &a.ln1, &a.atty, &a.x2, &a.ln2}) v->resize(rows * C);
    for (auto* v : {&a.ln1_mean, &a.ln1_rstd, &a.ln2_mean, &a.ln2_rstd}) v->resize(rows);
    a.qkv.resize(rows * 3 * C);
    a.att.resize(att);
    a.fc_pre.resize(rows * 4 * C);
    a.fc_act.resize(rows * 4 * C);
  }
  for (auto* v : {&x_final_, &lnf_, &dres_, &dbuf_, &datty_}) v->resize(rows * C);
  lnf_mean_.resize(rows);
  lnf_rstd_.resize(rows);
  logits_.resize(rows * config_.vocab_size);
  dbuf4_.resize(rows * 4 * C);
  dqkv_.resize(rows * 3 * C);
  datt_.resize(att);
}

Status Gpt::Forward(const float* params, const int32_t* tokens, int B, int T) {
  EnsureScratch(B, T);
  const int N = B * T, C = config_.embed_dim, V = config_.vocab_size, NH = config_.heads;
  RETURN_IF_ERROR(
      cpu::EmbeddingForward(tokens, params + wte_, params + wpe_, B, T, C, V, acts_[0].x.data()));
  for (int l = 0; l < config_.layers; ++l) {
    const Block& w = blocks_[l];
    BlockActs& a = acts_[l];
    float* out = l + 1 < config_.layers ? acts_[l + 1].x.data() : x_final_.data();
    RETURN_IF_ERROR(cpu::LayerNormForward(a.x.data(), params + w.ln1_w, params + w.ln1_b, N, C,
                                          a.ln1.data(), a.ln1_mean.data(), a.ln1_rstd.data()));
    RETURN_IF_ERROR(Linear(a.ln1.data(), params + w.qkv_w, N, C, 3 * C, a.qkv.data()));
    RETURN_IF_ERROR(cpu::BiasForward(a.qkv.data(), params + w.qkv_b, N, 3 * C, a.qkv.data()));
    RETURN_IF_ERROR(cpu::AttentionForward(a.qkv.data(), B, T, C, NH, a.atty.data(), a.att.data()));
    // x2 = x + atty . proj^T + proj_b (the projection lands in x2, then the residual is added).
    RETURN_IF_ERROR(Linear(a.atty.data(), params + w.proj_w, N, C, C, a.x2.data()));
    RETURN_IF_ERROR(cpu::BiasForward(a.x2.data(), params + w.proj_b, N, C, a.x2.data()));
    RETURN_IF_ERROR(cpu::ResidualForward(a.x.data(), a.x2.data(), int64_t{N} * C, a.x2.data()));
    RETURN_IF_ERROR(cpu::LayerNormForward(a.x2.data(), params + w.ln2_w, params + w.ln2_b, N, C,
                                          a.ln2.data(), a.ln2_mean.data(), a.ln2_rstd.data()));
    RETURN_IF_ERROR(Linear(a.ln2.data(), params + w.fc_w, N, C, 4 * C, a.fc_pre.data()));
    RETURN_IF_ERROR(cpu::BiasActivationForward(a.fc_pre.data(), params + w.fc_b, N, 4 * C,
                                               Activation::kGelu, a.fc_pre.data(),
                                               a.fc_act.data()));
    RETURN_IF_ERROR(Linear(a.fc_act.data(), params + w.fcproj_w, N, 4 * C, C, out));
    RETURN_IF_ERROR(cpu::BiasForward(out, params + w.fcproj_b, N, C, out));
    RETURN_IF_ERROR(cpu::ResidualForward(a.x2.data(), out, int64_t{N} * C, out));
  }
  RETURN_IF_ERROR(cpu::LayerNormForward(x_final_.data(), params + lnf_w_, params + lnf_b_, N, C,
                                        lnf_.data(), lnf_mean_.data(), lnf_rstd_.data()));
  // Tied output projection: logits = lnf . wte^T.
  return Linear(lnf_.data(), params + wte_, N, C, V, logits_.data());
}

Status Gpt::ForwardBackward(const float* params, const int32_t* tokens, const int32_t* targets,
                            int B, int T, float grad_scale, float* grads, double* loss_sum,
                            const std::function<void(int64_t)>& on_ready, int64_t* correct_out) {
  RETURN_IF_ERROR(CheckInputs(params, tokens, targets, B, T));
  if (targets == nullptr || grads == nullptr || loss_sum == nullptr) {
    return InvalidArgument("null targets, grads or loss_sum");
  }
  RETURN_IF_ERROR(Forward(params, tokens, B, T));
  const int N = B * T, C = config_.embed_dim, V = config_.vocab_size, NH = config_.heads;
  std::fill(grads, grads + num_params_, 0.0f);
  int64_t correct = 0;
  // dlogits in place of the logits.
  RETURN_IF_ERROR(cpu::SoftmaxCrossEntropy(logits_.data(), targets, N, V, grad_scale,
                                           logits_.data(), loss_sum, &correct));
  if (correct_out != nullptr) *correct_out = correct;
  const float* dlogits = logits_.data();
  RETURN_IF_ERROR(LinearWeightGrad(dlogits, lnf_.data(), N, C, V, grads + wte_));
  RETURN_IF_ERROR(LinearInputGrad(dlogits, params + wte_, N, C, V, dbuf_.data()));
  std::fill(dres_.begin(), dres_.begin() + int64_t{N} * C, 0.0f);
  RETURN_IF_ERROR(cpu::LayerNormBackward(dbuf_.data(), x_final_.data(), params + lnf_w_,
                                         lnf_mean_.data(), lnf_rstd_.data(), N, C, dres_.data(),
                                         grads + lnf_w_, grads + lnf_b_));
  if (on_ready) on_ready(lnf_w_);
  for (int l = config_.layers - 1; l >= 0; --l) {
    const Block& w = blocks_[l];
    BlockActs& a = acts_[l];
    // dres_ holds d(block output) = d(x2) through the MLP's residual, and d(fcproj output).
    RETURN_IF_ERROR(
        LinearWeightGrad(dres_.data(), a.fc_act.data(), N, 4 * C, C, grads + w.fcproj_w));
    RETURN_IF_ERROR(BiasGradInto(dres_.data(), N, C, grads + w.fcproj_b));
    RETURN_IF_ERROR(LinearInputGrad(dres_.data(), params + w.fcproj_w, N, 4 * C, C, dbuf4_.data()));
    RETURN_IF_ERROR(cpu::ActivationBackwardBiasGrad(dbuf4_.data(), a.fc_pre.data(), N, 4 * C,
                                                    Activation::kGelu, dbuf4_.data(),
                                                    grads + w.fc_b));
    RETURN_IF_ERROR(LinearWeightGrad(dbuf4_.data(), a.ln2.data(), N, C, 4 * C, grads + w.fc_w));
    RETURN_IF_ERROR(LinearInputGrad(dbuf4_.data(), params + w.fc_w, N, C, 4 * C, dbuf_.data()));
    RETURN_IF_ERROR(cpu::LayerNormBackward(dbuf_.data(), a.x2.data(), params + w.ln2_w,
                                           a.ln2_mean.data(), a.ln2_rstd.data(), N, C, dres_.data(),
                                           grads + w.ln2_w, grads + w.ln2_b));
    // dres_ = d(x2): through the attention's residual, and into the attention projection.
    RETURN_IF_ERROR(LinearWeightGrad(dres_.data(), a.atty.data(), N, C, C, grads + w.proj_w));
    RETURN_IF_ERROR(BiasGradInto(dres_.data(), N, C, grads + w.proj_b));
    RETURN_IF_ERROR(LinearInputGrad(dres_.data(), params + w.proj_w, N, C, C, datty_.data()));
    std::fill(dqkv_.begin(), dqkv_.begin() + int64_t{N} * 3 * C, 0.0f);
    RETURN_IF_ERROR(cpu::AttentionBackward(datty_.data(), a.qkv.data(), a.att.data(), B, T, C, NH,
                                           dqkv_.data(), datt_.data()));
    RETURN_IF_ERROR(LinearWeightGrad(dqkv_.data(), a.ln1.data(), N, C, 3 * C, grads + w.qkv_w));
    RETURN_IF_ERROR(BiasGradInto(dqkv_.data(), N, 3 * C, grads + w.qkv_b));
    RETURN_IF_ERROR(LinearInputGrad(dqkv_.data(), params + w.qkv_w, N, C, 3 * C, dbuf_.data()));
    RETURN_IF_ERROR(cpu::LayerNormBackward(dbuf_.data(), a.x.data(), params + w.ln1_w,
                                           a.ln1_mean.data(), a.ln1_rstd.data(), N, C, dres_.data(),
                                           grads + w.ln1_w, grads + w.ln1_b));
    if (on_ready) on_ready(w.ln1_w);
  }
  RETURN_IF_ERROR(
      cpu::EmbeddingBackward(dres_.data(), tokens, B, T, C, V, grads + wte_, grads + wpe_));
  if (on_ready) on_ready(0);
  return Status::Ok();
}

Status Gpt::Evaluate(const float* params, const int32_t* tokens, const int32_t* targets, int B,
                     int T, double* loss_sum, int64_t* correct_out) {
  RETURN_IF_ERROR(CheckInputs(params, tokens, targets, B, T));
  if (targets == nullptr || loss_sum == nullptr) return InvalidArgument("null targets or loss_sum");
  RETURN_IF_ERROR(Forward(params, tokens, B, T));
  int64_t correct = 0;
  RETURN_IF_ERROR(cpu::SoftmaxCrossEntropy(logits_.data(), targets, B * T, config_.vocab_size,
                                           1.0f, nullptr, loss_sum, &correct));
  if (correct_out != nullptr) *correct_out = correct;
  return Status::Ok();
}

Result<const float*> Gpt::Logits(const float* params, const int32_t* tokens, int B, int T) {
  RETURN_IF_ERROR(CheckInputs(params, tokens, nullptr, B, T));
  RETURN_IF_ERROR(Forward(params, tokens, B, T));
  return static_cast<const float*>(logits_.data());
}

}  // namespace shoal
