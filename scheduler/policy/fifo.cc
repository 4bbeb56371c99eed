#include "scheduler/policy/fifo.h"

#include <string>

#include "scheduler/policy/placement.h"
#include "scheduler/state/model.h"

namespace shoal {

Decisions FifoPolicy(const Snapshot& snapshot) {
  Decisions out;
  std::vector<SnapshotWorker> workers = snapshot.workers;  // free slots shrink as we commit
  bool blocked = false;
  int64_t blocker = 0;
  for (const SnapshotJob& job : snapshot.queue) {
    int capacity = 0;
    for (const auto& w : workers) {
      if (WorkerFits(job, w)) capacity += w.total_slots;
    }
    if (!workers.empty() && capacity == 0) {
      out.waits.push_back({job.id, kReasonConstraint,
                           "no alive worker can run this job's ranks (backend " +
                               std::string(ToString(job.backend)) + ")"});
      continue;
    }
    if (blocked) {
      out.waits.push_back(
          {job.id, kReasonPriority, "waiting behind job " + std::to_string(blocker)});
      continue;
    }
    auto placement = PlaceGang(job, workers);
    if (!placement) {
      int free = 0;
      for (const auto& w : workers) free += UsableSlots(job, w);
      out.waits.push_back({job.id, kReasonResources,
                           "needs " + std::to_string(job.min_ranks) + " ranks, " +
                               std::to_string(free) + " slots free of " +
                               std::to_string(capacity)});
      blocked = true;
      blocker = job.id;
      continue;
    }
    for (const std::string& wid : *placement) {
      for (auto& w : workers) {
        if (w.id == wid) --w.free_slots;
      }
    }
    out.starts.push_back({job.id, std::move(*placement)});
  }
  return out;
}

}  // namespace shoal
