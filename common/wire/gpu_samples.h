// GpuSample: one GPU's utilisation and memory in use, as a worker samples it through NVML
// (worker/agent/nvml_sampler.h) and sends it with every heartbeat (POST
// /v1/workers/{id}/heartbeat, docs/api.md), for the dashboard's workers view.
//
// On the wire, one optional key of the heartbeat body:
//   "gpuSamples": [{"index": I, "utilization": U, "memoryUsedMiB": M, "memoryTotalMiB": T}]
//   I in 0..kMaxGpuSamples-1 (NVML's device index, each once), U in [0, 1] (the share of the last
//   sample period a kernel ran), M and T non-negative integers; at most kMaxGpuSamples entries.
// ParseGpuSamples is the scheduler's validation (a bad value is a 400 like the heartbeat's other
// fields). Value types; the functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace shoal::wire {

inline constexpr size_t kMaxGpuSamples = 64;

struct GpuSample {
  int index = 0;
  double utilization = 0;  // 0..1
  int64_t memory_used_mib = 0;
  int64_t memory_total_mib = 0;
  bool operator==(const GpuSample&) const = default;
};

// Adds "gpuSamples" to a heartbeat body (nothing when `samples` is empty).
void AddGpuSamples(const std::vector<GpuSample>& samples, nlohmann::json* body);

// Reads "gpuSamples": nullopt when absent (an agent without NVML, or an older one), else the
// samples. InvalidArgument, with the message the worker gets back, for anything else than the
// shape above.
Result<std::optional<std::vector<GpuSample>>> ParseGpuSamples(const nlohmann::json& body);

}  // namespace shoal::wire
