#include "worker/train/engines/engine_factory.h"

#include "worker/train/engines/cpu/cpu_step_engine.h"

namespace shoal {

Result<std::unique_ptr<StepEngine>> MakeEngine(Backend backend, const EngineConfig& config,
                                               Collective& collective,
                                               const EngineMaker& make_cuda) {
  switch (backend) {
    case Backend::kCpu:
      return MakeCpuEngine(config, collective);
    case Backend::kCuda:
      if (!make_cuda) {
        return InvalidArgument("resources.backend cuda: this shoal-train was built without CUDA");
      }
      return make_cuda(config, collective);
    case Backend::kAuto:
      break;
  }
  return InvalidArgument("the backend must be resolved (cpu or cuda) before an engine is made");
}

}  // namespace shoal
