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

// The digest (audit::StateDigest) of the file WriteCheckpoint would write: what every rank of an
// audited attempt attests at the steps rank 0 may checkpoint (docs/audits.md "Checkpoints").
Result<std::string> CheckpointDigest(const JobSpec& spec, const Checkpoint& checkpoint);

// Reads a checkpoint written for a job of the same model and optimizer (layers, activation,
// optimizer kind and seed must match `spec`, else InvalidArgument saying which). Files larger than
// `max_bytes`, malformed safetensors and missing tensors are InvalidArgument too.
Result<Checkpoint> ReadCheckpoint(const std::string& path, const JobSpec& spec, int64_t max_bytes);

// Bytes a checkpoint of `spec` takes (header aside): what ReadCheckpoint's limit should allow.
int64_t CheckpointDataBytes(const JobSpec& spec);

// The weights of spec.model.init (a published model.safetensors, a checkpoint of any job, or
// any safetensors file with shoal's tensor names).
struct ModelWeights {
  std::vector<float> params;  // the model's flat layout (num_params floats), as LoadState takes
  int64_t tensors = 0;        // layers.* tensors loaded: two per layer
  int64_t ignored = 0;        // other tensors of the file (a checkpoint's optimizer.*), unread
};

// Reads the parameters of `spec`'s model from the safetensors file at `path`: for every layer l,
// "layers.<l>.weight" [out, in] and "layers.<l>.bias" [out], F32. Only the shapes must match:
// the file's metadata (activation, optimizer, seed, position) is not looked at, so a model
// trained by another job fine-tunes here. Errors are InvalidArgument prefixed "model.init: ",
// each naming the file's problem: not a safetensors file (the parser's reason, e.g. a dtype
// other than F32); larger than any checkpoint of this model can be (weights and two optimizer
// buffers, plus 16 MiB of header); the first tensor of the spec's model, in layer order, that is
// missing or has another shape ("tensor layers.2.weight is [10, 128] in the model, [5, 128] in
// this spec's model (layers: [...])"); a layers.* tensor the spec's model does not have.
// NotFound when the file does not exist. Holds the file and the weights at once (at most
// 16 bytes per parameter).
Result<ModelWeights> ReadModelWeights(const std::string& path, const JobSpec& spec);

}  // namespace shoal
