#include "models/gpt/gpu_gpt.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "kernels/cuda/bias_activation.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/softmax_cross_entropy.h"
#include "kernels/cuda/transformer.h"

namespace shoal {

static_assert(sizeof(int64_t) == sizeof(double) && alignof(int64_t) <= alignof(double),
              "scalars_ stores the int64 correct count in a double-sized slot");

namespace {

// The three products of a linear layer, exactly as gpt.cc's helpers (weights [OC, IC]).
// y[N, OC] = x[N, IC] . w[OC, IC]^T
Status Linear(Precision p, const float* x, const float* w, int N, int IC, int OC, float* y,
              cudaStream_t s) {
  return cuda::Gemm(p, false, true, N, OC, IC, 1.0f, x, IC, w, IC, 0.0f, y, OC, s);
}

// dw[OC, IC] += dy[N, OC]^T . x[N, IC]
Status LinearWeightGrad(Precision p, const float* dy, const float* x, int N, int IC, int OC,
                        float* dw, cudaStream_t s) {
  return cuda::Gemm(p, true, false, OC, IC, N, 1.0f, dy, OC, x, IC, 1.0f, dw, IC, s);
}

// dx[N, IC] = dy[N, OC] . w[OC, IC]
Status LinearInputGrad(Precision p, const float* dy, const float* w, int N, int IC, int OC,
                       float* dx, cudaStream_t s) {
  return cuda::Gemm(p, false, false, N, IC, OC, 1.0f, dy, OC, w, IC, 0.0f, dx, IC, s);
}

Status Zero(float* d, int64_t n, cudaStream_t s) {
  SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(d, 0, static_cast<size_t>(n) * sizeof(float), s));
  return Status::Ok();
}

}  // namespace

GpuGpt::GpuGpt(std::unique_ptr<Gpt> layout, Precision precision, cudaStream_t stream)
    : layout_(std::move(layout)), precision_(precision), stream_(stream) {}

Result<std::unique_ptr<GpuGpt>> GpuGpt::Create(const GptConfig& config, Precision precision,
                                               cudaStream_t stream) {
  if (precision != Precision::kFp32 && precision != Precision::kTf32 &&
      precision != Precision::kBf16) {
    return InvalidArgument("GpuGpt::Create: unknown precision " +
                           std::to_string(static_cast<int>(precision)));
  }
  auto layout = Gpt::Make(config);
  if (!layout.ok()) return layout.status().WithContext("GpuGpt::Create");
  // Not make_unique: the constructor is private.
  std::unique_ptr<GpuGpt> gpt(new GpuGpt(std::move(*layout), precision, stream));
  RETURN_IF_ERROR(gpt->LocateTensors());
  RETURN_IF_ERROR(gpt->scalars_.Allocate(2).WithContext("GpuGpt::Create"));
  return gpt;
}

