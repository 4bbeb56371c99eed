#include "models/mlp/gpu_mlp.h"

#include <algorithm>
#include <string>
#include <utility>

#include "kernels/cuda/bias_activation.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/mse.h"
#include "kernels/cuda/softmax_cross_entropy.h"

namespace shoal {

static_assert(sizeof(int64_t) == sizeof(double) && alignof(int64_t) <= alignof(double),
              "scalars_ stores the int64 correct count in a double-sized slot");

GpuMlp::GpuMlp(MlpConfig config, Precision precision, cudaStream_t stream)
    : layout_(std::move(config)), precision_(precision), stream_(stream) {
  const std::vector<int>& layers = layout_.config().layers;
  for (size_t l = 1; l < layers.size(); ++l) max_width_ = std::max(max_width_, layers[l]);
  pre_.resize(layout_.num_layers());
  act_.resize(layout_.num_layers());
}

Result<std::unique_ptr<GpuMlp>> GpuMlp::Create(MlpConfig config, Precision precision,
                                               cudaStream_t stream) {
  RETURN_IF_ERROR(Mlp::ValidateConfig(config).WithContext("GpuMlp::Create"));
  if (precision != Precision::kFp32 && precision != Precision::kTf32 &&
      precision != Precision::kBf16) {
    return InvalidArgument("GpuMlp::Create: unknown precision " +
                           std::to_string(static_cast<int>(precision)));
  }
  // Not make_unique: the constructor is private.
  std::unique_ptr<GpuMlp> mlp(new GpuMlp(std::move(config), precision, stream));
  RETURN_IF_ERROR(mlp->scalars_.Allocate(2).WithContext("GpuMlp::Create"));
  return mlp;
}

Status GpuMlp::CheckArgs(const char* op, const float* d_params, const float* d_x,
                         const int32_t* d_labels, int batch, double* loss_sum,
                         int64_t* correct) const {
  if (batch < 0) {
    return InvalidArgument(std::string(op) + ": negative batch " + std::to_string(batch));
  }
  if (d_params == nullptr || loss_sum == nullptr || correct == nullptr) {
    return InvalidArgument(std::string(op) + ": null params, loss_sum or correct");
  }
  if (batch > 0 && (d_x == nullptr || d_labels == nullptr)) {
    return InvalidArgument(std::string(op) + ": null x or labels");
  }
  return Status::Ok();
}

Status GpuMlp::EnsureScratch(int batch) {
  if (batch <= scratch_batch_) return Status::Ok();
  // Until every buffer has its new size, none may be trusted: a failure half-way must not leave
  // a scratch_batch_ that claims the freed (now empty) buffers still hold the old size.
  scratch_batch_ = 0;
  const int num_layers = this->num_layers();
  const std::vector<int>& layers = config().layers;
  for (int l = 0; l < num_layers; ++l) {
    const size_t size = static_cast<size_t>(batch) * layers[l + 1];
    RETURN_IF_ERROR(act_[l].Allocate(size));
    // The last layer is linear and needs no pre-activation.
    if (l + 1 < num_layers) RETURN_IF_ERROR(pre_[l].Allocate(size));
  }
  RETURN_IF_ERROR(grad_a_.Allocate(static_cast<size_t>(batch) * max_width_));
  RETURN_IF_ERROR(grad_b_.Allocate(static_cast<size_t>(batch) * max_width_));
  scratch_batch_ = batch;
  return Status::Ok();
}

Status GpuMlp::Forward(const float* d_params, const float* d_x, int batch, bool keep_pre) {
  const int num_layers = this->num_layers();
  const std::vector<int>& layers = config().layers;
  const float* h = d_x;
  for (int l = 0; l < num_layers; ++l) {
    const int in = layers[l];
    const int out = layers[l + 1];
    const float* w = d_params + weight_offset(l);
    const float* b = d_params + bias_offset(l);
    const bool last = l + 1 == num_layers;
    // z = h W^T (batch x out). Training keeps z + b in pre_ for the activation's backward;
    // evaluation goes straight into the output buffer.
    float* z = (last || !keep_pre) ? act_[l].get() : pre_[l].get();
    RETURN_IF_ERROR(cuda::Gemm(precision_, false, true, batch, out, in, 1.0f, h, in, w, in, 0.0f,
                               z, out, stream_));
    if (last) {
      RETURN_IF_ERROR(cuda::BiasForward(z, b, batch, out, z, stream_));
    } else {
      RETURN_IF_ERROR(cuda::BiasActivationForward(z, b, batch, out, config().activation,
                                                  keep_pre ? z : nullptr, act_[l].get(),
                                                  stream_));
    }
    h = act_[l].get();
  }
  return Status::Ok();
}

Status GpuMlp::EnqueueLoss(const int32_t* d_labels, int batch, float grad_scale, float* d_dout) {
  const float* out = act_[num_layers() - 1].get();
  const int classes = config().layers.back();
  double* d_loss = scalars_.get();
  int64_t* d_correct = reinterpret_cast<int64_t*>(scalars_.get() + 1);
  if (config().loss == LossKind::kMse) {
    RETURN_IF_ERROR(cuda::MeanSquaredError(out, d_labels, batch, classes, grad_scale, d_dout,
                                           d_loss, d_correct, stream_));
  } else {
    RETURN_IF_ERROR(cuda::SoftmaxCrossEntropy(out, d_labels, batch, classes, grad_scale, d_dout,
                                              d_loss, d_correct, stream_));
  }
  // The scalars are read by the host only after the backward pass is queued too (FetchScalars),
  // so the step synchronizes once.
  return Status::Ok();
}

namespace {

// Copies [loss, correct] from the device to the host and waits for the stream: the step's one
// synchronization. Pageable host memory is fine for 16 bytes.
Status FetchScalars(const double* d_scalars, cudaStream_t stream, double* loss_sum,
                    int64_t* correct) {
  struct {
    double loss;
    int64_t correct;
  } host{};
  static_assert(sizeof(host) == 2 * sizeof(double));
  SHOAL_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(&host, d_scalars, sizeof(host), cudaMemcpyDeviceToHost, stream));
  SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
  *loss_sum = host.loss;
  *correct = host.correct;
  return Status::Ok();
}

}  // namespace

