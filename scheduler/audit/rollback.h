// The rollback rule of docs/audits.md ("Consequences"): after a confirmed cheater, its job
// restarts from the newest checkpoint at or before the last step at which the cheater passed an
// audit in this job, since everything after that step may carry its corrupt gradients; from the
// job's start (step 0) when it never passed one or no checkpoint is that old.
// Pure, thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace shoal::audit {

// The newest of `checkpoint_steps` (any order) that is <= last_clean_audit_step, or 0 (the
// start) when there is none. A negative last_clean_audit_step means "never passed": 0.
int64_t RollbackStep(const std::vector<int64_t>& checkpoint_steps, int64_t last_clean_audit_step);

}  // namespace shoal::audit
