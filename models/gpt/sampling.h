// Sampling the next token from a language model's logits (issue 15: `shoal models generate`,
// `shoal-train --generate`): temperature, top-k, and a draw that is reproducible from a seed on
// every platform (our own mapping from raw 64-bit draws; std:: distributions differ between
// standard libraries).
#pragma once

#include <cstdint>
#include <random>

#include "common/status.h"

namespace shoal {

struct SamplingOptions {
  double temperature = 1.0;  // > 0; 0 means greedy (argmax)
  int top_k = 0;             // keep the k most likely tokens; 0 = all
};

// The token drawn from softmax(logits / temperature) restricted to the top_k largest logits
// (ties broken by the lower id). `rng` advances by exactly one draw (none when greedy).
// InvalidArgument for vocab < 1, a negative temperature or top_k, or a non-finite logit.
Result<int32_t> SampleToken(const float* logits, int vocab, const SamplingOptions& options,
                            std::mt19937_64& rng);

}  // namespace shoal
