// +las: attained-service levels inside the base ordering (PolicyOptions::las).
#include <algorithm>

#include "scheduler/policy/order.h"

namespace shoal::policy_internal {
namespace {

// The level of `attained` GPU-seconds: how many thresholds it has reached.
int LevelOf(double attained, const PolicyOptions& options) {
  int level = 0;
  for (const double threshold : options.las_thresholds_gpu_s) level += attained >= threshold;
  return level;
}

}  // namespace

int LasLevel(const SnapshotJob& job, int64_t now_ms, const PolicyOptions& options) {
  const double attained = std::max(0.0, job.attained_gpu_s);
  if (attained <= 0) return 0;
  // The starvation guard: waiting longer than a multiple of the time it has run.
  const int64_t since = job.queued_ms > 0 ? job.queued_ms : job.submit_ms;
  const double ran_s = attained / std::max(1, job.max_ranks);
  if (static_cast<double>(now_ms - since) / 1000.0 >= options.las_starve_factor * ran_s) return 0;
  return LevelOf(attained, options);
}

int LasLevelRunning(const SnapshotRunning& job, int64_t now_ms, const PolicyOptions& options) {
  const double attained = std::max(0.0, job.attained_gpu_s) +
                          static_cast<double>(std::max<int64_t>(0, now_ms - job.start_ms)) /
                              1000.0 * static_cast<double>(job.rank_workers.size()) *
                              std::max(1, job.gpus_per_rank);
  return LevelOf(attained, options);
}

void LasWithinGroups(const Snapshot& snapshot, const PolicyOptions& options,
                     const std::vector<double>& group, std::vector<int>& order) {
  // Levels are few (one more than the thresholds): a stable counting sort per group, which runs
  // every cycle over the whole queue.
  const int levels = static_cast<int>(options.las_thresholds_gpu_s.size()) + 1;
  std::vector<int> level(snapshot.queue.size());
  for (size_t i = 0; i < level.size(); ++i) {
    level[i] = LasLevel(snapshot.queue[i], snapshot.now_ms, options);
  }
  std::vector<int> sorted(order.size());
  std::vector<size_t> next(levels + 1);
  for (size_t begin = 0; begin < order.size();) {
    const double g = group[order[begin]];
    size_t end = begin + 1;
    while (end < order.size() && group[order[end]] == g) ++end;
    std::fill(next.begin(), next.end(), 0);
    for (size_t k = begin; k < end; ++k) ++next[level[order[k]] + 1];
    next[0] = begin;
    for (int l = 1; l <= levels; ++l) next[l] += next[l - 1];
    for (size_t k = begin; k < end; ++k) sorted[next[level[order[k]]]++] = order[k];
    begin = end;
  }
  order.swap(sorted);
}

}  // namespace shoal::policy_internal
