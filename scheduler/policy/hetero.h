// Heterogeneity-aware placement (docs/simulator.md "Heterogeneous pools"): the GPU types each
// queued job should prefer this cycle, from its speed on each type. Shared by the daemon
// (speeds measured online, scheduler/gpu_speeds.h) and shoal-sim (a throughput matrix).
#pragma once

#include <string>
#include <vector>

#include "scheduler/policy/snapshot.h"

namespace shoal {

// A preferred_gpu_types entry no worker has: a job whose list holds only it waits this cycle.
inline constexpr char kNoGpuType[] = "(none this cycle)";

// speeds[i]: snap.queue[i]'s speed on each of `types` (any scale; empty = leave it type-blind).
// Sets each such job's preferred_gpu_types:
// - every job prefers its fastest types (ties by name);
// - a type is contended when the jobs whose fastest it is need more ranks (min_ranks) than its
//   workers (gpu_type equal to it) have free slots. Its free slots then go, in that order, to the
//   jobs with the highest comparative advantage on it (speed there over the job's own mean
//   speed), and every other job leaves it out of its list for this cycle: it cannot take GPUs
//   that others gain more on. A job left with no type waits (kNoGpuType).
// Pure and deterministic (ties by queue order).
void PreferGpuTypes(const std::vector<std::string>& types,
                    const std::vector<std::vector<double>>& speeds, Snapshot& snap);

}  // namespace shoal
