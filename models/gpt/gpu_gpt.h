// GpuGpt: the GPT-2-style decoder of models/gpt/gpt.h on one CUDA device, built only from the
// hand-written operators of kernels/cuda (transformer.h, gemm.h, bias_activation.h,
// softmax_cross_entropy.h).
//
// Same GptConfig, the same flat parameter/gradient layout (Gpt::Tensors(): wte, wpe, each block,
// ln_f) and the same math in the same order as Gpt, so buffers copy between the two and
// Gpt::InitParams initializes both. Parameters stay fp32 in every precision: `precision` only
// selects the GEMM path (fp32 SIMT, tf32 or bf16 tensor cores with fp32 accumulation).
//
// Two levels, as on the CPU:
//   - the token level (ForwardBackwardTokens, EvaluateTokens, Logits): Gpt's contract on B
//     sequences of T <= contextLength int32 device tokens;
//   - the DeviceModel level (ForwardBackward, Evaluate): GptModel's contract, a row = one window of
//     contextLength token ids carried as floats, labels = its contextLength next tokens, a row's
//     loss = the mean over its positions, *correct counts positions.
//
// Device model: d_* arguments are device pointers; all work is enqueued on the stream given to
// Create, and each ForwardBackward*/Evaluate* call ends with ONE cudaStreamSynchronize (to bring
// the loss sum and correct count back; d_grads is final when it returns). Tokens and labels live
// on the device and are NOT checked on the host: a bad token gives a NaN embedding row and a bad
// label a NaN loss row (see kernels/cuda/transformer.h), so the loss and gradients become NaN
// where Gpt would return InvalidArgument.
//
// Determinism: no operator uses atomics for gradients (the loss sum alone is accumulated with
// atomics, see cuda::SoftmaxCrossEntropy), so gradients are bit-identical run to run; the tied wte
// gradient is the classifier's GEMM followed by the embedding backward's ordered additions.
//
// Scratch (every block's activations, O(B * heads * T^2) attention probabilities per block) is
// kept on the device and grows to the largest B x T seen. NOT thread-safe: one per thread/stream.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "common/spec/enums.h"
#include "common/status.h"
#include "models/device_array.h"
#include "models/device_model.h"
#include "models/gpt/gpt.h"

namespace shoal {

class GpuGpt final : public DeviceModel {
 public:
  // Validates the config (ValidateGptConfig) and the precision and allocates the small
  // per-object device buffers. `stream` is borrowed (must outlive the object); the current CUDA
  // device must stay current for every later call. InvalidArgument for a bad config or precision,
  // or the CUDA error's Status.
  static Result<std::unique_ptr<GpuGpt>> Create(const GptConfig& config, Precision precision,
                                                cudaStream_t stream);

  GpuGpt(const GpuGpt&) = delete;
  GpuGpt& operator=(const GpuGpt&) = delete;

  const GptConfig& config() const { return layout_->config(); }
  Precision precision() const { return precision_; }
  int64_t num_params() const override { return layout_->num_params(); }
  const std::vector<ParamTensor>& Tensors() const { return layout_->Tensors(); }

  // Gpt::ForwardBackward on the device: d_tokens and d_targets are [B, T] int32, d_grads
  // (overwritten) receives the gradient of grad_scale * loss_sum where *loss_sum is the SUM over
  // the B*T positions; *correct counts positions whose argmax is the target. on_enqueued(from) is
  // called with from = ln_f.weight's offset, then each block's ln_1.weight offset (last block
  // first), then 0 — Gpt's on_ready order — as the kernels producing d_grads[from, num_params())
  // have all been enqueued; a non-OK Status from it stops the call and is returned.
  // InvalidArgument for B < 1, T outside [1, contextLength], B*T*max(V, 4C) >= 2^31 or a null
  // pointer (nothing enqueued then); else the CUDA error's Status.
  Status ForwardBackwardTokens(const float* d_params, const int32_t* d_tokens,
                               const int32_t* d_targets, int B, int T, float grad_scale,
                               float* d_grads, double* loss_sum, int64_t* correct,
                               const GradsEnqueued& on_enqueued = nullptr);

