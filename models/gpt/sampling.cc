#include "models/gpt/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace shoal {

Result<int32_t> SampleToken(const float* logits, int vocab, const SamplingOptions& options,
                            std::mt19937_64& rng) {
  if (logits == nullptr || vocab < 1) return InvalidArgument("no logits to sample from");
  if (!(options.temperature >= 0) || options.top_k < 0) {
    return InvalidArgument("temperature must be >= 0 and top-k >= 0");
  }
  for (int i = 0; i < vocab; ++i) {
    if (!std::isfinite(logits[i])) {
      return InvalidArgument("logit " + std::to_string(i) + " is not finite");
    }
  }
  std::vector<int32_t> ids(vocab);
  std::iota(ids.begin(), ids.end(), 0);
  // Most likely first, ties to the lower id: the order top-k and the cumulative draw walk.
  std::stable_sort(ids.begin(), ids.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  if (options.temperature == 0) return ids.front();
  const int keep = options.top_k == 0 ? vocab : std::min(options.top_k, vocab);
  std::vector<double> weights(keep);
  const double top = logits[ids.front()];
  double total = 0;
  for (int i = 0; i < keep; ++i) {
    weights[i] = std::exp((logits[ids[i]] - top) / options.temperature);
    total += weights[i];
  }
  const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * total;
  double cumulative = 0;
  for (int i = 0; i < keep; ++i) {
    cumulative += weights[i];
    if (u < cumulative) return ids[i];
  }
  return ids[keep - 1];  // u within rounding of the total
}

}  // namespace shoal
