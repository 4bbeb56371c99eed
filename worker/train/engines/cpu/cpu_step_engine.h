// The cpu backend's StepEngine: the spec's model (models/model.h) on the kernels/cpu operators,
// gradients summed with the rank's collective (Gloo or MPI).
#pragma once

#include <memory>

#include "common/status.h"
#include "kernels/collectives/collective.h"
#include "worker/train/engines/step_engine.h"

namespace shoal {

// One all-reduce after backward, or buckets overlapped with backward when config.bucket_bytes > 0
// and there is more than one rank. InvalidArgument for a precision other than fp32 or an invalid
// model. `collective` must outlive the engine.
Result<std::unique_ptr<StepEngine>> MakeCpuEngine(const EngineConfig& config,
                                                  Collective& collective);

}  // namespace shoal
