// The read-only view a scheduling policy decides on, and the decisions it returns.
//
// Policies are pure functions of a Snapshot (DESIGN.md §7): no I/O, no clock, no state. The
// scheduler daemon builds a Snapshot from its live state; tests and the simulator build them in
// memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/job_spec.h"

namespace shoal {

struct SnapshotJob {
  int64_t id = 0;
  int min_ranks = 1;
  int max_ranks = 1;
  Backend backend = Backend::kAuto;
  int gpus_per_rank = 0;  // GPUs each rank needs (0 for CPU ranks)
};

struct SnapshotWorker {
  std::string id;
  int total_slots = 0;  // ranks it can run at once
  int free_slots = 0;   // total minus the slots held by live or stopping ranks
  int gpus = 0;         // usable GPUs (0 = CPU-only worker)
};

struct Snapshot {
  std::vector<SnapshotJob> queue;  // jobs waiting to start, in queue order (oldest first)
  std::vector<SnapshotWorker> workers;  // alive workers only
};

struct StartDecision {
  int64_t job_id = 0;
  std::vector<std::string> rank_workers;  // rank r runs on rank_workers[r]
};

struct WaitDecision {
  int64_t job_id = 0;
  std::string reason;  // kReasonResources / kReasonPriority / kReasonConstraint
  std::string detail;  // for people: "needs 4 ranks, 2 slots free"
};

struct Decisions {
  std::vector<StartDecision> starts;
  std::vector<WaitDecision> waits;  // one per queued job that does not start
};

}  // namespace shoal
