#include "scheduler/policy/placement.h"

#include <algorithm>

namespace shoal {

bool WorkerFits(const SnapshotJob& job, const SnapshotWorker& worker) {
  if (job.backend == Backend::kCuda) {
    return worker.gpus >= std::max(1, job.gpus_per_rank) && worker.total_slots > 0;
  }
  return worker.total_slots > 0;
}

int UsableSlots(const SnapshotJob& job, const SnapshotWorker& worker) {
  return WorkerFits(job, worker) ? std::max(0, worker.free_slots) : 0;
}

std::optional<std::vector<std::string>> PlaceGang(const SnapshotJob& job,
                                                  const std::vector<SnapshotWorker>& workers) {
  std::vector<const SnapshotWorker*> candidates;
  int free_total = 0;
  for (const auto& w : workers) {
    int usable = UsableSlots(job, w);
    if (usable > 0) {
      candidates.push_back(&w);
      free_total += usable;
    }
  }
  if (free_total < job.min_ranks) return std::nullopt;
  // Fewest nodes: fill the emptiest workers first, so the gang spans as few machines as it can.
  std::sort(candidates.begin(), candidates.end(), [&](const auto* a, const auto* b) {
    int ua = UsableSlots(job, *a), ub = UsableSlots(job, *b);
    return ua != ub ? ua > ub : a->id < b->id;
  });
  int want = std::min(job.max_ranks, free_total);
  std::vector<std::string> ranks;
  ranks.reserve(want);
  for (const auto* w : candidates) {
    for (int s = UsableSlots(job, *w); s > 0 && static_cast<int>(ranks.size()) < want; --s) {
      ranks.push_back(w->id);
    }
  }
  return ranks;
}

}  // namespace shoal
