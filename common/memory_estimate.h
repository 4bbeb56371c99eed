// How much memory one rank of a job needs, estimated from its spec alone (docs/design.md §9).
//
// The scheduler places a rank only on a worker that lends at least this much per slot (RAM for a
// cpu rank, GPU memory for a cuda rank), and the worker runs the rank under a limit derived from
// it (RankMemoryLimit). The numbers follow what shoal-train really allocates
// (worker/train/cpu_step_engine.cc, mlp.cc, trainer.cc; the cuda engine mirrors the buffers on the
// GPU), in fp32:
//
//   model state   16 B/parameter: parameters, gradients and TWO optimizer buffers (AdamW's two
//                 moments; sgd's momentum plus a second buffer the engines keep for it too, zeros);
//                 20 B with training.gradAccumulation > 1 (the summed earlier micro-batches)
//   snapshot      12 B/parameter, host only: the copy of parameters and optimizer state that rank 0
//                 takes to write a checkpoint, and that a resuming rank reads (every rank gets the
//                 same limit, and any rank may be rank 0 of a later attempt)
//   activations   4 B x rows x (every layer's output, every hidden pre-activation, two backward
//                 buffers of the widest layer, the input batch), rows = max(batchSize, 1024 when
//                 there is a test set: evaluation runs in chunks of 1024)
//   overhead      a fixed 256 MiB for the process, OpenBLAS/Gloo threads and buffers (host), or the
//                 CUDA context and NCCL buffers (device)
//
// NOT counted: the data set, which every rank loads whole (features as float32 + labels). Its
// size is unknown until a worker reads it; the worker's limit leaves headroom for it
// (RankMemoryLimit), and a data set larger than that fails the job with OutOfMemory.
//
// Thread-safe, never throws; saturates at INT64_MAX instead of overflowing.
#pragma once

#include <cstdint>
#include <string>

#include "common/spec/job_spec.h"

namespace shoal {

inline constexpr int64_t kMiB = int64_t{1} << 20;
inline constexpr int64_t kGiB = int64_t{1} << 30;
// The fixed per-process part of an estimate (host or device).
inline constexpr int64_t kRankOverheadBytes = 256 * kMiB;

struct RankMemoryEstimate {
  int64_t parameters = 0;         // ModelParameterCount(spec.model)
  int64_t model_state_bytes = 0;  // 16 B per parameter (20 B when accumulating gradients)
  int64_t snapshot_bytes = 0;     // 12 B per parameter (host)
  int64_t activation_bytes = 0;
  int64_t overhead_bytes = kRankOverheadBytes;
  // What a rank needs in all: host RAM of a cpu rank (everything above), and GPU memory of a
  // cuda rank (model state + activations + overhead; its host side needs the snapshot, the batch
  // and the process, far less than the GPU part).
  int64_t host_bytes = 0;
  int64_t device_bytes = 0;
};

// The estimate for one rank of `spec` (the same for every rank).
RankMemoryEstimate EstimateRankMemory(const JobSpec& spec);

// The bytes a rank of `spec` needs on the memory it runs on: device_bytes for backend cuda, else
// host_bytes (backend auto may fall back to cpu on any worker, so it is held to the host figure).
int64_t RankMemoryNeed(const JobSpec& spec);

// The limit a worker enforces on a rank estimated at `estimate_bytes`: max(1.5 x estimate,
// estimate + 512 MiB) — room for the data set and allocator slack — capped at `cap_bytes` (what
// the worker lends per slot; <= 0 = no cap) but never below the estimate itself.
int64_t RankMemoryLimit(int64_t estimate_bytes, int64_t cap_bytes);

// "34.1 GiB", "512 MiB", "1.5 KiB", "12 B": one decimal from KiB up.
std::string FormatBytes(int64_t bytes);

}  // namespace shoal
