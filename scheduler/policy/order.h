// The queue orderings of the policies (policy.h), one file each: indices into snapshot.queue in
// the order the policy wants jobs started. Internal to scheduler/policy.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "scheduler/policy/snapshot.h"

namespace shoal::policy_internal {

std::vector<int> FifoOrder(const Snapshot& snapshot);      // fifo.cc
std::vector<int> PriorityOrder(const Snapshot& snapshot);  // priority.cc
// Fair-share factor per account (FairShareFactors, policy.h), for lookups.
using FactorMap = std::map<std::string, double>;
FactorMap FactorByAccount(const Snapshot& snapshot);  // fairshare.cc
std::vector<int> FairShareOrder(const Snapshot& snapshot, const FactorMap& factor);

// Submission order: submit time, then id.
inline bool SubmittedBefore(const SnapshotJob& a, const SnapshotJob& b) {
  return a.submit_ms != b.submit_ms ? a.submit_ms < b.submit_ms : a.id < b.id;
}

}  // namespace shoal::policy_internal