Status GpuGpt::LocateTensors() {
  std::map<std::string, int64_t> offset;
  for (const ParamTensor& t : layout_->Tensors()) offset[t.name] = t.offset;
  // The names are Gpt's (and PyTorch's); a missing one would be a layout change in gpt.cc.
  auto at = [&](const std::string& name, int64_t* out) -> Status {
    const auto it = offset.find(name);
    if (it == offset.end()) return Internal("GpuGpt: Gpt has no tensor " + name);
    *out = it->second;
    return Status::Ok();
  };
  RETURN_IF_ERROR(at("wte.weight", &wte_));
  RETURN_IF_ERROR(at("wpe.weight", &wpe_));
  RETURN_IF_ERROR(at("ln_f.weight", &lnf_w_));
  RETURN_IF_ERROR(at("ln_f.bias", &lnf_b_));
  blocks_.resize(config().layers);
  for (int l = 0; l < config().layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    Block& b = blocks_[l];
    RETURN_IF_ERROR(at(p + "ln_1.weight", &b.ln1_w));
    RETURN_IF_ERROR(at(p + "ln_1.bias", &b.ln1_b));
    RETURN_IF_ERROR(at(p + "attn.c_attn.weight", &b.qkv_w));
    RETURN_IF_ERROR(at(p + "attn.c_attn.bias", &b.qkv_b));
    RETURN_IF_ERROR(at(p + "attn.c_proj.weight", &b.proj_w));
    RETURN_IF_ERROR(at(p + "attn.c_proj.bias", &b.proj_b));
    RETURN_IF_ERROR(at(p + "ln_2.weight", &b.ln2_w));
    RETURN_IF_ERROR(at(p + "ln_2.bias", &b.ln2_b));
    RETURN_IF_ERROR(at(p + "mlp.c_fc.weight", &b.fc_w));
    RETURN_IF_ERROR(at(p + "mlp.c_fc.bias", &b.fc_b));
    RETURN_IF_ERROR(at(p + "mlp.c_proj.weight", &b.fcproj_w));
    RETURN_IF_ERROR(at(p + "mlp.c_proj.bias", &b.fcproj_b));
  }
  return Status::Ok();
}

Status GpuGpt::CheckTokenArgs(const char* op, const float* d_params, const int32_t* d_tokens, int B,
                              int T) const {
  if (d_params == nullptr || d_tokens == nullptr) {
    return InvalidArgument(std::string(op) + ": null params or tokens");
  }
  const GptConfig& c = config();
  if (B <= 0 || T <= 0 || T > c.context_length) {
    return InvalidArgument(std::string(op) + ": batch " + std::to_string(B) + " x " +
                           std::to_string(T) + " tokens: need B >= 1 and 1 <= T <= contextLength " +
                           std::to_string(c.context_length));
  }
  // Gpt's bound: every GEMM and kernel index below stays within int.
  if (int64_t{B} * T * std::max(c.vocab_size, 4 * c.embed_dim) >
      std::numeric_limits<int32_t>::max()) {
    return InvalidArgument(std::string(op) +
                           ": batch too large: B * T * max(vocabSize, 4 * embedDim) must fit 2^31");
  }
  return Status::Ok();
}

Status GpuGpt::EnsureScratch(int B, int T) {
  const int64_t N = int64_t{B} * T;
  if (N <= scratch_rows_ && B <= scratch_b_ && T <= scratch_t_) return Status::Ok();
  const int64_t rows = std::max(N, scratch_rows_);
  const int b_max = std::max(B, scratch_b_), t_max = std::max(T, scratch_t_);
  // Until the new arena is carved, nothing may claim the old (freed) one.
  scratch_rows_ = 0;
  scratch_b_ = scratch_t_ = 0;
  const int64_t C = config().embed_dim, NH = config().heads, V = config().vocab_size;
  const int64_t att = int64_t{b_max} * NH * t_max * t_max;

  // Two passes over the same list: sizes first, then pointers. Each buffer starts on a 256-byte
  // boundary so the GEMMs' vectorized loads apply.
  std::vector<std::pair<float**, int64_t>> parts;
  acts_.assign(config().layers, BlockActs{});
  for (BlockActs& a : acts_) {
    for (float** p : {&a.x, &a.ln1, &a.atty, &a.x2, &a.ln2}) parts.push_back({p, rows * C});
    for (float** p : {&a.ln1_mean, &a.ln1_rstd, &a.ln2_mean, &a.ln2_rstd}) {
      parts.push_back({p, rows});
    }
    parts.push_back({&a.qkv, rows * 3 * C});
    parts.push_back({&a.att, att});
    parts.push_back({&a.fc_pre, rows * 4 * C});
    parts.push_back({&a.fc_act, rows * 4 * C});
  }
  for (float** p : {&x_final_, &lnf_, &dres_, &dbuf_, &datty_}) parts.push_back({p, rows * C});
  parts.push_back({&lnf_mean_, rows});
  parts.push_back({&lnf_rstd_, rows});
  parts.push_back({&logits_, rows * V});
  parts.push_back({&dbuf4_, rows * 4 * C});
  parts.push_back({&dqkv_, rows * 3 * C});
  parts.push_back({&datt_, att});
  constexpr int64_t kAlign = 64;  // floats
  int64_t total = 0;
  for (const auto& [ptr, n] : parts) total += (n + kAlign - 1) / kAlign * kAlign;
  RETURN_IF_ERROR(arena_.Allocate(static_cast<size_t>(total)));
  int64_t at = 0;
  for (const auto& [ptr, n] : parts) {
    *ptr = arena_.get() + at;
    at += (n + kAlign - 1) / kAlign * kAlign;
  }
  scratch_rows_ = rows;
  scratch_b_ = b_max;
  scratch_t_ = t_max;
  return Status::Ok();
}

