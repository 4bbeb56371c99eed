#include "models/mlp/mlp.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>

#include "kernels/cpu/bias_activation.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/mse.h"
#include "kernels/cpu/softmax_cross_entropy.h"

namespace shoal {

Mlp::Mlp(MlpConfig config) : config_(std::move(config)) {
  config_status_ = ValidateConfig(config_);
  if (!config_status_.ok()) return;
  const int num_layers = static_cast<int>(config_.layers.size()) - 1;
  int64_t offset = 0;
  for (int l = 0; l < num_layers; ++l) {
    const int64_t in = config_.layers[l];
    const int64_t out = config_.layers[l + 1];
    w_offset_.push_back(offset);
    offset += out * in;
    b_offset_.push_back(offset);
    offset += out;
    max_width_ = std::max(max_width_, config_.layers[l + 1]);
  }
  num_params_ = offset;
  pre_.resize(num_layers);
  act_.resize(num_layers);
}

Status Mlp::ValidateConfig(const MlpConfig& config) {
  if (config.layers.size() < 2) {
    return InvalidArgument("mlp: layers needs at least 2 entries (input and output width), got " +
                           std::to_string(config.layers.size()));
  }
  for (size_t i = 0; i < config.layers.size(); ++i) {
    if (config.layers[i] <= 0) {
      return InvalidArgument("mlp: layers[" + std::to_string(i) + "] must be > 0, got " +
                             std::to_string(config.layers[i]));
    }
  }
  return Status::Ok();
}

std::vector<ParamTensor> Mlp::Tensors() const {
  std::vector<ParamTensor> tensors;
  for (int l = 0; l < num_layers(); ++l) {
    const int64_t in = config_.layers[l], out = config_.layers[l + 1];
    const std::string p = "layers." + std::to_string(l) + ".";
    tensors.push_back({p + "weight", {out, in}, w_offset_[l], out * in});
    tensors.push_back({p + "bias", {out}, b_offset_[l], out});
  }
  return tensors;
}

void Mlp::InitParams(uint64_t seed, float* params) const {
  std::mt19937_64 rng(seed);
  // Our own mapping from raw draws: std::uniform_real_distribution's output differs between
  // standard libraries, and ranks (and checkpoints) must agree bit for bit.
  auto uniform01 = [&rng]() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  for (int l = 0; l < num_layers(); ++l) {
    const int in = config_.layers[l];
    const int out = config_.layers[l + 1];
    // He keeps the activation variance stable through ReLU-like units (which zero half the
    // inputs); Xavier does the same for tanh, which is linear around 0.
    const double bound = config_.activation == Activation::kTanh
                             ? std::sqrt(6.0 / (static_cast<double>(in) + out))
                             : std::sqrt(6.0 / in);
    float* w = params + w_offset_[l];
    const int64_t count = static_cast<int64_t>(out) * in;
    for (int64_t i = 0; i < count; ++i) {
      w[i] = static_cast<float>((2.0 * uniform01() - 1.0) * bound);
    }
    std::fill(params + b_offset_[l], params + b_offset_[l] + out, 0.0f);
  }
}

void Mlp::EnsureScratch(int batch) {
  if (batch <= scratch_batch_) return;
  const int num_layers = this->num_layers();
  for (int l = 0; l < num_layers; ++l) {
    const size_t size = static_cast<size_t>(batch) * config_.layers[l + 1];
    act_[l].resize(size);
    // The last layer is linear and needs no pre-activation.
    if (l + 1 < num_layers) pre_[l].resize(size);
  }
  grad_a_.resize(static_cast<size_t>(batch) * max_width_);
  grad_b_.resize(static_cast<size_t>(batch) * max_width_);
  scratch_batch_ = batch;
}

Status Mlp::CheckArgs(const char* op, const float* params, const float* x, const int32_t* labels,
                      int batch, double* loss_sum, int64_t* correct) const {
  if (!config_status_.ok()) return config_status_.WithContext(op);
  if (batch < 0)
    return InvalidArgument(std::string(op) + ": negative batch " + std::to_string(batch));
  if (params == nullptr || loss_sum == nullptr || correct == nullptr) {
    return InvalidArgument(std::string(op) + ": null params, loss_sum or correct");
  }
  if (batch > 0 && (x == nullptr || labels == nullptr)) {
    return InvalidArgument(std::string(op) + ": null x or labels");
  }
  return Status::Ok();
}

Status Mlp::Forward(const float* params, const float* x, int batch, bool keep_pre) {
  const int num_layers = this->num_layers();
  const float* h = x;
  for (int l = 0; l < num_layers; ++l) {
    const int in = config_.layers[l];
    const int out = config_.layers[l + 1];
    const float* w = params + w_offset_[l];
    const float* b = params + b_offset_[l];
    const bool last = l + 1 == num_layers;
    // z = h W^T: h is batch x in, W is out x in, so z is batch x out. Training writes z where the
    // pre-activation must survive (pre_), evaluation straight into the output buffer.
    float* z = (last || !keep_pre) ? act_[l].data() : pre_[l].data();
    RETURN_IF_ERROR(cpu::Gemm(false, true, batch, out, in, 1.0f, h, in, w, in, 0.0f, z, out));
    if (last) {
      RETURN_IF_ERROR(cpu::BiasForward(z, b, batch, out, z));
    } else {
      RETURN_IF_ERROR(cpu::BiasActivationForward(z, b, batch, out, config_.activation,
                                                 keep_pre ? z : nullptr, act_[l].data()));
    }
    h = act_[l].data();
  }
  return Status::Ok();
}

Status Mlp::ForwardBackward(const float* params, const float* x, const int32_t* labels, int batch,
                            float grad_scale, float* grads, double* loss_sum, int64_t* correct,
                            const GradsReady& on_ready, int64_t chunk_floats) {
  RETURN_IF_ERROR(CheckArgs("Mlp::ForwardBackward", params, x, labels, batch, loss_sum, correct));
  if (grads == nullptr) return InvalidArgument("Mlp::ForwardBackward: null grads");
  EnsureScratch(batch);
  RETURN_IF_ERROR(Forward(params, x, batch, /*keep_pre=*/true));

  const int num_layers = this->num_layers();
  const int classes = config_.layers.back();
  float* d = grad_a_.data();       // gradient w.r.t. the current layer's output, then its z
  float* d_prev = grad_b_.data();  // gradient w.r.t. the current layer's input
  if (config_.loss == LossKind::kMse) {
    RETURN_IF_ERROR(cpu::MeanSquaredError(act_[num_layers - 1].data(), labels, batch, classes,
                                          grad_scale, d, loss_sum, correct));
  } else {
    RETURN_IF_ERROR(cpu::SoftmaxCrossEntropy(act_[num_layers - 1].data(), labels, batch, classes,
                                             grad_scale, d, loss_sum, correct));
  }

  for (int l = num_layers - 1; l >= 0; --l) {
    const int in = config_.layers[l];
    const int out = config_.layers[l + 1];
    const float* h_in = l == 0 ? x : act_[l - 1].data();
    float* dw = grads + w_offset_[l];
    float* db = grads + b_offset_[l];
    if (l + 1 == num_layers) {
      RETURN_IF_ERROR(cpu::BiasGrad(d, batch, out, db));
    } else {
      // d holds dLoss/d act_l; turn it into dLoss/d z_l in place and reduce the bias gradient.
      RETURN_IF_ERROR(cpu::ActivationBackwardBiasGrad(d, pre_[l].data(), batch, out,
                                                      config_.activation, d, db));
    }
    // dW = dz^T h_in (out x in). The first layer's (usually the largest) goes in row chunks,
    // last rows first, so its gradient suffixes become ready while the rest is computed.
    int rows_per_chunk = out;
    if (l == 0 && on_ready && chunk_floats > 0) {
      rows_per_chunk = static_cast<int>(std::max<int64_t>(1, chunk_floats / in));
    }
    for (int r_end = out; r_end > 0; r_end -= rows_per_chunk) {
      const int r_begin = std::max(0, r_end - rows_per_chunk);
      RETURN_IF_ERROR(cpu::Gemm(true, false, r_end - r_begin, in, batch, 1.0f, d + r_begin, out,
                                h_in, in, 0.0f, dw + static_cast<int64_t>(r_begin) * in, in));
      if (on_ready) on_ready(w_offset_[l] + static_cast<int64_t>(r_begin) * in);
    }
    if (l > 0) {
      // dh_in = dz W (batch x in); the network input needs no gradient.
      const float* w = params + w_offset_[l];
      RETURN_IF_ERROR(
          cpu::Gemm(false, false, batch, in, out, 1.0f, d, out, w, in, 0.0f, d_prev, in));
      std::swap(d, d_prev);
    }
  }
  return Status::Ok();
}

Status Mlp::Evaluate(const float* params, const float* x, const int32_t* labels, int batch,
                     double* loss_sum, int64_t* correct) {
  RETURN_IF_ERROR(CheckArgs("Mlp::Evaluate", params, x, labels, batch, loss_sum, correct));
  EnsureScratch(batch);
  RETURN_IF_ERROR(Forward(params, x, batch, /*keep_pre=*/false));
  const float* out = act_[num_layers() - 1].data();
  const int classes = config_.layers.back();
  if (config_.loss == LossKind::kMse) {
    return cpu::MeanSquaredError(out, labels, batch, classes, 0.0f, nullptr, loss_sum, correct);
  }
  return cpu::SoftmaxCrossEntropy(out, labels, batch, classes, 0.0f, nullptr, loss_sum, correct);
}

}  // namespace shoal
