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
  e.parameters = MlpParameterCount(layers);
  e.model_state_bytes = SatMul(e.parameters, 16);
  e.snapshot_bytes = SatMul(e.parameters, 12);
  if (layers.size() >= 2) {
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