Status GpuGpt::StageRowTokens(const float* d_x, int batch) {
  const int64_t n = int64_t{batch} * config().context_length;
  if (static_cast<size_t>(n) > tokens_.size()) {
    RETURN_IF_ERROR(tokens_.Allocate(static_cast<size_t>(n)));
  }
  return cuda::TokensFromFloats(d_x, n, config().vocab_size, tokens_.get(), stream_);
}

Status GpuGpt::Forward(const float* d_params, const int32_t* d_tokens, int B, int T) {
  RETURN_IF_ERROR(EnsureScratch(B, T));
  const int N = B * T, C = config().embed_dim, V = config().vocab_size, NH = config().heads;
  const int64_t NC = int64_t{N} * C;
  const Precision pr = precision_;
  cudaStream_t s = stream_;
  const float* p = d_params;
  RETURN_IF_ERROR(cuda::EmbeddingForward(d_tokens, p + wte_, p + wpe_, B, T, C, V, acts_[0].x, s));
  for (int l = 0; l < config().layers; ++l) {
    const Block& w = blocks_[l];
    const BlockActs& a = acts_[l];
    float* out = l + 1 < config().layers ? acts_[l + 1].x : x_final_;
    RETURN_IF_ERROR(cuda::LayerNormForward(a.x, p + w.ln1_w, p + w.ln1_b, N, C, a.ln1, a.ln1_mean,
                                           a.ln1_rstd, s));
    RETURN_IF_ERROR(Linear(pr, a.ln1, p + w.qkv_w, N, C, 3 * C, a.qkv, s));
    RETURN_IF_ERROR(cuda::BiasForward(a.qkv, p + w.qkv_b, N, 3 * C, a.qkv, s));
    RETURN_IF_ERROR(cuda::AttentionForward(a.qkv, B, T, C, NH, a.atty, a.att, s));
    // x2 = x + atty . proj^T + proj_b (the projection lands in x2, then the residual is added).
    RETURN_IF_ERROR(Linear(pr, a.atty, p + w.proj_w, N, C, C, a.x2, s));
    RETURN_IF_ERROR(cuda::BiasForward(a.x2, p + w.proj_b, N, C, a.x2, s));
    RETURN_IF_ERROR(cuda::ResidualForward(a.x, a.x2, NC, a.x2, s));
    RETURN_IF_ERROR(cuda::LayerNormForward(a.x2, p + w.ln2_w, p + w.ln2_b, N, C, a.ln2, a.ln2_mean,
                                           a.ln2_rstd, s));
    RETURN_IF_ERROR(Linear(pr, a.ln2, p + w.fc_w, N, C, 4 * C, a.fc_pre, s));
    RETURN_IF_ERROR(cuda::BiasActivationForward(a.fc_pre, p + w.fc_b, N, 4 * C, Activation::kGelu,
                                                a.fc_pre, a.fc_act, s));
    RETURN_IF_ERROR(Linear(pr, a.fc_act, p + w.fcproj_w, N, 4 * C, C, out, s));
    RETURN_IF_ERROR(cuda::BiasForward(out, p + w.fcproj_b, N, C, out, s));
    RETURN_IF_ERROR(cuda::ResidualForward(a.x2, out, NC, out, s));
  }
  RETURN_IF_ERROR(cuda::LayerNormForward(x_final_, p + lnf_w_, p + lnf_b_, N, C, lnf_, lnf_mean_,
                                         lnf_rstd_, s));
  // Tied output projection: logits = lnf . wte^T.
  return Linear(pr, lnf_, p + wte_, N, C, V, logits_, s);
}

