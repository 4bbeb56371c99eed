// WorkerView: a worker as the API shows it (docs/api.md): each element of GET /v1/workers's
// "workers", and GET /v1/workers/{id}.
//
// On the wire (a JSON object; nlohmann::json sorts its keys): id, slots, cpus, gpus [{name,
// memoryMiB, computeCapability, and when sampled utilization and memoryUsedMiB}], memoryBytes, memoryLentBytes (0 = not reported), state (alive
// or lost), registeredMs, lastSeenMs, completedRanks, usedSlots (slots its unfinished ranks
// hold), ranks [{job, attempt, rank, state}] (those the caller may see); and either name, host
// and account, or, for a caller not allowed to see whose machine it is, "anonymous": true
// instead of them. Who sees what is the scheduler's decision (docs/security.md §2); the view
// carries what is shown.
//
// WorkerViewFromJson is for clients and tolerant: a missing or mistyped field reads as its
// default. Value types; the functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace shoal::wire {

struct GpuView {
  std::string name;
  int64_t memory_mib = 0;
  std::string compute_capability;  // e.g. "9.0"
  // The worker's latest NVML sample of it (wire/gpu_samples.h), sent as "utilization" (0..1) and
  // "memoryUsedMiB"; unset (absent: unknown) when the worker has no NVML or has not sampled yet.
  std::optional<double> utilization;
  std::optional<int64_t> memory_used_mib;
  bool operator==(const GpuView&) const = default;
};

// A rank the worker runs: {job, attempt, rank, state}.
struct WorkerRankView {
  int64_t job = 0;
  int attempt = 0;
  int rank = 0;
  std::string state;  // assigned, running or stopping
  bool operator==(const WorkerRankView&) const = default;
};

struct WorkerView {
  std::string id;
  // Whose machine it is: each sent when set; all unset for an anonymised worker.
  std::optional<std::string> name;
  std::optional<std::string> host;
  std::optional<std::string> account;
  bool anonymous = false;  // sent when true
  int slots = 0;
  int cpus = 0;
  std::vector<GpuView> gpus;
  int64_t memory_bytes = 0;
  int64_t memory_lent_bytes = 0;
  std::string state;
  int64_t registered_ms = 0;
  int64_t last_seen_ms = 0;
  int64_t completed_ranks = 0;
  // Audits (docs/audits.md): the chance per step that a rank of it is audited, the audits it
  // passed and failed, and, while state is "quarantined", why (unset when anonymised or none).
  double audit_rate = 0;
  int64_t clean_audits = 0;
  int64_t failed_audits = 0;
  std::optional<std::string> quarantine;
  int used_slots = 0;
  std::vector<WorkerRankView> ranks;
  bool operator==(const WorkerView&) const = default;
};

nlohmann::json ToJson(const GpuView& g);
nlohmann::json ToJson(const WorkerView& w);

// Reads a worker as a client. InvalidArgument only when `j` is not an object; otherwise a
// missing or mistyped field is its default above (name, host and account unset), and gpus and
// ranks entries that are not objects read as all defaults.
Result<WorkerView> WorkerViewFromJson(const nlohmann::json& j);

}  // namespace shoal::wire
