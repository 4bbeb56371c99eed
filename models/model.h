// Model: one model family on the CPU, as a step engine drives it (docs/design.md §3). The training
// loop never names a family: it builds the spec's model with MakeModel and works on its flat
// buffers, so a second family (e.g. a transformer) is one more implementation of this interface.
//
// Parameters and gradients live in ONE flat float buffer owned by the caller (num_params()
// floats), so the gradient all-reduce and the optimizer are single calls over the whole model.
// Tensors() names the pieces of that buffer, for checkpoints.
//
// Implementations are NOT thread-safe (they keep scratch buffers between calls): use one model
// per thread. The CUDA twins (models/*/gpu_*.h) keep the same flat layout.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/spec/job_spec.h"
#include "common/status.h"

namespace shoal {

// A named tensor of the flat parameter buffer: floats [offset, offset + size), row-major `shape`.
struct ParamTensor {
  std::string name;  // e.g. "layers.0.weight" (the name written to checkpoints)
  std::vector<int64_t> shape;
  int64_t offset = 0;
  int64_t size = 0;
};

class Model {
 public:
  virtual ~Model() = default;

  // Total floats in the parameter (and gradient) buffer.
  virtual int64_t num_params() const = 0;
  // Every parameter tensor, in buffer order, covering [0, num_params()) without gaps.
  virtual std::vector<ParamTensor> Tensors() const = 0;

  // Labels per row: 1 for a classifier or regressor; a language model's window predicts one token
  // per position. `correct` then counts positions, and labels hold batch * label_width() ids.
  virtual int label_width() const { return 1; }

  // Fills params (num_params() floats) deterministically from `seed`: every rank that uses the
  // same seed starts from bit-identical parameters. Thread-safe (const).
  virtual void InitParams(uint64_t seed, float* params) const = 0;

  // Forward + backward on `batch` rows of x with labels: writes into grads (num_params() floats,
  // overwritten) the gradient of grad_scale * loss_sum, where loss_sum is the SUM of per-row
  // losses over the batch; *loss_sum is that unscaled sum and *correct the rows whose prediction
  // is the label. When `on_ready` is set it is called each time a further suffix
  // grads[from, num_params()) is final, `from` decreasing to 0 (for overlapping the all-reduce);
  // `chunk_floats` hints how finely to report. InvalidArgument on bad arguments or labels.
  using GradsReady = std::function<void(int64_t from)>;
  virtual Status ForwardBackward(const float* params, const float* x, const int32_t* labels,
                                 int batch, float grad_scale, float* grads, double* loss_sum,
                                 int64_t* correct, const GradsReady& on_ready = nullptr,
                                 int64_t chunk_floats = 0) = 0;

  // Forward only: *loss_sum (unscaled sum over rows) and *correct; same errors.
  virtual Status Evaluate(const float* params, const float* x, const int32_t* labels, int batch,
                          double* loss_sum, int64_t* correct) = 0;
};

// The model `spec` describes (its model section), or InvalidArgument saying what is wrong with it.
Result<std::unique_ptr<Model>> MakeModel(const JobSpec::Model& spec);

}  // namespace shoal
