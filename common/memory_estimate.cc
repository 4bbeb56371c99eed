#include "common/memory_estimate.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace shoal {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

int64_t SatMul(int64_t a, int64_t b) {
  if (a <= 0 || b <= 0) return 0;
  return a > kMax / b ? kMax : a * b;
}
int64_t SatAdd(int64_t a, int64_t b) { return a > kMax - b ? kMax : a + b; }

}  // namespace

RankMemoryEstimate EstimateRankMemory(const JobSpec& spec) {
  RankMemoryEstimate e;
  const std::vector<int>& layers = spec.model.layers;
  e.parameters = ModelParameterCount(spec.model);
  // gradAccumulation > 1 keeps the earlier micro-batches' summed gradient: 4 B more.
  const int64_t accumulation = std::max(spec.training.grad_accumulation, 1);
  e.model_state_bytes = SatMul(e.parameters, accumulation > 1 ? 20 : 16);
  e.snapshot_bytes = SatMul(e.parameters, 12);
  if (spec.model.is_gpt()) {
    // models/gpt/gpt.h's buffers for B windows of T tokens (N = B*T rows), as floats: per block
    // x, ln1, atty, x2, ln2 (5 N C), qkv (3 N C), the MLP's pre-activation and output (8 N C),
    // four statistics (4 N) and attention probabilities (B H T^2); then the final LayerNorm and
    // backward scratch (4 N C + 4 N C + 3 N C + B H T^2), the logits (N V) and the trainer's
    // window batch (2 N). Evaluation runs 16 windows at a time, the same buffers when B >= 16.
    const JobSpec::Model& m = spec.model;
    const int64_t B = std::max(spec.training.batch_size, spec.data.test.empty() ? 1 : 16);
    const int64_t T = m.context_length, C = m.embed_dim, N = SatMul(B, T);
    const int64_t att = SatMul(SatMul(B, m.heads), SatMul(T, T));
    const int64_t per_block = SatAdd(SatMul(N, SatAdd(SatMul(16, C), 4)), att);
    int64_t floats = SatMul(per_block, m.blocks);
    floats = SatAdd(floats, SatAdd(SatMul(N, SatMul(11, C)), att));
    floats = SatAdd(floats, SatAdd(SatMul(N, m.vocab_size), SatMul(SatMul(2, N), accumulation)));
    e.activation_bytes = SatMul(floats, 4);
  } else if (layers.size() >= 2) {
    // Floats per row, as Mlp::EnsureScratch sizes its buffers: each layer's output (act_), each
    // hidden layer's pre-activation (pre_), two backward ping-pong buffers of the widest output,
    // plus the trainer's gathered input batch and its labels (xb, yb).
    int64_t per_row = std::max(0, layers.front()) + 1;
    int64_t widest = 0;
    for (size_t l = 1; l < layers.size(); ++l) {
      const int64_t w = std::max(0, layers[l]);
      per_row += l + 1 < layers.size() ? 2 * w : w;
      widest = std::max(widest, w);
    }
    per_row += 2 * widest;
    // Evaluation runs in chunks of 1024 rows through the same scratch buffers.
    const int64_t rows =
        std::max<int64_t>(spec.training.batch_size, spec.data.test.empty() ? 0 : 1024);
    e.activation_bytes = SatMul(SatMul(per_row, rows), 4);
    // The trainer gathers every micro-batch of a step at once (features and labels).
    const int64_t extra_rows = SatMul(spec.training.batch_size, accumulation - 1);
    e.activation_bytes =
        SatAdd(e.activation_bytes, SatMul(SatMul(std::max(0, layers.front()) + 1, extra_rows), 4));
  }
  e.device_bytes = SatAdd(SatAdd(e.model_state_bytes, e.activation_bytes), e.overhead_bytes);
  e.host_bytes = SatAdd(e.device_bytes, e.snapshot_bytes);
  return e;
}

int64_t RankMemoryNeed(const JobSpec& spec) {
  const RankMemoryEstimate e = EstimateRankMemory(spec);
  return spec.resources.backend == Backend::kCuda ? e.device_bytes : e.host_bytes;
}

int64_t RankMemoryLimit(int64_t estimate_bytes, int64_t cap_bytes) {
  if (estimate_bytes <= 0) return 0;
  int64_t limit =
      std::max(SatAdd(estimate_bytes, estimate_bytes / 2), SatAdd(estimate_bytes, 512 * kMiB));
  if (cap_bytes > 0) limit = std::min(limit, cap_bytes);
  return std::max(limit, estimate_bytes);
}

std::string FormatBytes(int64_t bytes) {
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

}  // namespace shoal