Status GpuGpt::Backward(const float* d_params, const int32_t* d_tokens, const int32_t* d_targets,
                        int B, int T, float grad_scale, float* d_grads,
                        const GradsEnqueued& on_enqueued) {
  const int N = B * T, C = config().embed_dim, V = config().vocab_size, NH = config().heads;
  const int64_t NC = int64_t{N} * C;
  const Precision pr = precision_;
  cudaStream_t s = stream_;
  const float* p = d_params;
  float* g = d_grads;
  // Every gradient below accumulates (GEMMs with beta 1, LayerNorm, attention, embedding), as on
  // the CPU; the bias gradients overwrite their (zeroed) slices.
  RETURN_IF_ERROR(Zero(g, num_params(), s));
  // dlogits in place of the logits; the loss sum and correct count land in scalars_.
  RETURN_IF_ERROR(cuda::SoftmaxCrossEntropy(logits_, d_targets, N, V, grad_scale, logits_,
                                            scalars_.get(),
                                            reinterpret_cast<int64_t*>(scalars_.get() + 1), s));
  const float* dlogits = logits_;
  // The classifier's share of the tied wte gradient; the embedding's is added last, after every
  // block, by EmbeddingBackward's ordered (atomic-free) additions.
  RETURN_IF_ERROR(LinearWeightGrad(pr, dlogits, lnf_, N, C, V, g + wte_, s));
  RETURN_IF_ERROR(LinearInputGrad(pr, dlogits, p + wte_, N, C, V, dbuf_, s));
  RETURN_IF_ERROR(Zero(dres_, NC, s));
  RETURN_IF_ERROR(cuda::LayerNormBackward(dbuf_, x_final_, p + lnf_w_, lnf_mean_, lnf_rstd_, N, C,
                                          dres_, g + lnf_w_, g + lnf_b_, s));
  if (on_enqueued) RETURN_IF_ERROR(on_enqueued(lnf_w_));
  for (int l = config().layers - 1; l >= 0; --l) {
    const Block& w = blocks_[l];
    const BlockActs& a = acts_[l];
    // dres_ holds d(block output) = d(x2) through the MLP's residual, and d(fcproj output).
    RETURN_IF_ERROR(LinearWeightGrad(pr, dres_, a.fc_act, N, 4 * C, C, g + w.fcproj_w, s));
    RETURN_IF_ERROR(cuda::BiasGrad(dres_, N, C, g + w.fcproj_b, s));
    RETURN_IF_ERROR(LinearInputGrad(pr, dres_, p + w.fcproj_w, N, 4 * C, C, dbuf4_, s));
    // GELU's backward fused with the fc bias gradient (in place: dz may alias dout).
    RETURN_IF_ERROR(cuda::ActivationBackwardBiasGrad(dbuf4_, a.fc_pre, N, 4 * C, Activation::kGelu,
                                                     dbuf4_, g + w.fc_b, s));
    RETURN_IF_ERROR(LinearWeightGrad(pr, dbuf4_, a.ln2, N, C, 4 * C, g + w.fc_w, s));
    RETURN_IF_ERROR(LinearInputGrad(pr, dbuf4_, p + w.fc_w, N, C, 4 * C, dbuf_, s));
    RETURN_IF_ERROR(cuda::LayerNormBackward(dbuf_, a.x2, p + w.ln2_w, a.ln2_mean, a.ln2_rstd, N, C,
                                            dres_, g + w.ln2_w, g + w.ln2_b, s));
    // dres_ = d(x2): through the attention's residual, and into the attention projection.
    RETURN_IF_ERROR(LinearWeightGrad(pr, dres_, a.atty, N, C, C, g + w.proj_w, s));
    RETURN_IF_ERROR(cuda::BiasGrad(dres_, N, C, g + w.proj_b, s));
    RETURN_IF_ERROR(LinearInputGrad(pr, dres_, p + w.proj_w, N, C, C, datty_, s));
    RETURN_IF_ERROR(Zero(dqkv_, int64_t{N} * 3 * C, s));
    RETURN_IF_ERROR(cuda::AttentionBackward(datty_, a.qkv, a.att, B, T, C, NH, dqkv_, datt_, s));
    RETURN_IF_ERROR(LinearWeightGrad(pr, dqkv_, a.ln1, N, C, 3 * C, g + w.qkv_w, s));
    RETURN_IF_ERROR(cuda::BiasGrad(dqkv_, N, 3 * C, g + w.qkv_b, s));
    RETURN_IF_ERROR(LinearInputGrad(pr, dqkv_, p + w.qkv_w, N, C, 3 * C, dbuf_, s));
    RETURN_IF_ERROR(cuda::LayerNormBackward(dbuf_, a.x, p + w.ln1_w, a.ln1_mean, a.ln1_rstd, N, C,
                                            dres_, g + w.ln1_w, g + w.ln1_b, s));
    if (on_enqueued) RETURN_IF_ERROR(on_enqueued(w.ln1_w));
  }
  RETURN_IF_ERROR(cuda::EmbeddingBackward(dres_, d_tokens, B, T, C, V, g + wte_, g + wpe_, s));
  if (on_enqueued) RETURN_IF_ERROR(on_enqueued(0));
  return Status::Ok();
}

