// The queue orderings of the policies (policy.h), one file each: indices into snapshot.queue in
// the order the policy wants jobs started. Internal to scheduler/policy.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scheduler/policy/policy.h"
#include "scheduler/policy/snapshot.h"

namespace shoal {
class QueueIndex;
}

namespace shoal::policy_internal {

std::vector<int> FifoOrder(const Snapshot& snapshot);      // fifo.cc
std::vector<int> PriorityOrder(const Snapshot& snapshot);  // priority.cc
// Fair-share factor per account (FairShareFactors, policy.h), for lookups: the rated accounts,
// sorted by name. A flat vector, since every cycle builds one for a few accounts.
class FactorMap {
 public:
  FactorMap() = default;
  explicit FactorMap(std::vector<FairShare> rated) : rated_(std::move(rated)) {}
  // The account's factor; std::out_of_range when it was not rated.
  double at(std::string_view account) const;
  // The account's factor, or `otherwise` when it was not rated.
  double Get(std::string_view account, double otherwise) const;

 private:
  const FairShare* Find(std::string_view account) const;
  std::vector<FairShare> rated_;
};
// With `index`, the queued jobs' accounts are the index's (no pass over the queue).
FactorMap FactorByAccount(const Snapshot& snapshot, const QueueIndex* index = nullptr);
std::vector<int> FairShareOrder(const Snapshot& snapshot, const FactorMap& factor);
// Queued jobs' factors, what FairShareOrder ranks by first: each account's looked up in `factor`
// once (the scheduler and shoal-sim ask for thousands of queued jobs of a few accounts every
// cycle), by account_id where given, else by name. Every queued job's account must be in
// `factor` (FactorByAccount rates them all).
class FactorLookup {
 public:
  explicit FactorLookup(const FactorMap& factor) : factor_(factor) {}
  double operator()(const SnapshotJob& job);

 private:
  const FactorMap& factor_;
  std::vector<double> by_id_;  // NaN: not looked up yet
  std::unordered_map<std::string_view, double> by_name_;
};

// +las (PolicyOptions::las): a job's attained-service level now, 0 first.
int LasLevel(const SnapshotJob& job, int64_t now_ms, const PolicyOptions& options);
// A running job's level: its attained service including the current attempt (no starvation
// guard: it is running).
int LasLevelRunning(const SnapshotRunning& job, int64_t now_ms, const PolicyOptions& options);
// Reorders each run of consecutive jobs in `order` whose group[i] (per queue index) is equal by
// LasLevel, stably (las.cc).
void LasWithinGroups(const Snapshot& snapshot, const PolicyOptions& options,
                     const std::vector<double>& group, std::vector<int>& order);

// Fair-share (and +las) preemption for the blocked `head` (preempt.cc): appends to out.preempts,
// out.resizes and out.guarded. `workers` are the free slots after this cycle's starts; they are
// used as scratch and left as they were.
void PreemptFor(const SnapshotJob& head, const Snapshot& snapshot,
                std::vector<SnapshotWorker>& workers, const PolicyOptions& options,
                const FactorMap& factor, Decisions& out);

// Submission order: submit time, then id.
inline bool SubmittedBefore(const SnapshotJob& a, const SnapshotJob& b) {
  return a.submit_ms != b.submit_ms ? a.submit_ms < b.submit_ms : a.id < b.id;
}

}  // namespace shoal::policy_internal
