// Training checkpoints: the model, the optimizer state and the position in the data, in the
// safetensors format so that other tools can load the weights (common/safetensors.h).
//
// Tensors (F32): "layers.<l>.weight" [out, in] and "layers.<l>.bias" [out] for every layer l of
// the MLP; the optimizer's buffers with the same names under "optimizer.exp_avg." and
// "optimizer.exp_avg_sq." (adamw) or "optimizer.momentum_buffer." (sgd). Metadata (strings):
// format "shoal-checkpoint/1", layers, activation, optimizer, seed, worldSize, step, epoch,
// epochSamples, and the epoch-in-progress accumulators (doubles as exact "%.17g" text) that make
// a resumed run report what an uninterrupted one would.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/spec/job_spec.h"
#include "common/status.h"
#include "worker/train/engines/step_engine.h"

namespace shoal {

struct TrainPosition {
  int64_t step = 0;           // optimizer steps done
  int epoch = 1;              // the epoch in progress (1-based)
  int64_t epoch_samples = 0;  // global samples of that epoch already trained on
  int world_size = 1;         // ranks when it was written (the global batch is batchSize x this)
  // Sums over the epoch in progress so far (for its report line) and over the whole run.
  double epoch_loss = 0, epoch_correct = 0, epoch_reduce_sec = 0, epoch_time_sec = 0;
  double train_time_sec = 0;
  int64_t trained_samples = 0;
};

struct Checkpoint {
  TrainPosition position;
  EngineState state;
};

// Writes `checkpoint` for `spec` to `path` atomically (temporary file, fsync, rename).
// InvalidArgument if the state's size does not match the spec's model.
Status WriteCheckpoint(const std::string& path, const JobSpec& spec, const Checkpoint& checkpoint);

// Reads a checkpoint written for a job of the same model and optimizer (layers, activation,
// optimizer kind and seed must match `spec`, else InvalidArgument saying which). Files larger than
// `max_bytes`, malformed safetensors and missing tensors are InvalidArgument too.
Result<Checkpoint> ReadCheckpoint(const std::string& path, const JobSpec& spec, int64_t max_bytes);

// Bytes a checkpoint of `spec` takes (header aside): what ReadCheckpoint's limit should allow.
int64_t CheckpointDataBytes(const JobSpec& spec);

}  // namespace shoal
