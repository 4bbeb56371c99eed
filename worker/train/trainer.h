// Trainer: one data-parallel rank of a TrainingJob (docs/design.md §2 step 5).
//
// Every rank holds the same parameters (same seed, same updates); each step it computes the
// gradient of its shard of the global batch, the gradients are summed across ranks (one
// all-reduce of a flat buffer), and every rank applies the same optimizer update. Rank 0 reports
// progress as "@shoal {json}" lines on stdout (with TrainerOptions::progress_json), which the
// worker forwards to the scheduler; every rank reports a final "result" line with its parameter
// checksum.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "common/spec/job_spec.h"
#include "common/status.h"
#include "common/wire/audit_report.h"
#include "kernels/collectives/collective.h"
#include "worker/train/engines/step_engine.h"

namespace shoal {

// Exit codes of shoal-train. The scheduler retries 1 and 3 (within limits.maxRetries) but not 2
// or 4 (the job needs more memory than the rank was given: FAILED with reason OutOfMemory).
inline constexpr int kTrainOk = 0;
inline constexpr int kTrainError = 1;       // unexpected failure
inline constexpr int kTrainBadInput = 2;    // bad spec, data or flags; also divergence (NaN loss)
inline constexpr int kTrainPeerFailed = 3;  // a collective failed: a peer died or hung
inline constexpr int kTrainOutOfMemory = 4;  // an allocation failed (std::bad_alloc)
// An audit found a gradient that does not match its commitment (docs/audits.md): the step was
// not applied; the ranks' audit records say who disagreed. The scheduler judges, not retries.
inline constexpr int kTrainAuditDispute = 5;
inline constexpr int kTrainStopped = 143;   // stopped on SIGTERM/SIGINT (128 + SIGTERM)

struct TrainResult {
  double test_accuracy = -1;  // -1 when there is no test set
  double test_loss = 0;
  double train_loss = 0;      // mean loss over the last epoch
  double samples_per_sec = 0; // global samples per second over training steps
  int64_t steps = 0;
  double wall_seconds = 0;
  std::string param_checksum;  // FNV-1a of the final parameters
  bool stopped = false;        // stopped early on request (TrainerOptions::stop_requested)
  int64_t resumed_step = 0;    // the checkpoint's step when resumed (0 = from the start)
  int64_t audit_recomputations = 0;  // AuditSession::recomputations() (docs/audits.md)
};

struct TrainerOptions {
  int threads = 1;             // BLAS threads for this rank
  double report_every_sec = 1.0;  // progress report period of rank 0
  int64_t max_steps = 0;       // stop after this many steps (0 = the spec's epochs); for benchmarks
  // Gradient buckets all-reduced while backward runs (GradReducer); 0 = one all-reduce of the
  // whole buffer after backward. Results agree up to float rounding (the first layer's weight
  // gradient is then computed in row chunks, which some BLAS kernels round differently). Off by default: on CPU ranks
  // that share cores, Gloo's fixed per-call cost and the extra thread outweigh the overlap
  // (bench/README.md: 256 KiB buckets ran at ~0.8x of one all-reduce on the 2-core VM).
  int64_t bucket_bytes = 0;
  int device = 0;  // CUDA device ordinal for the cuda backend
  // Checkpoints (worker/train/checkpoint.h): rank 0 writes ckpt-<step>.safetensors here every
  // spec.checkpoint.everySeconds / everySteps and when stopped on request, keeping the newest
  // spec.checkpoint.keep, and reports each with a {"type":"checkpoint"} line. "" = none.
  std::string checkpoint_dir;
  // > 0: checkpoint every this many seconds instead of spec.checkpoint.everySeconds (the
  // scheduler's Young/Daly interval for this attempt, passed by the worker).
  int checkpoint_every_seconds = 0;
  // A checkpoint every rank starts from ("" = from the start). With the world size it was
  // written at, the run continues bit-identically (on CPU) to one that was never interrupted.
  std::string resume_from;
  // Set asynchronously (a signal handler): at the next step boundary every rank stops, rank 0
  // after writing a checkpoint; if a peer is already gone, rank 0 checkpoints the last step
  // that completed. Train() then returns with result.stopped.
  const std::atomic<bool>* stop_requested = nullptr;
  double timeout_sec = 60;  // NCCL: longest wait for a step's all-reduce before giving up
  // Reports (progress, checkpoint, result) as "@shoal {json}" lines for shoal-worker, which
  // passes --progress-json; off, a person running shoal-train sees readable lines only.
  bool progress_json = false;

  // Audits (docs/audits.md): this rank's plan, and a test fault ("" = none; needs a plan).
  std::optional<wire::AuditPlan> audit_plan;
  std::string cheat;
  // Every step's all-reduce on the host, as audited steps always are (EngineConfig::
  // reduce_on_host): lets benchmarks compare audited cuda ranks with unaudited ones on one GPU.
  bool reduce_on_host = false;

  // The cuda backend, provided by builds with CUDA (worker/train/engines/cuda, handed in by
  // shoal-train's launch); both empty without. `cuda_usable` says whether a device can be used
  // (else why not), for backend auto.
  EngineMaker make_cuda_engine;
  std::function<bool(std::string* why)> cuda_usable;
};

// The backend a rank trains on: cpu and cuda as asked (cuda without CUDA support is
// InvalidArgument); auto is cuda when every rank has a usable GPU (decided together through
// `collective`, so ranks never disagree), else cpu. Writes the decision to `out`.
Result<Backend> ResolveBackend(const JobSpec& spec, Collective& collective,
                               const TrainerOptions& options, std::ostream& out);

// Trains `spec` as rank collective.rank() of collective.size(). Writes human log lines and, with
// options.progress_json, "@shoal" report lines to `out`. Returns the result, or an error whose code
// maps to an exit code through ExitCodeFor(). Not thread-safe (one trainer per process).
Result<TrainResult> Train(const JobSpec& spec, Collective& collective, const TrainerOptions& options,
                          std::ostream& out);

// The shoal-train exit code for a failed Train().
int ExitCodeFor(const Status& status);

}  // namespace shoal
