// FIFO gang scheduling: jobs start strictly in queue order; the head job blocks everything behind
// it until its whole gang (workers.min ranks) fits. No backfill, no preemption.
#pragma once

#include "scheduler/policy/snapshot.h"

namespace shoal {

// Pure: decides on `snapshot` only. Every queued job appears in exactly one of starts / waits.
// A job that no alive worker could ever host (e.g. cuda with no GPU worker) waits with reason
// Constraint and does not block the queue, since waiting cannot help it.
Decisions FifoPolicy(const Snapshot& snapshot);

}  // namespace shoal
