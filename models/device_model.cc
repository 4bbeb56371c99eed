#include "models/device_model.h"

#include "models/gpt/gpu_gpt.h"
#include "models/mlp/gpu_mlp.h"

namespace shoal {

Result<std::unique_ptr<DeviceModel>> MakeDeviceModel(const JobSpec::Model& spec,
                                                     Precision precision, cudaStream_t stream) {
  if (spec.is_gpt()) {
    // The same config as MakeModel's GptModel (models/model.cc), so the CPU model's InitParams
    // and checkpoints fit this one.
    const GptConfig config{spec.vocab_size, spec.context_length, spec.blocks, spec.heads,
                           spec.embed_dim};
    ASSIGN_OR_RETURN(std::unique_ptr<GpuGpt> gpt, GpuGpt::Create(config, precision, stream));
    return std::unique_ptr<DeviceModel>(std::move(gpt));
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<GpuMlp> mlp,
      GpuMlp::Create(MlpConfig{spec.layers, spec.activation, spec.loss}, precision, stream));
  return std::unique_ptr<DeviceModel>(std::move(mlp));
}

}  // namespace shoal
