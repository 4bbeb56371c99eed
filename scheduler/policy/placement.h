// Gang placement: choosing worker slots for all ranks of one job at once, or none.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "scheduler/policy/snapshot.h"

namespace shoal {

// Whether `worker` can ever host a rank of `job` (backend and GPU constraints), ignoring load.
bool WorkerFits(const SnapshotJob& job, const SnapshotWorker& worker);

// Slots a worker offers to `job` right now.
int UsableSlots(const SnapshotJob& job, const SnapshotWorker& worker);

// Places between job.min_ranks and job.max_ranks ranks (as many as fit) on `workers`, packing
// onto the fewest workers (most free slots first; ties by id for determinism). Returns the worker
// of each rank, or nullopt when fewer than min_ranks slots are free: never a partial gang.
// Does not modify `workers`; the caller subtracts what it commits.
std::optional<std::vector<std::string>> PlaceGang(const SnapshotJob& job,
                                                  const std::vector<SnapshotWorker>& workers);

}  // namespace shoal
