// The stored encoding of the scheduler's records where the database keeps JSON: an attempt with
// its rank placements, a job's timeline, a worker's GPUs. A job's timeline and a worker's GPUs
// have the same form on the wire (the API's job view, a worker's registration).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "scheduler/state/records.h"

namespace shoal {

nlohmann::json ToJson(const JobEvent& e);
// Stored and wire form of a timeline: [{"timeMs", "type", "message"}...]; EventsFromJson skips
// malformed entries (a stored timeline is informative, never a reason to refuse a job).
nlohmann::json EventsToJson(const std::vector<JobEvent>& events);
std::vector<JobEvent> EventsFromJson(const nlohmann::json& j);

// A GPU as a worker registers it and as it is stored: {"name", "memoryMiB", "computeCapability"}.
// InvalidArgument (naming gpus[]) for a malformed or implausible one.
nlohmann::json ToJson(const GpuInfo& g);
Result<GpuInfo> GpuInfoFromJson(const nlohmann::json& j);

// Attempts are stored as JSON in the database; these are exact inverses.
nlohmann::json AttemptToStored(const Attempt& a);
Result<Attempt> AttemptFromStored(const nlohmann::json& j);

}  // namespace shoal