  // Forward only: *loss_sum (unscaled sum over positions) and *correct, as above.
  Status EvaluateTokens(const float* d_params, const int32_t* d_tokens, const int32_t* d_targets,
                        int B, int T, double* loss_sum, int64_t* correct);

  // Forward only, the device logits [B, T, V]; enqueued on the stream and NOT synchronized (read
  // them on the same stream). The pointer stays valid until the next call.
  Result<const float*> Logits(const float* d_params, const int32_t* d_tokens, int B, int T);

  // DeviceModel (GptModel's contract): `batch` rows of contextLength float ids in d_x and
  // contextLength int32 labels each; grad_scale and *loss_sum are per row (mean over positions).
  // A value in d_x that is not a token id poisons its row with NaN. batch == 0 gives zero
  // gradients, loss 0 and correct 0.
  Status ForwardBackward(const float* d_params, const float* d_x, const int32_t* d_labels,
                         int batch, float grad_scale, float* d_grads, double* loss_sum,
                         int64_t* correct, const GradsEnqueued& on_enqueued = nullptr) override;
  Status Evaluate(const float* d_params, const float* d_x, const int32_t* d_labels, int batch,
                  double* loss_sum, int64_t* correct) override;

 private:
  // Offsets of one block's tensors in the parameter buffer (Gpt's layout, found by name).
  struct Block {
    int64_t ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc_w, fc_b, fcproj_w,
        fcproj_b;
  };
  // Device pointers into arena_: the activations the backward needs, per block.
  struct BlockActs {
    float *x, *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *att, *x2, *ln2, *ln2_mean, *ln2_rstd,
        *fc_pre, *fc_act;
  };

  GpuGpt(std::unique_ptr<Gpt> layout, Precision precision, cudaStream_t stream);
  Status LocateTensors();
  Status CheckTokenArgs(const char* op, const float* d_params, const int32_t* d_tokens, int B,
                        int T) const;
  Status EnsureScratch(int B, int T);
  // tokens_ = the int32 ids of `batch` rows of float ids (grown as needed; enqueued).
  Status StageRowTokens(const float* d_x, int batch);
  // Embedding, blocks and final LayerNorm into lnf_, then the logits into logits_ (enqueued).
  Status Forward(const float* d_params, const int32_t* d_tokens, int B, int T);
  // Backward from the logits (turned into dlogits in place) into d_grads.
  Status Backward(const float* d_params, const int32_t* d_tokens, const int32_t* d_targets, int B,
                  int T, float grad_scale, float* d_grads, const GradsEnqueued& on_enqueued);
  // d_grads = 0 and every on_enqueued call, for an empty batch.
  Status ZeroGradients(float* d_grads, const GradsEnqueued& on_enqueued);
  // Copies [loss, correct] back and synchronizes the stream: the call's one synchronization.
  Status FetchScalars(double* loss_sum, int64_t* correct);

  // A Gpt used only for its validated config, parameter layout and tensor names; it never runs,
  // so it holds no scratch.
  std::unique_ptr<Gpt> layout_;
  Precision precision_;
  cudaStream_t stream_;
  int64_t wte_ = 0, wpe_ = 0, lnf_w_ = 0, lnf_b_ = 0;
  std::vector<Block> blocks_;

  // All activations and backward buffers, carved out of one allocation.
  DeviceArray<float> arena_;
  int64_t scratch_rows_ = 0;  // B*T the buffers hold
  int scratch_b_ = 0, scratch_t_ = 0;
  std::vector<BlockActs> acts_;
  float *x_final_ = nullptr, *lnf_ = nullptr, *lnf_mean_ = nullptr, *lnf_rstd_ = nullptr,
        *logits_ = nullptr;
  float *dres_ = nullptr, *dbuf_ = nullptr, *dbuf4_ = nullptr, *dqkv_ = nullptr, *datty_ = nullptr,
        *datt_ = nullptr;
  // The rows' float ids as int32 (DeviceModel level only).
  DeviceArray<int32_t> tokens_;
  // [0] the double loss sum, [1] the int64 correct count (one copy brings both back).
  DeviceArray<double> scalars_;
};

}  // namespace shoal
