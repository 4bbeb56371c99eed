// The cuda backend's StepEngine (worker/train/engines/step_engine.h): the spec's DeviceModel
// (models/device_model.h) on the hand-written kernels/cuda operators, fp32 master weights, the
// optimizer in one launch over the flat buffer, and NCCL between ranks.
//
// One step, with S the compute stream and C the communication stream:
//   S: copy the batch in, forward, backward. Each time the layers finished so far hold at least a
//      bucket of gradients (EngineConfig.bucket_bytes, default 25 MiB, as PyTorch DDP), an event
//      is recorded on S and C waits for it, then all-reduces that bucket — while S goes on with
//      the earlier layers. No host synchronization orders them.
//   C: after backward, the last bucket and the step's loss/correct sums (one NCCL group).
//   S: waits for C's event, checks the gradients for NaN/Inf, applies SGD-momentum/AdamW.
//   Host: waits for S through NcclCommunicator::Synchronize (NCCL errors and a timeout abort the
//   communicator: a dead peer fails the step with Aborted/DeadlineExceeded, never a hang).
// With one rank there is no NCCL and no C.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "kernels/collectives/collective.h"
#include "worker/train/engines/step_engine.h"

namespace shoal {

inline constexpr int64_t kDefaultNcclBucketBytes = 25ll << 20;

// Builds the engine on CUDA device config.device (every rank of a node on its own device);
// `collective` bootstraps NCCL (its Broadcast carries the NCCL id) and must outlive the engine.
// Unavailable without a usable device or, for more than one rank, without NCCL in the build.
Result<std::unique_ptr<StepEngine>> MakeCudaEngine(const EngineConfig& config,
                                                   Collective& collective);

// The number of CUDA devices this process can use; 0 with the reason in *why when there is none.
int CudaDeviceCount(std::string* why);

}  // namespace shoal
