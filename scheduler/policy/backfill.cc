#include "scheduler/policy/backfill.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "scheduler/policy/placement.h"

namespace shoal::policy_internal {

std::optional<Reservation> ReserveHead(const SnapshotJob& head,
                                       const std::vector<SnapshotWorker>& workers,
                                       const std::vector<SnapshotRunning>& running,
                                       int64_t now_ms) {
  std::vector<const SnapshotRunning*> pointers;
  pointers.reserve(running.size());
  for (const auto& r : running) pointers.push_back(&r);
  return ReserveHead(head, workers, pointers, now_ms);
}

std::optional<Reservation> ReserveHead(const SnapshotJob& head,
                                       const std::vector<SnapshotWorker>& workers,
                                       const std::vector<const SnapshotRunning*>& running,
                                       int64_t now_ms) {
  // Ends of the jobs whose runtime is bounded, earliest first. A job at or past its limit still
  // holds its slots until it is stopped: it frees them after now, never at now (counting them as
  // free now would place the head on busy slots and let everything behind it backfill).
  std::vector<std::pair<int64_t, const SnapshotRunning*>> ends;
  for (const SnapshotRunning* r : running) {
    if (r->max_runtime_ms > 0) {
      ends.emplace_back(std::max(now_ms + 1, r->start_ms + r->max_runtime_ms), r);
    }
  }
  // Taken earliest first from a heap: the head usually fits after a few ends, so sorting them
  // all would be wasted (shoal-sim runs this every cycle). Same order as a sort by (end, id).
  auto later = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second->id > b.second->id;
  };
  std::make_heap(ends.begin(), ends.end(), later);
  std::vector<SnapshotWorker> future = workers;
  // Worker ids to positions, sorted for binary search: one allocation, not one per worker (this
  // runs in most cycles of a busy cluster under backfill).
  std::vector<std::pair<std::string_view, size_t>> index;
  index.reserve(future.size());
  for (size_t i = 0; i < future.size(); ++i) index.emplace_back(future[i].id, i);
  std::sort(index.begin(), index.end());
  auto find = [&](std::string_view id) -> SnapshotWorker* {
    auto it =
        std::lower_bound(index.begin(), index.end(), std::pair<std::string_view, size_t>(id, 0));
    return it != index.end() && it->first == id ? &future[it->second] : nullptr;
  };
  int fitting_free = 0;
  for (const auto& w : future) fitting_free += UsableSlots(head, w);
  while (!ends.empty()) {
    const int64_t t = ends.front().first;
    while (!ends.empty() && ends.front().first == t) {
      std::pop_heap(ends.begin(), ends.end(), later);
      const SnapshotRunning* ending = ends.back().second;
      ends.pop_back();
      for (const std::string& wid : ending->rank_workers) {
        SnapshotWorker* w = find(wid);
        if (w == nullptr) continue;  // a lost worker: its slots do not come back
        ++w->free_slots;
        if (WorkerFits(head, *w)) ++fitting_free;
      }
    }
    if (fitting_free < head.min_ranks) continue;  // cheap test before placing
    auto placement = PlaceGang(head, future);
    if (!placement) continue;
    Reservation r;
    r.start_ms = t;
    r.extra.reserve(future.size());
    for (const auto& w : future) r.extra.push_back(std::max(0, w.free_slots));
    for (const std::string& wid : *placement) --r.extra[find(wid) - future.data()];
    RefreshSpare(workers, r);
    return r;
  }
  return std::nullopt;
}

void RefreshSpare(const std::vector<SnapshotWorker>& workers, Reservation& reservation) {
  int spare = 0;
  for (size_t i = 0; i < workers.size() && i < reservation.extra.size(); ++i) {
    spare += std::max(0, std::min(workers[i].free_slots, reservation.extra[i]));
  }
  reservation.spare_now = spare;
}

bool EndsBeforeReservation(const SnapshotJob& job, const Reservation& reservation, int64_t now_ms) {
  return job.max_runtime_ms > 0 && now_ms + job.max_runtime_ms <= reservation.start_ms;
}

std::optional<std::vector<std::string>> PlaceInSpare(const SnapshotJob& job,
                                                     const std::vector<SnapshotWorker>& workers,
                                                     Reservation& reservation) {
  if (reservation.spare_now < job.min_ranks) return std::nullopt;
  std::vector<SnapshotWorker> spare = workers;
  for (size_t i = 0; i < spare.size(); ++i) {
    spare[i].free_slots =
        std::min(spare[i].free_slots, i < reservation.extra.size() ? reservation.extra[i] : 0);
  }
  auto p = PlaceGang(job, spare);
  if (p) {
    std::unordered_map<std::string_view, int> used;
    for (const std::string& wid : *p) ++used[wid];
    for (size_t i = 0; i < spare.size(); ++i) {
      if (auto it = used.find(spare[i].id); it != used.end()) reservation.extra[i] -= it->second;
    }
  }
  return p;
}

}  // namespace shoal::policy_internal
