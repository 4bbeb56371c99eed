#include "models/gpt/gpt_model.h"

#include <cmath>
#include <string>

namespace shoal {

Status GptModel::Tokens(const float* x, int batch) {
  const int T = gpt_->config().context_length;
  if (x == nullptr || batch < 0) return InvalidArgument("null input or negative batch");
  const int64_t n = int64_t{batch} * T;
  tokens_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    // Ids arrive as floats (the trainer's rows); anything but a whole number in range is a bug
    // upstream, refused rather than truncated.
    if (!(v >= 0) || v != std::floor(v) || v >= static_cast<float>(gpt_->config().vocab_size)) {
      return InvalidArgument("input " + std::to_string(v) + " at row " + std::to_string(i / T) +
                             ", position " + std::to_string(i % T) + " is not a token id");
    }
    tokens_[static_cast<size_t>(i)] = static_cast<int32_t>(v);
  }
  return Status::Ok();
}

Status GptModel::ForwardBackward(const float* params, const float* x, const int32_t* labels,
                                 int batch, float grad_scale, float* grads, double* loss_sum,
                                 int64_t* correct, const GradsReady& on_ready,
                                 int64_t /*chunk_floats*/) {
  if (loss_sum == nullptr || correct == nullptr) return InvalidArgument("null loss_sum or correct");
  RETURN_IF_ERROR(Tokens(x, batch));
  const int T = gpt_->config().context_length;
  double token_loss = 0;
  // A row's loss is the mean over its T positions.
  RETURN_IF_ERROR(gpt_->ForwardBackward(params, tokens_.data(), labels, batch, T,
                                        grad_scale / static_cast<float>(T), grads, &token_loss,
                                        on_ready, correct));
  *loss_sum = token_loss / T;
  return Status::Ok();
}

Status GptModel::Evaluate(const float* params, const float* x, const int32_t* labels, int batch,
                          double* loss_sum, int64_t* correct) {
  if (loss_sum == nullptr || correct == nullptr) return InvalidArgument("null loss_sum or correct");
  RETURN_IF_ERROR(Tokens(x, batch));
  const int T = gpt_->config().context_length;
  double token_loss = 0;
  RETURN_IF_ERROR(gpt_->Evaluate(params, tokens_.data(), labels, batch, T, &token_loss, correct));
  *loss_sum = token_loss / T;
  return Status::Ok();
}

}  // namespace shoal
