// The step engine a rank trains on, chosen by backend (docs/design.md §4 backends). The cpu engine
// is in every build; the cuda engine (engines/cuda) only in builds with CUDA, whose shoal-train
// hands it in (worker/train/launch.h), so that nothing below the launch depends on CUDA.
#pragma once

#include <memory>

#include "common/spec/enums.h"
#include "common/status.h"
#include "kernels/collectives/collective.h"
#include "worker/train/engines/step_engine.h"

namespace shoal {

// Backend::kCpu: the cpu engine. Backend::kCuda: make_cuda (InvalidArgument when it is empty, i.e.
// the build has no CUDA). Backend::kAuto must have been resolved before (InvalidArgument).
Result<std::unique_ptr<StepEngine>> MakeEngine(Backend backend, const EngineConfig& config,
                                               Collective& collective,
                                               const EngineMaker& make_cuda);

}  // namespace shoal
