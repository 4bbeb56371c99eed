// StepEngine: where one rank's training step runs (docs/design.md §4 backends), behind one seam so
// the trainer's loop (data order, sharding, reports, evaluation) is the same for every backend.
//
// An engine owns the model's parameters, its optimizer state and its gradient buffer. Step()
// runs forward and backward on this rank's shard, sums the gradients with every other rank (the
// engine's own collective: Gloo/MPI on CPU, NCCL on GPU), checks them and applies the optimizer.
// Every rank starts from the same parameters (Model::InitParams with the spec's seed) and applies
// the same updates, so parameters stay identical across ranks.
//
// Not thread-safe: one engine per trainer, used from the trainer's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/spec/job_spec.h"
#include "common/status.h"
#include "kernels/collectives/collective.h"

namespace shoal {

// Everything an engine needs to continue training exactly where it stopped: the parameters and
// the optimizer state, host copies in the model's flat layout (num_params() floats each). state_a is
// SGD's momentum buffer or AdamW's first moment, state_b AdamW's second moment (zeros for SGD).
struct EngineState {
  std::vector<float> params, state_a, state_b;
};

struct StepStats {
  double loss_sum = 0;    // summed over the global batch (all ranks), unscaled
  double correct = 0;     // rows of the global batch whose argmax is the label
  double reduce_sec = 0;  // time this rank waited for the gradient all-reduce (not hidden)
};

// What an engine is built from: the validated spec, this rank's place and the knobs of
// TrainerOptions that concern the step.
struct EngineConfig {
  const JobSpec* spec = nullptr;
  int threads = 1;            // CPU compute threads
  int64_t bucket_bytes = 0;   // gradient bucket size for overlap (0 = backend default)
  int device = 0;             // CUDA device ordinal (cuda backend)
  double timeout_sec = 60;    // a collective waiting longer than this fails (peer dead or stuck)
};

class StepEngine {
 public:
  virtual ~StepEngine() = default;

  // e.g. "cpu (OpenBLAS, 1 thread)" or "cuda (NVIDIA H200, tf32, NCCL)": for the log.
  virtual std::string Describe() const = 0;
  virtual int64_t num_params() const = 0;

  // One synchronous data-parallel step: rows x[0, batch) (batch x dim, row-major, host memory)
  // with labels y, the gradient of loss_sum * grad_scale summed over every rank, then optimizer
  // update number `step` (1-based). Returns the global loss sum and correct count.
  // InvalidArgument when the loss or a gradient is NaN/Inf (divergence: parameters are then
  // unspecified); a collective failure comes back as its Status (Aborted / DeadlineExceeded).
  virtual Result<StepStats> Step(const float* x, const int32_t* y, int batch, float grad_scale,
                                 int64_t step) = 0;

  // Forward only on n host rows: this rank's unreduced loss sum and correct count.
  virtual Status Evaluate(const float* x, const int32_t* y, int n, double* loss_sum,
                          int64_t* correct) = 0;

  // The current parameters, copied to the host (num_params() floats, the model's flat layout).
  virtual Result<std::vector<float>> Params() = 0;

  // The full state (for a checkpoint), and its restoration (on resume). LoadState is
  // InvalidArgument if a buffer does not hold num_params() floats; afterwards the engine
  // continues bit-identically to the one the state was saved from (same backend, world size).
  virtual Result<EngineState> SaveState() = 0;
  virtual Status LoadState(const EngineState& state) = 0;

  // Extra words for the epoch line, e.g. "(3 buckets/step)"; empty when there is nothing to add.
  virtual std::string StepNote() const { return ""; }
};

// OK when every buffer of `state` holds n floats, else InvalidArgument (for LoadState).
Status CheckStateSize(const EngineState& state, int64_t n);

// How an engine is made from its config and this rank's collective (which must outlive it).
using EngineMaker =
    std::function<Result<std::unique_ptr<StepEngine>>(const EngineConfig&, Collective&)>;

}  // namespace shoal
