// The multi-layer perceptron trained by shoal-train, built on the CPU operators in kernels/cpu/:
// the "mlp" family of models/model.h.
//
// Parameters live in ONE flat float buffer owned by the caller, so the gradient all-reduce and the
// optimizer are single calls over the whole model. Layout, for each layer l = 0 .. L-1 with
// in = layers[l], out = layers[l + 1]: W_l (out x in, row-major) then b_l (out entries). The
// gradient buffer has the same layout.
//
// Hidden layers apply `activation`; the last layer is linear (its outputs are the logits for
// cross-entropy, or the raw predictions compared with one-hot targets for MSE).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/spec/job_spec.h"
#include "common/status.h"
#include "models/model.h"

namespace shoal {

struct MlpConfig {
  // Widths from the input to the output, e.g. {784, 256, 128, 10}: at least two entries, all > 0.
  std::vector<int> layers;
  Activation activation = Activation::kRelu;
  LossKind loss = LossKind::kCrossEntropy;
};

class Mlp final : public Model {
 public:
  // Never fails: an invalid config is remembered and reported by ForwardBackward/Evaluate (check it
  // up front with ValidateConfig). num_params() is 0 for an invalid config.
  explicit Mlp(MlpConfig config);

  // OK, or InvalidArgument saying what is wrong with the layer list.
  static Status ValidateConfig(const MlpConfig& config);

  const MlpConfig& config() const { return config_; }
  // Number of weight layers (layers.size() - 1; 0 for an invalid config).
  int num_layers() const { return static_cast<int>(w_offset_.size()); }
  // Total floats in the parameter (and gradient) buffer.
  int64_t num_params() const override { return num_params_; }
  // Offsets of W_l and b_l in the flat buffer; l in [0, num_layers()).
  int64_t weight_offset(int l) const { return w_offset_[l]; }
  int64_t bias_offset(int l) const { return b_offset_[l]; }
  // "layers.L.weight" (out x in) and "layers.L.bias" (out) for each layer L, in buffer order.
  std::vector<ParamTensor> Tensors() const override;

  // Fills params (num_params() floats): weights uniform in [-bound, bound] with
  // bound = sqrt(6 / fan_in) (He-uniform) for relu/gelu and sqrt(6 / (fan_in + fan_out))
  // (Xavier-uniform) for tanh; biases zero. Bit-for-bit deterministic for a seed on every platform:
  // one std::mt19937_64(seed) stream drawn in layout order, each 64-bit draw mapped to
  // [0, 1) as (draw >> 11) * 2^-53 in double, then to (2u - 1) * bound rounded to float.
  // Thread-safe (const, uses no scratch).
  void InitParams(uint64_t seed, float* params) const override;

  // Forward + backward on `batch` rows of x (batch x layers[0], row-major) with labels in
  // [0, layers.back()). Writes into grads (num_params() floats, overwritten, same layout as params)
  // the gradient of grad_scale * loss_sum, where loss_sum is the SUM of the per-row losses over
  // this batch (pass grad_scale = 1 / global_batch to get the gradient of the mean over the global
  // batch once the ranks' gradients are summed). Per-row losses: see SoftmaxCrossEntropy and
  // MeanSquaredError in kernels/cpu/. On success *loss_sum is the unscaled sum over rows and
  // *correct the number of rows whose argmax is the label. batch == 0 gives zero grads, loss 0.
  // Returns InvalidArgument for an invalid config, batch < 0, null pointers or a label out of
  // range; grads, loss_sum and correct are unspecified then.
  // Reuses internal scratch buffers sized for the largest batch seen so far (allocates only when
  // a batch is larger than any before): NOT thread-safe, use one Mlp per thread.
  //
  // Gradients are produced from the end of the flat buffer towards its start (backward runs from
  // the last layer). When `on_ready` is set, it is called on this thread each time a further
  // suffix grads[from, num_params()) is final, with from decreasing to 0; the first layer's
  // weight gradient is computed in row chunks of about `chunk_floats` so that its suffixes
  // arrive in pieces too. This lets the caller all-reduce buckets while backward still runs.
  // *loss_sum and *correct are already set when on_ready is first called.
  Status ForwardBackward(const float* params, const float* x, const int32_t* labels, int batch,
                         float grad_scale, float* grads, double* loss_sum, int64_t* correct,
                         const GradsReady& on_ready = nullptr, int64_t chunk_floats = 0) override;

  // Forward only: *loss_sum (unscaled sum over rows, same definition as ForwardBackward) and
  // *correct. Same errors and thread-safety as ForwardBackward.
  Status Evaluate(const float* params, const float* x, const int32_t* labels, int batch,
                  double* loss_sum, int64_t* correct) override;

 private:
  Status CheckArgs(const char* op, const float* params, const float* x, const int32_t* labels,
                   int batch, double* loss_sum, int64_t* correct) const;
  void EnsureScratch(int batch);
  // Runs all layers; act_[L-1] holds the outputs. With keep_pre, hidden pre-activations are kept
  // in pre_ for backward.
  Status Forward(const float* params, const float* x, int batch, bool keep_pre);

  MlpConfig config_;
  Status config_status_;
  std::vector<int64_t> w_offset_;
  std::vector<int64_t> b_offset_;
  int64_t num_params_ = 0;
  int max_width_ = 0;  // widest layer output or input, for the backward ping-pong buffers

  int scratch_batch_ = 0;                // rows the scratch buffers currently hold
  std::vector<std::vector<float>> pre_;  // hidden layer l: z + b (batch x layers[l + 1])
  std::vector<std::vector<float>> act_;  // layer l output (batch x layers[l + 1])
  std::vector<float> grad_a_;            // backward ping-pong (batch x max_width_)
  std::vector<float> grad_b_;
};

}  // namespace shoal
