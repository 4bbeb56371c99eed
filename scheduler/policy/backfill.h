// EASY backfill (Lifka's Argonne scheduler; Slurm's sched/backfill): when the job at the head of
// the order cannot start, reserve its earliest start — the "shadow time", from the running jobs'
// limits.maxRuntime — and the slots it will take then. A later job may start now if it ends
// before the shadow time, or if it only uses slots the head job will not need at that time.
// Internal to scheduler/policy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/policy/snapshot.h"

namespace shoal::policy_internal {

struct Reservation {
  int64_t start_ms = 0;  // the head job's reserved start
  // Per worker, in the order of the workers the reservation was made for: slots free at start_ms
  // that the head job does not need (may be used now by a backfilled job of any length).
  std::vector<int> extra;
  // Sum over workers of min(free now, extra): an upper bound on what (b) below can place, so
  // most jobs are turned away without building a view. Kept current by RefreshSpare().
  int spare_now = 0;
};

// Recomputes reservation.spare_now for the free slots in `workers` (the workers it was made for).
void RefreshSpare(const std::vector<SnapshotWorker>& workers, Reservation& reservation);

// The reservation for `head` given the workers' free slots now and the jobs holding slots
// (including the ones started earlier in this cycle). nullopt when the head job cannot be placed
// even once every running job with a known runtime has ended (e.g. its slots are held by jobs
// without limits.maxRuntime): then nothing may backfill past it.
std::optional<Reservation> ReserveHead(const SnapshotJob& head,
                                       const std::vector<SnapshotWorker>& workers,
                                       const std::vector<const SnapshotRunning*>& running,
                                       int64_t now_ms);
// The same over a vector of the jobs themselves.
std::optional<Reservation> ReserveHead(const SnapshotJob& head,
                                       const std::vector<SnapshotWorker>& workers,
                                       const std::vector<SnapshotRunning>& running, int64_t now_ms);

// Whether `job`, started now, ends (by its limits.maxRuntime) before the head job's reserved
// start: then it may use any free slot.
bool EndsBeforeReservation(const SnapshotJob& job, const Reservation& reservation, int64_t now_ms);

// Where `job` may start now using only slots the head job will not need at its reserved start
// (whatever its length), or nullopt; updates the reservation's spare slots when it uses them.
// `workers` are the free slots now, the workers the reservation was made for.
std::optional<std::vector<std::string>> PlaceInSpare(const SnapshotJob& job,
                                                     const std::vector<SnapshotWorker>& workers,
                                                     Reservation& reservation);

}  // namespace shoal::policy_internal
