// The rollback rule of docs/audits.md ("Consequences"): after a confirmed cheater, its job
// restarts from the newest checkpoint at or before the last step at which the cheater passed an
// audit in this job, since everything after that step may carry its corrupt gradients; from the
// job's start (step 0) when it never passed one or no checkpoint is that old.
// Pure, thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace shoal::audit {

// The newest of `checkpoint_steps` (any order) that is <= last_clean_audit_step, or 0 (the
// start) when there is none. A negative last_clean_audit_step means "never passed": 0.
int64_t RollbackStep(const std::vector<int64_t>& checkpoint_steps, int64_t last_clean_audit_step);

// Each worker's last clean audit in a job: the newest over its attempts (`clean_by_attempt`:
// worker -> last clean audit step, one map per attempt). The culprit's is the rule's bound.
std::map<std::string, int64_t> LastCleanAudits(
    const std::vector<const std::map<std::string, int64_t>*>& clean_by_attempt);

// The steps the rule may still roll a job back to: the LastCleanAudits steps, ascending and
// distinct. Empty for a job never audited.
std::vector<int64_t> RollbackPoints(
    const std::vector<const std::map<std::string, int64_t>*>& clean_by_attempt);

// Which of a job's checkpoints (`steps`, ascending) its store keeps: the newest `keep` (at least
// one) and, for each of `rollback_points`, the newest at or before it, so that a cheater convicted
// later still finds the checkpoint the rule picks instead of the job's start (with a small
// `checkpoint.keep` it was often pruned: docs/audits.md "Consequences").
std::vector<bool> KeptCheckpoints(const std::vector<int64_t>& steps, int keep,
                                  const std::vector<int64_t>& rollback_points);

}  // namespace shoal::audit