Status GpuMlp::ForwardBackward(const float* d_params, const float* d_x, const int32_t* d_labels,
                               int batch, float grad_scale, float* d_grads, double* loss_sum,
                               int64_t* correct, const GradsEnqueued& on_enqueued) {
  constexpr const char* kOp = "GpuMlp::ForwardBackward";
  RETURN_IF_ERROR(CheckArgs(kOp, d_params, d_x, d_labels, batch, loss_sum, correct));
  if (d_grads == nullptr) return InvalidArgument(std::string(kOp) + ": null grads");
  if (batch == 0) {
    // Nothing to run the kernels on (and no scratch yet, perhaps): the gradient of an empty sum.
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(
        d_grads, 0, static_cast<size_t>(num_params()) * sizeof(float), stream_));
    for (int l = num_layers() - 1; l >= 0 && on_enqueued; --l) {
      RETURN_IF_ERROR(on_enqueued(weight_offset(l)));
    }
    SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
    *loss_sum = 0.0;
    *correct = 0;
    return Status::Ok();
  }
  RETURN_IF_ERROR(EnsureScratch(batch).WithContext(kOp));
  RETURN_IF_ERROR(Forward(d_params, d_x, batch, /*keep_pre=*/true));

  const int num_layers = this->num_layers();
  const std::vector<int>& layers = config().layers;
  float* d = grad_a_.get();       // gradient w.r.t. the current layer's output, then its z
  float* d_prev = grad_b_.get();  // gradient w.r.t. the current layer's input
  RETURN_IF_ERROR(EnqueueLoss(d_labels, batch, grad_scale, d));

  for (int l = num_layers - 1; l >= 0; --l) {
    const int in = layers[l];
    const int out = layers[l + 1];
    const float* h_in = l == 0 ? d_x : act_[l - 1].get();
    float* dw = d_grads + weight_offset(l);
    float* db = d_grads + bias_offset(l);
    if (l + 1 == num_layers) {
      RETURN_IF_ERROR(cuda::BiasGrad(d, batch, out, db, stream_));
    } else {
      // d holds dLoss/d act_l; turn it into dLoss/d z_l in place and reduce the bias gradient.
      RETURN_IF_ERROR(cuda::ActivationBackwardBiasGrad(d, pre_[l].get(), batch, out,
                                                       config().activation, d, db, stream_));
    }
    // dW = dz^T h_in (out x in), in one GEMM: the GPU overlaps whole layers with NCCL, it has no
    // reason to split the first layer's into row chunks as Mlp does.
    RETURN_IF_ERROR(cuda::Gemm(precision_, true, false, out, in, batch, 1.0f, d, out, h_in, in,
                               0.0f, dw, in, stream_));
    if (on_enqueued) RETURN_IF_ERROR(on_enqueued(weight_offset(l)));
    if (l > 0) {
      // dh_in = dz W (batch x in); the network input needs no gradient.
      const float* w = d_params + weight_offset(l);
      RETURN_IF_ERROR(cuda::Gemm(precision_, false, false, batch, in, out, 1.0f, d, out, w, in,
                                 0.0f, d_prev, in, stream_));
      std::swap(d, d_prev);
    }
  }
  return FetchScalars(scalars_.get(), stream_, loss_sum, correct).WithContext(kOp);
}

Status GpuMlp::Evaluate(const float* d_params, const float* d_x, const int32_t* d_labels,
                        int batch, double* loss_sum, int64_t* correct) {
  constexpr const char* kOp = "GpuMlp::Evaluate";
  RETURN_IF_ERROR(CheckArgs(kOp, d_params, d_x, d_labels, batch, loss_sum, correct));
  if (batch == 0) {
    *loss_sum = 0.0;
    *correct = 0;
    return Status::Ok();
  }
  RETURN_IF_ERROR(EnsureScratch(batch).WithContext(kOp));
  RETURN_IF_ERROR(Forward(d_params, d_x, batch, /*keep_pre=*/false));
  RETURN_IF_ERROR(EnqueueLoss(d_labels, batch, 0.0f, nullptr));
  return FetchScalars(scalars_.get(), stream_, loss_sum, correct).WithContext(kOp);
}

}  // namespace shoal