Status GpuGpt::ZeroGradients(float* d_grads, const GradsEnqueued& on_enqueued) {
  RETURN_IF_ERROR(Zero(d_grads, num_params(), stream_));
  if (!on_enqueued) return Status::Ok();
  // The same suffixes as a real backward, so a caller's bucketing sees the same sequence.
  RETURN_IF_ERROR(on_enqueued(lnf_w_));
  for (int l = config().layers - 1; l >= 0; --l) RETURN_IF_ERROR(on_enqueued(blocks_[l].ln1_w));
  return on_enqueued(0);
}

Status GpuGpt::FetchScalars(double* loss_sum, int64_t* correct) {
  // Pageable host memory is fine for 16 bytes.
  struct {
    double loss;
    int64_t correct;
  } host{};
  static_assert(sizeof(host) == 2 * sizeof(double));
  SHOAL_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(&host, scalars_.get(), sizeof(host), cudaMemcpyDeviceToHost, stream_));
  SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  *loss_sum = host.loss;
  *correct = host.correct;
  return Status::Ok();
}

Status GpuGpt::ForwardBackwardTokens(const float* d_params, const int32_t* d_tokens,
                                     const int32_t* d_targets, int B, int T, float grad_scale,
                                     float* d_grads, double* loss_sum, int64_t* correct,
                                     const GradsEnqueued& on_enqueued) {
  constexpr const char* kOp = "GpuGpt::ForwardBackward";
  RETURN_IF_ERROR(CheckTokenArgs(kOp, d_params, d_tokens, B, T));
  if (d_targets == nullptr || d_grads == nullptr || loss_sum == nullptr || correct == nullptr) {
    return InvalidArgument(std::string(kOp) + ": null targets, grads, loss_sum or correct");
  }
  RETURN_IF_ERROR(Forward(d_params, d_tokens, B, T).WithContext(kOp));
  RETURN_IF_ERROR(Backward(d_params, d_tokens, d_targets, B, T, grad_scale, d_grads, on_enqueued));
  return FetchScalars(loss_sum, correct).WithContext(kOp);
}

