// DeviceModel: one model family on a CUDA device, as the cuda step engine drives it — the device
// twin of models/model.h, with the same flat parameter/gradient layout as the family's CPU Model
// (so buffers copy between them, and the CPU Model's InitParams initializes both).
//
// Every pointer named d_* is a device pointer; work is enqueued on the stream the model was made
// with, and each call ends with one synchronization of that stream (to bring the loss sum and
// correct count back). NOT thread-safe: one model per thread and stream.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "common/spec/job_spec.h"
#include "common/status.h"

namespace shoal {

class DeviceModel {
 public:
  virtual ~DeviceModel() = default;

  // Total floats in the parameter (and gradient) buffer: the CPU Model's num_params().
  virtual int64_t num_params() const = 0;

  // Model::ForwardBackward on the device: d_grads receives the gradient of grad_scale * loss_sum,
  // the host *loss_sum and *correct the batch's sums. on_enqueued(from), when given, is called
  // each time the kernels producing d_grads[from, num_params()) have all been ENQUEUED (from
  // decreasing), so the caller can order an all-reduce of that suffix after them on its own
  // stream; a non-OK Status from it stops the call and is returned. Labels are not checked on
  // the host: an out-of-range label makes the loss and gradients NaN.
  using GradsEnqueued = std::function<Status(int64_t from)>;
  virtual Status ForwardBackward(const float* d_params, const float* d_x, const int32_t* d_labels,
                                 int batch, float grad_scale, float* d_grads, double* loss_sum,
                                 int64_t* correct, const GradsEnqueued& on_enqueued = nullptr) = 0;

  // Forward only: host *loss_sum (unscaled sum over rows) and *correct.
  virtual Status Evaluate(const float* d_params, const float* d_x, const int32_t* d_labels,
                          int batch, double* loss_sum, int64_t* correct) = 0;
};

// The spec's model on the current CUDA device, computing its GEMMs in `precision` (parameters
// stay fp32), its work enqueued on `stream` (borrowed; must outlive the model). InvalidArgument
// for an invalid model or precision, or the CUDA error's Status.
Result<std::unique_ptr<DeviceModel>> MakeDeviceModel(const JobSpec::Model& spec,
                                                     Precision precision, cudaStream_t stream);

}  // namespace shoal
