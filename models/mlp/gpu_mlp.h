// GpuMlp: the multi-layer perceptron of models/mlp/mlp.h, run on one CUDA device with the
// operators of kernels/cuda/.
//
// Same MlpConfig and the same flat parameter/gradient layout as Mlp (for each layer l: W_l, out x
// in row-major, then b_l), so parameter and gradient buffers can be copied between the two and
// all-reduced as one buffer; Mlp::InitParams initializes both. Parameters are fp32 master weights
// in every precision: `precision` only selects the GEMM path (cuda::Gemm: fp32 SIMT, tf32 or bf16
// tensor cores with fp32 accumulation), nothing is stored in reduced precision.
//
// Device model: every pointer argument named d_* is a device pointer; all work is enqueued on the
// stream given to Create. Each ForwardBackward/Evaluate call ends with ONE cudaStreamSynchronize
// on that stream, to copy the loss sum and correct count back to the host (so d_grads is final
// when the call returns). For overlap, ForwardBackward can tell the caller when each layer's
// gradient kernels have been ENQUEUED (GradsEnqueued): work the caller then orders after them on
// the same stream (an event) sees those gradients final, long before the call returns.
//
// Thread-safety: NOT thread-safe; use one GpuMlp per thread (and per stream).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/spec/job_spec.h"
#include "common/status.h"
#include "models/device_array.h"
#include "models/device_model.h"
#include "models/mlp/mlp.h"

namespace shoal {

class GpuMlp final : public DeviceModel {
 public:
  // Validates the config (Mlp::ValidateConfig) and the precision, and allocates the small
  // per-object device buffers. `stream` is borrowed (nullptr = the legacy default stream) and
  // must outlive the object; the current CUDA device at this call must stay current for every
  // later call. Returns InvalidArgument for an invalid config or precision, or the CUDA error's
  // Status (Unavailable without a usable device, ResourceExhausted when out of memory).
  static Result<std::unique_ptr<GpuMlp>> Create(MlpConfig config, Precision precision,
                                                cudaStream_t stream);

  GpuMlp(const GpuMlp&) = delete;
  GpuMlp& operator=(const GpuMlp&) = delete;

  const MlpConfig& config() const { return layout_.config(); }
  Precision precision() const { return precision_; }
  int num_layers() const { return layout_.num_layers(); }
  // Total floats in the parameter (and gradient) buffer: the same as Mlp::num_params().
  int64_t num_params() const override { return layout_.num_params(); }
  int64_t weight_offset(int l) const { return layout_.weight_offset(l); }
  int64_t bias_offset(int l) const { return layout_.bias_offset(l); }

  // Forward + backward on `batch` rows of d_x (batch x layers[0], row-major) with int32 labels in
  // [0, layers.back()), exactly Mlp::ForwardBackward's contract otherwise: d_grads (num_params()
  // floats, overwritten) receives the gradient of grad_scale * loss_sum; on success the host
  // *loss_sum is the unscaled sum of per-row losses and the host *correct the number of rows whose
  // argmax is the label. batch == 0 gives zero grads, loss 0, correct 0.
  // Labels are NOT checked on the host (they live on the device): an out-of-range label makes
  // *loss_sum and the gradients NaN (see cuda::SoftmaxCrossEntropy), where Mlp would return
  // InvalidArgument. Results agree with Mlp to rounding (fp32), not bitwise.
  // Returns InvalidArgument for batch < 0 or null pointers (nothing enqueued then), or the CUDA
  // error's Status (d_grads, loss_sum and correct are unspecified then).
  // Scratch (activations, pre-activations, backward buffers) is kept on the device and grows to
  // the largest batch seen so far; growing frees the old scratch (cudaFree waits for the device).
  //
  // on_enqueued(from), when given, is called on this thread each time the kernels producing
  // d_grads[from, num_params()) have all been enqueued on the stream (from = weight_offset(l),
  // decreasing, once per layer); a non-OK Status from it stops the call and is returned.
  Status ForwardBackward(const float* d_params, const float* d_x, const int32_t* d_labels,
                         int batch, float grad_scale, float* d_grads, double* loss_sum,
                         int64_t* correct, const GradsEnqueued& on_enqueued = nullptr) override;

  // Forward only: host *loss_sum (unscaled sum over rows) and *correct, as Mlp::Evaluate. Same
  // errors, synchronization and thread-safety as ForwardBackward.
  Status Evaluate(const float* d_params, const float* d_x, const int32_t* d_labels, int batch,
                  double* loss_sum, int64_t* correct) override;

 private:
  GpuMlp(MlpConfig config, Precision precision, cudaStream_t stream);

  Status CheckArgs(const char* op, const float* d_params, const float* d_x,
                   const int32_t* d_labels, int batch, double* loss_sum, int64_t* correct) const;
  Status EnsureScratch(int batch);
  // Runs all layers; act_[L-1] holds the outputs. With keep_pre, hidden pre-activations are kept
  // in pre_ for backward.
  Status Forward(const float* d_params, const float* d_x, int batch, bool keep_pre);
  // Enqueues the loss kernel on the last layer's outputs into scalars_ (and the gradient w.r.t.
  // the outputs into d_dout when it is not null). Does not synchronize.
  Status EnqueueLoss(const int32_t* d_labels, int batch, float grad_scale, float* d_dout);

  // An Mlp used only for its config validation and parameter offsets (it never runs, so it holds
  // no scratch): the layout is the CPU model's by construction.
  Mlp layout_;
  Precision precision_;
  cudaStream_t stream_;
  int max_width_ = 0;  // widest layer output, for the backward ping-pong buffers

  int scratch_batch_ = 0;                // rows the scratch buffers currently hold
  std::vector<DeviceArray<float>> pre_;  // hidden layer l: z + b (batch x layers[l + 1])
  std::vector<DeviceArray<float>> act_;  // layer l output (batch x layers[l + 1])
  DeviceArray<float> grad_a_;            // backward ping-pong (batch x max_width_)
  DeviceArray<float> grad_b_;
  // The loss kernels' outputs, side by side so one copy brings both back: [0] is the double loss
  // sum, [1] holds the int64 correct count (same size and alignment as a double).
  DeviceArray<double> scalars_;
};

}  // namespace shoal