Status GpuGpt::EvaluateTokens(const float* d_params, const int32_t* d_tokens,
                              const int32_t* d_targets, int B, int T, double* loss_sum,
                              int64_t* correct) {
  constexpr const char* kOp = "GpuGpt::Evaluate";
  RETURN_IF_ERROR(CheckTokenArgs(kOp, d_params, d_tokens, B, T));
  if (d_targets == nullptr || loss_sum == nullptr || correct == nullptr) {
    return InvalidArgument(std::string(kOp) + ": null targets, loss_sum or correct");
  }
  RETURN_IF_ERROR(Forward(d_params, d_tokens, B, T).WithContext(kOp));
  RETURN_IF_ERROR(cuda::SoftmaxCrossEntropy(
      logits_, d_targets, B * T, config().vocab_size, 1.0f, nullptr, scalars_.get(),
      reinterpret_cast<int64_t*>(scalars_.get() + 1), stream_));
  return FetchScalars(loss_sum, correct).WithContext(kOp);
}

Result<const float*> GpuGpt::Logits(const float* d_params, const int32_t* d_tokens, int B, int T) {
  RETURN_IF_ERROR(CheckTokenArgs("GpuGpt::Logits", d_params, d_tokens, B, T));
  RETURN_IF_ERROR(Forward(d_params, d_tokens, B, T).WithContext("GpuGpt::Logits"));
  return static_cast<const float*>(logits_);
}

Status GpuGpt::ForwardBackward(const float* d_params, const float* d_x, const int32_t* d_labels,
                               int batch, float grad_scale, float* d_grads, double* loss_sum,
                               int64_t* correct, const GradsEnqueued& on_enqueued) {
  constexpr const char* kOp = "GpuGpt::ForwardBackward";
  if (batch < 0 || d_params == nullptr || d_grads == nullptr || loss_sum == nullptr ||
      correct == nullptr || (batch > 0 && (d_x == nullptr || d_labels == nullptr))) {
    return InvalidArgument(
        std::string(kOp) +
        ": negative batch or null params, x, labels, grads, loss_sum or correct");
  }
  if (batch == 0) {
    RETURN_IF_ERROR(ZeroGradients(d_grads, on_enqueued));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
    *loss_sum = 0.0;
    *correct = 0;
    return Status::Ok();
  }
  const int T = config().context_length;
  RETURN_IF_ERROR(StageRowTokens(d_x, batch).WithContext(kOp));
  double token_loss = 0.0;
  // A row's loss is the mean over its T positions (GptModel).
  RETURN_IF_ERROR(ForwardBackwardTokens(d_params, tokens_.get(), d_labels, batch, T,
                                        grad_scale / static_cast<float>(T), d_grads, &token_loss,
                                        correct, on_enqueued));
  *loss_sum = token_loss / T;
  return Status::Ok();
}

Status GpuGpt::Evaluate(const float* d_params, const float* d_x, const int32_t* d_labels, int batch,
                        double* loss_sum, int64_t* correct) {
  constexpr const char* kOp = "GpuGpt::Evaluate";
  if (batch < 0 || d_params == nullptr || loss_sum == nullptr || correct == nullptr ||
      (batch > 0 && (d_x == nullptr || d_labels == nullptr))) {
    return InvalidArgument(std::string(kOp) +
                           ": negative batch or null params, x, labels, loss_sum or correct");
  }
  if (batch == 0) {
    *loss_sum = 0.0;
    *correct = 0;
    return Status::Ok();
  }
  const int T = config().context_length;
  RETURN_IF_ERROR(StageRowTokens(d_x, batch).WithContext(kOp));
  double token_loss = 0.0;
  RETURN_IF_ERROR(
      EvaluateTokens(d_params, tokens_.get(), d_labels, batch, T, &token_loss, correct));
  *loss_sum = token_loss / T;
  return Status::Ok();
}

}  // namespace shoal
