// Gpt: a GPT-2-style decoder on the CPU operators (issue 15): learned token and position
// embeddings, `layers` pre-LayerNorm blocks (causal multi-head self-attention, then an MLP of
// 4 x embedDim with tanh-GELU), a final LayerNorm and the token embedding reused as the output
// projection (tied weights), trained with softmax cross-entropy on the next token.
//
// Parameters and gradients live in one flat float buffer owned by the caller (num_params()),
// laid out as Tensors() lists them: wte, wpe, then each block's tensors, then ln_f. Linear
// weights are [out, in] as torch.nn.Linear stores them, so a PyTorch model with the same names
// loads the same numbers. The backward finishes the buffer from its end towards its start
// (ln_f, the last block, ..., the first block, then the embeddings), which is the order in which
// the gradient all-reduce can overlap it.
//
// Not thread-safe: activations and scratch are kept between calls (grown to the largest B x T
// seen). One Gpt per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "models/model.h"  // ParamTensor

namespace shoal {

struct GptConfig {
  int vocab_size = 256;
  int context_length = 256;  // T at most
  int layers = 4;
  int heads = 4;
  int embed_dim = 128;  // divisible by heads
};

// InvalidArgument naming the first bad field (all positive, embed_dim % heads == 0, sizes that
// keep every buffer index within int64 and every GEMM dimension within int).
Status ValidateGptConfig(const GptConfig& config);

// Parameters of the model: V*C + T*C + L*(12*C*C + 13*C) + 2*C.
int64_t GptParameterCount(const GptConfig& config);

class Gpt {
 public:
  // The config must pass ValidateGptConfig (checked by Make).
  static Result<std::unique_ptr<Gpt>> Make(const GptConfig& config);

  const GptConfig& config() const { return config_; }
  int64_t num_params() const { return num_params_; }
  const std::vector<ParamTensor>& Tensors() const { return tensors_; }

  // GPT-2's initialisation, deterministic in `seed`: weights N(0, 0.02) (wpe N(0, 0.01)), the two
  // projections into the residual stream N(0, 0.02 / sqrt(2 * layers)), biases 0, LayerNorm
  // weights 1. Bit-identical on every rank and standard library.
  void InitParams(uint64_t seed, float* params) const;

  // Forward + backward on B sequences of T tokens (T <= context_length): tokens and targets are
  // [B, T] in [0, vocab_size). Writes into grads (overwritten) the gradient of
  // grad_scale * loss_sum, where loss_sum is the SUM over the B*T positions of the next-token
  // cross-entropy; *loss_sum is that unscaled sum. `on_ready(from)` is called as further
  // suffixes grads[from, num_params()) become final. InvalidArgument on bad sizes or tokens.
  Status ForwardBackward(const float* params, const int32_t* tokens, const int32_t* targets, int B,
                         int T, float grad_scale, float* grads, double* loss_sum,
                         const std::function<void(int64_t)>& on_ready = nullptr,
                         int64_t* correct = nullptr);

  // Forward only: *loss_sum as above. *correct (when given, here and above): positions whose most
  // likely next token is the target.
  Status Evaluate(const float* params, const int32_t* tokens, const int32_t* targets, int B, int T,
                  double* loss_sum, int64_t* correct = nullptr);

  // Forward only, the logits [B, T, V] of every position (generation reads the last one).
  // The returned pointer stays valid until the next call.
  Result<const float*> Logits(const float* params, const int32_t* tokens, int B, int T);

 private:
  explicit Gpt(const GptConfig& config);
  // Offsets of one block's tensors in the parameter buffer.
  struct Block {
    int64_t ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b, ln2_w, ln2_b, fc_w, fc_b, fcproj_w,
        fcproj_b;
  };
  // The activations the backward needs, per block.
  struct BlockActs {
    std::vector<float> x, ln1, ln1_mean, ln1_rstd, qkv, atty, att, x2, ln2, ln2_mean, ln2_rstd,
        fc_pre, fc_act;
  };
  Status CheckInputs(const float* params, const int32_t* tokens, const int32_t* targets, int B,
                     int T) const;
  void EnsureScratch(int B, int T);
  // Embedding, blocks and final LayerNorm into lnf_; then the logits into logits_.
  Status Forward(const float* params, const int32_t* tokens, int B, int T);

  GptConfig config_;
  int64_t num_params_ = 0;
  std::vector<ParamTensor> tensors_;
  int64_t wte_ = 0, wpe_ = 0, lnf_w_ = 0, lnf_b_ = 0;
  std::vector<Block> blocks_;

  int64_t scratch_rows_ = 0;  // B*T the buffers hold
  int scratch_b_ = 0, scratch_t_ = 0;
  std::vector<BlockActs> acts_;
  std::vector<float> x_final_, lnf_, lnf_mean_, lnf_rstd_, logits_;
  std::vector<float> dres_, dbuf_, dbuf4_, dqkv_, datty_, datt_;
};

}  // namespace shoal
