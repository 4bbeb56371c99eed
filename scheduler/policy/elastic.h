// Elastic gangs (PolicyOptions::elastic): resizing running jobs within workers.min..max.
// Internal to scheduler/policy.
#pragma once

#include <vector>

#include "scheduler/policy/order.h"
#include "scheduler/policy/policy.h"
#include "scheduler/policy/snapshot.h"

namespace shoal::policy_internal {

inline bool IsElastic(const SnapshotRunning& r) { return r.max_ranks > r.min_ranks; }

// Grows running elastic jobs onto the free slots of `workers` (policy.h, PolicyOptions::elastic):
// in the policy's order, each job that has run resize_min_interval_ms and can gain at least
// grow_min_gain of its ranks gets a ResizeDecision; `workers` is updated with what it takes
// (its new placement may reuse its own slots). Call only when no queued job waits for slots.
void GrowJobs(const Snapshot& snapshot, const PolicyOptions& options, const FactorMap& factor,
              std::vector<SnapshotWorker>& workers, Decisions& out);

}  // namespace shoal::policy_internal
