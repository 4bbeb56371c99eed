#include "scheduler/policy/elastic.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

#include "scheduler/policy/placement.h"

namespace shoal::policy_internal {

void GrowJobs(const Snapshot& snapshot, const PolicyOptions& options, const FactorMap& factor,
              std::vector<SnapshotWorker>& workers, Decisions& out) {
  if (FreeSlotsTotal(workers) == 0) return;
  std::vector<const SnapshotRunning*> candidates;
  for (const auto& r : snapshot.running) {
    const int ranks = static_cast<int>(r.rank_workers.size());
    if (IsElastic(r) && ranks < r.max_ranks &&
        snapshot.now_ms - r.start_ms >= options.resize_min_interval_ms) {
      candidates.push_back(&r);
    }
  }
  if (candidates.empty()) return;
  // The ordering's own criteria: fair share (highest factor first), then priority, then age.
  auto factor_of = [&](const SnapshotRunning* r) {
    if (options.kind != PolicyKind::kFairShare) return 0.0;
    return factor.Get(r->account, 1.0);
  };
  std::sort(candidates.begin(), candidates.end(), [&](const auto* a, const auto* b) {
    const double fa = factor_of(a), fb = factor_of(b);
    if (fa != fb) return fa > fb;
    if (options.kind != PolicyKind::kFifo && a->priority != b->priority) {
      return a->priority > b->priority;
    }
    return a->submit_ms != b->submit_ms ? a->submit_ms < b->submit_ms : a->id < b->id;
  });
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < workers.size(); ++i) index[workers[i].id] = i;
  for (const SnapshotRunning* r : candidates) {
    const int ranks = static_cast<int>(r->rank_workers.size());
    // A restart costs the work since the last checkpoint: worth it only for a real gain.
    const int gain = std::max(1, static_cast<int>(std::ceil(ranks * options.grow_min_gain)));
    SnapshotJob job = AsJob(*r);
    job.min_ranks = std::min(r->max_ranks, ranks + gain);
    // Its own slots are free to its new placement.
    std::vector<SnapshotWorker> freed = workers;
    for (const std::string& wid : r->rank_workers) {
      if (auto it = index.find(wid); it != index.end()) ++freed[it->second].free_slots;
    }
    auto placement = PlaceGang(job, freed);
    if (!placement) continue;
    CommitPlacement(*placement, freed);
    workers = std::move(freed);
    std::string why = "grow " + std::to_string(ranks) + " -> " +
                      std::to_string(placement->size()) + " ranks: slots are free";
    out.resizes.push_back({r->id, std::move(*placement), std::move(why)});
  }
}

}  // namespace shoal::policy_internal
