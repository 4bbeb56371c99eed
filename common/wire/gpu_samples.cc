#include "common/wire/gpu_samples.h"

#include <set>

namespace shoal::wire {

void AddGpuSamples(const std::vector<GpuSample>& samples, nlohmann::json* body) {
  if (samples.empty()) return;
  nlohmann::json out = nlohmann::json::array();
  for (const GpuSample& s : samples) {
    out.push_back({{"index", s.index},
                   {"utilization", s.utilization},
                   {"memoryUsedMiB", s.memory_used_mib},
                   {"memoryTotalMiB", s.memory_total_mib}});
  }
  (*body)["gpuSamples"] = std::move(out);
}

Result<std::optional<std::vector<GpuSample>>> ParseGpuSamples(const nlohmann::json& body) {
  if (!body.is_object()) return std::optional<std::vector<GpuSample>>();
  auto it = body.find("gpuSamples");
  if (it == body.end()) return std::optional<std::vector<GpuSample>>();
  const std::string shape =
      "gpuSamples must be an array of at most 64 {index 0..63 (each once), utilization in [0, 1], "
      "memoryUsedMiB and memoryTotalMiB >= 0}";
  if (!it->is_array() || it->size() > kMaxGpuSamples) return InvalidArgument(shape);
  std::vector<GpuSample> out;
  std::set<int> seen;
  auto non_negative = [](const nlohmann::json& v) {
    return v.is_number_integer() && v.get<int64_t>() >= 0;
  };
  for (const auto& s : *it) {
    if (!s.is_object() || !s.contains("index") || !s["index"].is_number_integer() ||
        !s.contains("utilization") || !s["utilization"].is_number() ||
        !s.contains("memoryUsedMiB") || !non_negative(s["memoryUsedMiB"]) ||
        !s.contains("memoryTotalMiB") || !non_negative(s["memoryTotalMiB"])) {
      return InvalidArgument(shape);
    }
    GpuSample g;
    const int64_t index = s["index"].get<int64_t>();
    g.utilization = s["utilization"].get<double>();
    if (index < 0 || index >= static_cast<int64_t>(kMaxGpuSamples) || !seen.insert(index).second ||
        !(g.utilization >= 0 && g.utilization <= 1)) {
      return InvalidArgument(shape);
    }
    g.index = static_cast<int>(index);
    g.memory_used_mib = s["memoryUsedMiB"].get<int64_t>();
    g.memory_total_mib = s["memoryTotalMiB"].get<int64_t>();
    out.push_back(g);
  }
  return std::optional<std::vector<GpuSample>>(std::move(out));
}

}  // namespace shoal::wire
