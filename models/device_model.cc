#include "models/device_model.h"

#include "models/mlp/gpu_mlp.h"

namespace shoal {

Result<std::unique_ptr<DeviceModel>> MakeDeviceModel(const JobSpec::Model& spec,
                                                     Precision precision, cudaStream_t stream) {
  // "mlp" is the only family the spec accepts today (common/spec validates model.kind).
  ASSIGN_OR_RETURN(
      std::unique_ptr<GpuMlp> mlp,
      GpuMlp::Create(MlpConfig{spec.layers, spec.activation, spec.loss}, precision, stream));
  return std::unique_ptr<DeviceModel>(std::move(mlp));
}

}  // namespace shoal
