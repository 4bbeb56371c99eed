#include "models/model.h"

#include "models/gpt/gpt_model.h"
#include "models/mlp/mlp.h"

namespace shoal {

Result<std::unique_ptr<Model>> MakeModel(const JobSpec::Model& spec) {
  if (spec.is_gpt()) {
    GptConfig config{spec.vocab_size, spec.context_length, spec.blocks, spec.heads,
                     spec.embed_dim};
    ASSIGN_OR_RETURN(std::unique_ptr<Gpt> gpt, Gpt::Make(config));
    return std::unique_ptr<Model>(new GptModel(std::move(gpt)));
  }
  MlpConfig config{spec.layers, spec.activation, spec.loss};
  RETURN_IF_ERROR(Mlp::ValidateConfig(config));
  return std::unique_ptr<Model>(new Mlp(std::move(config)));
}

}  // namespace shoal
