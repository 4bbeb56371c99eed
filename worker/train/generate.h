// Text from a trained GPT (issue 15, docs/gpt.md): `shoal-train JOB.yaml --generate WEIGHTS`
// samples tokens one at a time from a checkpoint or a published model.safetensors of the job's
// model, and decodes them with the tokenizer its vocabulary implies (256: bytes; 50257: GPT-2's
// BPE, whose files come from --gpt2-dir or $SHOAL_GPT2_DIR).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/spec/job_spec.h"
#include "common/status.h"

namespace shoal {

struct GenerateOptions {
  std::string weights;     // safetensors with the model's tensors (a checkpoint works)
  std::string prompt;      // text the sample continues; "" starts from a newline / <|endoftext|>
  int tokens = 200;        // new tokens, 1..100000
  double temperature = 1;  // 0 = greedy
  int top_k = 0;           // 0 = all
  uint64_t seed = 1;       // the same seed, weights and prompt give the same text
  std::string gpt2_dir;    // encoder.json + vocab.bpe (vocabSize 50257)
};

// A spec for Generate from a model section alone: `model_json` is a JSON object as a model card's
// `architecture` (JobSpecToJson's spec.model), checked as a spec's model section is. The other
// sections are placeholders that Generate never reads. InvalidArgument naming the field
// otherwise. `shoal models generate` passes a pulled model's card this way (shoal-train
// --model-json), so no job file is needed.
Result<JobSpec> SpecForModel(std::string_view model_json);

// The prompt followed by the sampled continuation. InvalidArgument for a spec that is not a gpt,
// weights that do not match it (the first mismatching tensor named), a vocabulary size without a
// tokenizer, or bad options; the tokenizer's errors otherwise.
Result<std::string> Generate(const JobSpec& spec, const GenerateOptions& options);

}  // namespace shoal
