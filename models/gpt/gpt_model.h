// GptModel: the Gpt (gpt.h) behind the Model interface the training loop drives (models/model.h),
// so the trainer's data-parallel machinery (sharding, shuffling, exact resume, elastic resize,
// bucketed all-reduce) trains it unchanged.
//
// A row is one window of contextLength tokens: x holds its token ids as floats (exact: ids are
// below 2^16), labels its contextLength next tokens. A row's loss is the mean cross-entropy of its
// positions, so the trainer's per-row averaging gives the per-token mean; *correct counts
// positions whose most likely next token is right (label_width() per row).
#pragma once

#include <memory>
#include <vector>

#include "models/gpt/gpt.h"
#include "models/model.h"

namespace shoal {

class GptModel final : public Model {
 public:
  explicit GptModel(std::unique_ptr<Gpt> gpt) : gpt_(std::move(gpt)) {}

  int64_t num_params() const override { return gpt_->num_params(); }
  std::vector<ParamTensor> Tensors() const override { return gpt_->Tensors(); }
  void InitParams(uint64_t seed, float* params) const override { gpt_->InitParams(seed, params); }
  int label_width() const override { return gpt_->config().context_length; }

  Status ForwardBackward(const float* params, const float* x, const int32_t* labels, int batch,
                         float grad_scale, float* grads, double* loss_sum, int64_t* correct,
                         const GradsReady& on_ready = nullptr,
                         int64_t chunk_floats = 0) override;
  Status Evaluate(const float* params, const float* x, const int32_t* labels, int batch,
                  double* loss_sum, int64_t* correct) override;

  Gpt& gpt() { return *gpt_; }

 private:
  // x's ids as int32 into tokens_; InvalidArgument for a value that is not an id.
  Status Tokens(const float* x, int batch);

  std::unique_ptr<Gpt> gpt_;
  std::vector<int32_t> tokens_;
};

}  // namespace shoal
