#include "worker/train/generate.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/tokenizer.h"
#include "models/gpt/gpt.h"
#include "models/gpt/sampling.h"
#include "worker/train/checkpoint.h"

namespace shoal {

namespace {

Result<std::unique_ptr<Tokenizer>> TokenizerFor(int vocab_size, const std::string& gpt2_dir) {
  if (vocab_size == 256) return MakeBytesTokenizer();
  if (vocab_size == 50257) {
    std::string dir = gpt2_dir;
    if (dir.empty()) {
      const char* env = std::getenv("SHOAL_GPT2_DIR");
      dir = env == nullptr ? "" : env;
    }
    if (dir.empty()) {
      return InvalidArgument(
          "vocabSize 50257 is GPT-2's BPE: give --gpt2-dir DIR (encoder.json, "
          "vocab.bpe) or set SHOAL_GPT2_DIR");
    }
    return LoadGpt2Tokenizer(dir + "/encoder.json", dir + "/vocab.bpe");
  }
  return InvalidArgument(
      "--generate decodes vocabSize 256 (bytes) or 50257 (gpt2); this model "
      "has " +
      std::to_string(vocab_size));
}

}  // namespace

Result<JobSpec> SpecForModel(std::string_view model_json) {
  const nlohmann::json model = nlohmann::json::parse(model_json, nullptr, false);
  if (!model.is_object()) {
    return InvalidArgument("--model-json needs a JSON object (a model section), got \"" +
                           std::string(model_json.substr(0, 80)) + "\"");
  }
  // JSON is YAML: the validator checks the section as it would in a job file. data.train and the
  // backend are required there; generation reads neither.
  const nlohmann::json doc = {{"apiVersion", "shoal/v1"},
                              {"kind", "TrainingJob"},
                              {"metadata", {{"name", "generate"}}},
                              {"spec",
                               {{"model", model},
                                {"data", {{"train", "unused"}}},
                                {"resources", {{"backend", "cpu"}, {"gpusPerWorker", 0}}}}}};
  return ParseJobSpec(doc.dump(), "--model-json");
}

Result<std::string> Generate(const JobSpec& spec, const GenerateOptions& options) {
  if (!spec.model.is_gpt()) return InvalidArgument("--generate needs a job with model.kind gpt");
  if (options.tokens < 1 || options.tokens > 100000 || !(options.temperature >= 0) ||
      options.top_k < 0) {
    return InvalidArgument("--tokens must be in 1..100000, --temperature >= 0, --top-k >= 0");
  }
  const JobSpec::Model& m = spec.model;
  ASSIGN_OR_RETURN(std::unique_ptr<Gpt> gpt,
                   Gpt::Make({m.vocab_size, m.context_length, m.blocks, m.heads, m.embed_dim}));
  ASSIGN_OR_RETURN(ModelWeights weights, ReadModelWeights(options.weights, spec));
  ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer,
                   TokenizerFor(m.vocab_size, options.gpt2_dir));
  ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer->Encode(options.prompt));
  if (ids.empty()) ids.push_back(m.vocab_size == 256 ? '\n' : 50256);
  const size_t prompt_tokens = ids.size();
  std::mt19937_64 rng(options.seed);
  const SamplingOptions sampling{options.temperature, options.top_k};
  for (int i = 0; i < options.tokens; ++i) {
    // The model sees at most contextLength tokens: the most recent ones.
    const size_t T = std::min<size_t>(ids.size(), static_cast<size_t>(m.context_length));
    const std::vector<int32_t> window(ids.end() - static_cast<std::ptrdiff_t>(T), ids.end());
    ASSIGN_OR_RETURN(const float* logits,
                     gpt->Logits(weights.params.data(), window.data(), 1, static_cast<int>(T)));
    ASSIGN_OR_RETURN(int32_t next,
                     SampleToken(logits + (T - 1) * m.vocab_size, m.vocab_size, sampling, rng));
    ids.push_back(next);
  }
  // The prompt as written, then the decoded continuation.
  ASSIGN_OR_RETURN(std::string continuation,
                   tokenizer->Decode(std::vector<int32_t>(
                       ids.begin() + static_cast<std::ptrdiff_t>(prompt_tokens), ids.end())));
  return options.prompt + continuation;
}

}  // namespace shoal
