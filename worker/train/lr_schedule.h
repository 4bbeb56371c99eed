// The learning-rate schedule of optimizer.schedule (docs/job-spec.md): a linear warm-up, then a
// constant rate or a cosine decay to minLr, as nanoGPT / llm.c train GPT-2.
#pragma once

#include <cstdint>

#include "common/spec/job_spec.h"

namespace shoal {

// The learning rate of update `step` (1-based) of a run of `total_steps` updates:
//   step <= warmupSteps: lr * step / warmupSteps;
//   constant: lr;
//   cosine: minLr + (lr - minLr) * (1 + cos(pi * p)) / 2 with p = (step - warmupSteps) / D,
//           clamped to [0, 1], D = decaySteps or else total_steps - warmupSteps (at least 1).
// Pure; the same arguments give the same bits on every rank.
double LearningRate(const JobSpec::Optimizer& optimizer, int64_t step, int64_t total_steps);

}  // namespace shoal
