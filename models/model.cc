#include "models/model.h"

#include "models/mlp/mlp.h"

namespace shoal {

Result<std::unique_ptr<Model>> MakeModel(const JobSpec::Model& spec) {
  // "mlp" is the only family the spec accepts today (common/spec validates model.kind).
  MlpConfig config{spec.layers, spec.activation, spec.loss};
  RETURN_IF_ERROR(Mlp::ValidateConfig(config));
  return std::unique_ptr<Model>(new Mlp(std::move(config)));
}

}  // namespace shoal
