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
// the optimizer state, host copies in the model's flat layout (num_params() floats each). state_a
// is SGD's momentum buffer or AdamW's first moment, state_b AdamW's second moment (zeros for SGD).
struct EngineState {
  std::vector<float> params, state_a, state_b;
};

struct StepStats {
  double loss_sum = 0;    // summed over the global batch (all ranks, all micro-batches), unscaled
  double correct = 0;     // labels of the global batch predicted right (argmax)
  double reduce_sec = 0;  // time this rank waited for the gradient all-reduce (not hidden)
  double grad_norm = 0;   // global L2 norm of the summed, scaled gradient, before clipping
};

class StepEngine;

// The audit protocol's two moments inside a step (docs/audits.md; worker/train/audit_session.h).
// Both run on every rank, in the same order, and may use the rank's collective.
//
// The side band: SideBandFloats() extra floats (the same count on every rank) that the engine
// appends to its gradient all-reduce, zeroed each step, so that the audit's per-step exchange
// rides in the collective the step makes anyway. The audit writes its rank's slot in Commit and
// reads every rank's, summed, in Verify; the engine never reads them, and they never touch the
// gradient, loss or correct count.
class StepAudit {
 public:
  virtual ~StepAudit() = default;
  virtual int64_t SideBandFloats() const = 0;
  // After backward, before the all-reduce: `local` holds this rank's gradient (n floats, every
  // micro-batch summed), which the audit commits to (and a test fault may alter in place);
  // `side` is the zeroed side band (SideBandFloats() floats) going into the same all-reduce.
  virtual Status Commit(int64_t step, float* local, int64_t n, float* side) = 0;
  // The step's all-reduce, in place, of `count` floats: the gradient (Commit's n), the engine's
  // slots and the side band. The engine calls it instead of its collective's AllReduceSum, so
  // that a transparent plan can reduce another way (audit_session.h).
  virtual Status Reduce(float* data, int64_t count) = 0;
  // After the all-reduce, before the optimizer update: `reduced` is the all-reduced gradient (the
  // n floats of Commit, summed over the ranks), `side` the summed side band. Judges the step's
  // commitments, runs its audits through engine.LocalGradient (exchanging more over the
  // collective only when there are any), checks that `reduced` sums what the ranks committed to,
  // settles disputes. An error stops the step before its update (Aborted for a dispute).
  virtual Status Verify(int64_t step, const float* reduced, const float* side,
                        StepEngine& engine) = 0;
};

// One optimizer update's work and its knobs.
struct StepInput {
  // micro_batches x batch rows (row-major, dim floats each; host memory) and their labels
  // (label_width each), micro-batch after micro-batch.
  const float* x = nullptr;
  const int32_t* y = nullptr;
  int batch = 0;               // rows per micro-batch
  int64_t dim = 0;             // floats per row of x
  int label_width = 1;         // labels per row of y
  int micro_batches = 1;       // gradients of every micro-batch are summed before the all-reduce
  float grad_scale = 1;        // the gradient is that of loss_sum * grad_scale
  int64_t step = 1;            // 1-based number of this update (AdamW's bias correction)
  float lr = 0;                // this update's learning rate (the schedule's value)
  float clip_norm = 0;         // > 0: scale the summed gradient down to this L2 norm when larger
  StepAudit* audit = nullptr;  // audits (docs/audits.md); null: none
};

// The factor clipGradNorm scales a gradient of L2 norm `norm` by, as
// torch.nn.utils.clip_grad_norm_: max_norm / (norm + 1e-6) when that is below 1, else 1 (also for
// max_norm <= 0, no clipping).
inline float ClipCoefficient(float max_norm, double norm) {
  if (max_norm <= 0) return 1.0f;
  const double coef = max_norm / (norm + 1e-6);
  return coef < 1.0 ? static_cast<float>(coef) : 1.0f;
}

// What an engine is built from: the validated spec, this rank's place and the knobs of
// TrainerOptions that concern the step.
struct EngineConfig {
  const JobSpec* spec = nullptr;
  int threads = 1;           // CPU compute threads
  int64_t bucket_bytes = 0;  // gradient bucket size for overlap (0 = backend default)
  int device = 0;            // CUDA device ordinal (cuda backend)
  double timeout_sec = 60;   // a collective waiting longer than this fails (peer dead or stuck)
  // Every step's all-reduce goes through the host collective (and the step's audit), never a
  // device communicator: audited attempts, whose commitments and checks are made on the host.
  // The cuda engine then creates no NCCL communicator (so several ranks may share one GPU).
  bool reduce_on_host = false;
};

class StepEngine {
 public:
  virtual ~StepEngine() = default;

  // e.g. "cpu (OpenBLAS, 1 thread)" or "cuda (NVIDIA H200, tf32, NCCL)": for the log.
  virtual std::string Describe() const = 0;
  virtual int64_t num_params() const = 0;

  // One synchronous data-parallel step: forward and backward on each micro-batch of `in`, the
  // gradients summed locally and then over every rank (one all-reduce), clipped to in.clip_norm,
  // then optimizer update number in.step at in.lr. Returns the global loss sum, correct count and
  // gradient norm. Micro-batches are summed in order, so results are deterministic.
  // InvalidArgument when the loss or a gradient is NaN/Inf (divergence: parameters are then
  // unspecified); a collective failure comes back as its Status (Aborted / DeadlineExceeded).
  virtual Result<StepStats> Step(const StepInput& in) = 0;

  // This rank's local gradient of `in`'s micro-batches at the current parameters, bit-identical
  // to the one Step() computes before its all-reduce, into `out` (num_params() floats); no
  // collective, no update. For audits: FailedPrecondition on engines that cannot.
  virtual Status LocalGradient(const StepInput& in, std::vector<float>* out) {
    (void)in;
    (void)out;
    return FailedPrecondition(Describe() + " cannot recompute a gradient for an audit");
  }
  // What must match for two ranks' gradients to agree to the bit (audit::ComputeConfig); ""
  // when this engine does not take part in audits.
  virtual std::string ComputeConfig() const { return ""; }

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

  // The device's peak dense FLOP/s at the engine's GEMM precision, for MFU; 0 when unknown (the
  // CPU's, and GPUs outside engines/peak_flops.h's table).
  virtual double PeakFlops() const { return 0; }

  // Extra words for the epoch line, e.g. "(3 buckets/step)"; empty when there is nothing to add.
  virtual std::string StepNote() const { return ""; }
};

// OK when every buffer of `state` holds n floats, else InvalidArgument (for LoadState).
Status CheckStateSize(const EngineState& state, int64_t n);

// How an engine is made from its config and this rank's collective (which must outlive it).
using EngineMaker =
    std::function<Result<std::unique_ptr<StepEngine>>(const EngineConfig&, Collective&)>;

}  // namespace shoal
