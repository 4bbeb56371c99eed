#include "scheduler/policy/placement.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <unordered_map>

#include "common/memory_estimate.h"

namespace shoal {

bool GpuTypeMatches(std::string_view wanted, std::string_view gpu_name) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (wanted.empty() || wanted.size() > gpu_name.size()) return false;
  for (size_t at = 0; at + wanted.size() <= gpu_name.size(); ++at) {
    bool same = true;
    for (size_t i = 0; i < wanted.size() && same; ++i) {
      same = lower(gpu_name[at + i]) == lower(wanted[i]);
    }
    if (!same) continue;
    const bool starts = at == 0 || !is_word(gpu_name[at - 1]);
    const size_t end = at + wanted.size();
    const bool ends = end == gpu_name.size() || !is_word(gpu_name[end]);
    if (starts && ends) return true;
  }
  return false;
}

int64_t MemoryPerRank(const SnapshotJob& job, const SnapshotWorker& worker) {
  if (job.backend != Backend::kCuda) return worker.memory_per_slot_bytes;
  // A cuda rank holds gpus_per_rank whole GPUs; gpu_memory_gib is the smallest of the worker's.
  return static_cast<int64_t>(worker.gpu_memory_gib * static_cast<double>(kGiB)) *
         std::max(1, job.gpus_per_rank);
}

bool MemoryFits(const SnapshotJob& job, const SnapshotWorker& worker) {
  if (job.rank_memory_bytes <= 0) return true;
  const int64_t offered = MemoryPerRank(job, worker);
  return offered <= 0 || offered >= job.rank_memory_bytes;  // 0: not reported, let it run
}

bool WorkerFits(const SnapshotJob& job, const SnapshotWorker& worker) {
  if (worker.total_slots <= 0) return false;
  if (!job.worker_accounts.empty() &&
      std::find(job.worker_accounts.begin(), job.worker_accounts.end(), worker.account) ==
          job.worker_accounts.end()) {
    return false;
  }
  if (!MemoryFits(job, worker)) return false;
  if (job.backend != Backend::kCuda) return true;
  if (worker.gpus < std::max(1, job.gpus_per_rank)) return false;
  if (job.min_gpu_memory_gib > 0 && worker.gpu_memory_gib < job.min_gpu_memory_gib) return false;
  if (job.gpu_types.empty()) return true;
  for (const std::string& t : job.gpu_types) {
    if (GpuTypeMatches(t, worker.gpu_type)) return true;
  }
  return false;
}

namespace {

// The ranks of `job` the worker may hold at most (its slots, or its cap for a stranger's job).
int RankCap(const SnapshotJob& job, const SnapshotWorker& worker) {
  if (worker.foreign_job_rank_cap > 0 && worker.account != job.account) {
    return std::min(worker.total_slots, worker.foreign_job_rank_cap);
  }
  return worker.total_slots;
}

}  // namespace

int UsableSlots(const SnapshotJob& job, const SnapshotWorker& worker) {
  if (!WorkerFits(job, worker)) return 0;
  return std::max(0, std::min(worker.free_slots, RankCap(job, worker)));
}

int FreeSlotsTotal(const std::vector<SnapshotWorker>& workers) {
  int total = 0;
  for (const auto& w : workers) total += std::max(0, w.free_slots);
  return total;
}

int FittingCapacity(const SnapshotJob& job, const std::vector<SnapshotWorker>& workers) {
  int capacity = 0;
  for (const auto& w : workers) {
    if (WorkerFits(job, w)) capacity += RankCap(job, w);
  }
  return capacity;
}

std::string DescribeNeed(const SnapshotJob& job) {
  std::string out =
      "needs " + std::to_string(job.min_ranks) + (job.min_ranks == 1 ? " rank" : " ranks");
  if (!job.worker_accounts.empty()) {
    out += " on workers of account";
    out += job.worker_accounts.size() == 1 ? " " : "s ";
    for (size_t i = 0; i < job.worker_accounts.size(); ++i) {
      out += (i == 0 ? "" : " or ") + job.worker_accounts[i];
    }
    out += " (its private data's trustedWorkers)";
  }
  if (job.backend != Backend::kCuda) return out + " (one slot each)";
  const int gpus = std::max(1, job.gpus_per_rank);
  out += " with " + std::to_string(gpus) + (gpus == 1 ? " GPU" : " GPUs") + " each";
  if (!job.gpu_types.empty()) {
    out += " of type ";
    for (size_t i = 0; i < job.gpu_types.size(); ++i) {
      out += (i == 0 ? "" : " or ") + job.gpu_types[i];
    }
  }
  if (job.min_gpu_memory_gib > 0) {
    char mem[32];
    std::snprintf(mem, sizeof mem, "%g", job.min_gpu_memory_gib);
    out += std::string(" with >= ") + mem + " GiB";
  }
  return out;
}

std::string DescribeMemoryShortfall(const SnapshotJob& job,
                                    const std::vector<SnapshotWorker>& workers) {
  if (job.rank_memory_bytes <= 0) return "";
  SnapshotJob ignoring_memory = job;
  ignoring_memory.rank_memory_bytes = 0;
  int capacity_without = 0;
  int64_t largest = 0;
  for (const auto& w : workers) {
    if (!WorkerFits(ignoring_memory, w)) continue;
    capacity_without += w.total_slots;
    largest = std::max(largest, MemoryPerRank(job, w));
  }
  // Memory is the reason only when the workers that fit otherwise would hold the gang.
  if (capacity_without < job.min_ranks || FittingCapacity(job, workers) >= job.min_ranks) {
    return "";
  }
  const bool gpu = job.backend == Backend::kCuda;
  return DescribeNeed(job) + ", " + FormatBytes(job.rank_memory_bytes) + " of " +
         (gpu ? "GPU memory" : "RAM") + " per rank; the largest " +
         (gpu ? "GPU memory per rank of a worker is " : "worker lends ") + FormatBytes(largest) +
         (gpu ? "" : " per slot");
}

int64_t CachedBytes(const SnapshotJob& job, const SnapshotWorker& worker) {
  int64_t held = 0;
  for (const SnapshotData& d : job.data) {
    for (const SnapshotData& c : worker.cached) {
      if (c.digest != d.digest) continue;
      held += std::clamp<int64_t>(c.bytes, 0, std::max<int64_t>(0, d.bytes));
      break;
    }
  }
  return held;
}

namespace {

// PlaceGang over the workers w with allowed(w).
template <typename Allowed>
std::optional<std::vector<std::string>> PlaceAmong(const SnapshotJob& job,
                                                   const std::vector<SnapshotWorker>& workers,
                                                   Allowed allowed) {
  struct Candidate {
    const SnapshotWorker* worker;
    int usable;
    int64_t cached;  // bytes of the job's data it holds
  };
  std::vector<Candidate> candidates;
  int free_total = 0;
  for (const auto& w : workers) {
    if (!allowed(w)) continue;
    const int usable = UsableSlots(job, w);
    if (usable > 0) {
      candidates.push_back({&w, usable, job.data.empty() ? 0 : CachedBytes(job, w)});
      free_total += usable;
    }
  }
  if (free_total < job.min_ranks || free_total == 0) return std::nullopt;
  int remaining = std::min(job.max_ranks, free_total);
  std::vector<std::string> ranks;
  ranks.reserve(remaining);
  // Most cached data first; then emptiest first; a stable order for ties.
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.cached != b.cached) return a.cached > b.cached;
    return a.usable != b.usable ? a.usable > b.usable : a.worker->id < b.worker->id;
  });
  size_t next = 0;  // candidates[0, next) are used up
  while (remaining > 0 && next < candidates.size()) {
    // The tier of workers caching as much as candidates[next]: packing applies within it.
    size_t tier_end = next;
    while (tier_end < candidates.size() && candidates[tier_end].cached == candidates[next].cached) {
      ++tier_end;
    }
    if (candidates[next].usable > remaining) {
      // The rest fits on one worker of the tier: the best fit, i.e. the last (least free) worker
      // that still holds it, leaving the emptier ones whole.
      size_t best = next;
      for (size_t i = next; i < tier_end && candidates[i].usable >= remaining; ++i) {
        if (candidates[i].usable < candidates[best].usable ||
            (candidates[i].usable == candidates[best].usable &&
             candidates[i].worker->id < candidates[best].worker->id)) {
          best = i;
        }
      }
      for (int s = 0; s < remaining; ++s) ranks.push_back(candidates[best].worker->id);
      remaining = 0;
      break;
    }
    for (int s = 0; s < candidates[next].usable; ++s) ranks.push_back(candidates[next].worker->id);
    remaining -= candidates[next].usable;
    ++next;
  }
  return ranks;
}

}  // namespace

std::optional<std::vector<std::string>> PlaceGang(const SnapshotJob& job,
                                                  const std::vector<SnapshotWorker>& workers) {
  const auto& listed = job.preferred_gpu_types;
  if (listed.empty()) return PlaceAmong(job, workers, [](const SnapshotWorker&) { return true; });
  // Each worker's position in the list (-1: unlisted), found once rather than per attempt.
  std::vector<int> rank(workers.size(), -1);
  for (size_t i = 0; i < workers.size(); ++i) {
    const auto it = std::find(listed.begin(), listed.end(), workers[i].gpu_type);
    if (it != listed.end()) rank[i] = static_cast<int>(it - listed.begin());
  }
  auto rank_of = [&](const SnapshotWorker& w) { return rank[&w - workers.data()]; };
  for (int t = 0; t < static_cast<int>(listed.size()); ++t) {
    if (auto p =
            PlaceAmong(job, workers, [&](const SnapshotWorker& w) { return rank_of(w) == t; })) {
      return p;
    }
  }
  return PlaceAmong(job, workers, [&](const SnapshotWorker& w) { return rank_of(w) >= 0; });
}

void CommitPlacement(const std::vector<std::string>& placement,
                     std::vector<SnapshotWorker>& workers) {
  std::unordered_map<std::string, int> count;
  for (const auto& id : placement) ++count[id];
  for (auto& w : workers) {
    if (auto it = count.find(w.id); it != count.end()) w.free_slots -= it->second;
  }
}

FreeSlotIndex::FreeSlotIndex(std::vector<SnapshotWorker>& workers) : workers_(workers) {
  for (size_t i = 0; i < workers_.size(); ++i) {
    const SnapshotWorker& w = workers_[i];
    index_[w.id] = i;
    if (w.free_slots > 0) {
      all_.by_free.insert({w.free_slots, w.id});
      all_.free_total += w.free_slots;
    }
  }
}

std::optional<std::vector<std::string>> FreeSlotIndex::Place(const SnapshotJob& job) {
  const auto& listed = job.preferred_gpu_types;
  if (listed.empty()) return PlaceIn({&all_}, all_.free_total, job);
  if (!typed_) {
    for (const SnapshotWorker& w : workers_) {
      if (w.free_slots <= 0) continue;
      Group& g = by_type_[w.gpu_type];
      g.by_free.insert({w.free_slots, w.id});
      g.free_total += w.free_slots;
    }
    typed_ = true;
  }
  // As PlaceGang: the first listed type that holds the gang, else all listed types together.
  std::vector<const Group*> groups;
  int free_total = 0;
  for (const std::string& type : listed) {
    auto it = by_type_.find(type);
    if (it == by_type_.end() ||
        std::find(groups.begin(), groups.end(), &it->second) != groups.end()) {
      continue;
    }
    if (auto p = PlaceIn({&it->second}, it->second.free_total, job)) return p;
    groups.push_back(&it->second);
    free_total += it->second.free_total;
  }
  return PlaceIn(groups, free_total, job);
}

std::optional<std::vector<std::string>> FreeSlotIndex::PlaceIn(
    const std::vector<const Group*>& groups, int free_total, const SnapshotJob& job) {
  if (free_total < job.min_ranks || free_total == 0) return std::nullopt;
  int remaining = std::min(job.max_ranks, free_total);
  std::vector<std::string> ranks;
  ranks.reserve(remaining);
  // PlaceGang's order over the union: emptiest first (ties by id), until the rest fits on one
  // worker, which then is the best fit (fewest free slots that hold it, ties by id).
  std::vector<Key> taken;
  auto available = [&](const Key& k) {
    return std::find(taken.begin(), taken.end(), k) == taken.end();
  };
  while (remaining > 0) {
    // Best fit for the rest: the smallest key at or above (remaining, "") in any group.
    std::optional<Key> best;
    for (const Group* g : groups) {
      for (auto it = g->by_free.lower_bound({remaining, std::string_view()});
           it != g->by_free.end(); ++it) {
        if (!available(*it)) continue;
        if (!best || *it < *best) best = *it;
        break;
      }
    }
    if (best) {
      for (int s = 0; s < remaining; ++s) ranks.emplace_back(best->second);
      return ranks;
    }
    // Otherwise the emptiest whole: the most free slots in any group, the first id among those.
    int most = 0;
    for (const Group* g : groups) {
      for (auto it = g->by_free.rbegin(); it != g->by_free.rend(); ++it) {
        if (!available(*it)) continue;
        most = std::max(most, it->first);
        break;
      }
    }
    std::optional<Key> emptiest;
    for (const Group* g : groups) {
      for (auto it = g->by_free.lower_bound({most, std::string_view()});
           it != g->by_free.end() && it->first == most; ++it) {
        if (!available(*it)) continue;
        if (!emptiest || *it < *emptiest) emptiest = *it;
        break;
      }
    }
    if (!emptiest) return std::nullopt;  // cannot happen: free_total covers `remaining`
    for (int s = 0; s < emptiest->first; ++s) ranks.emplace_back(emptiest->second);
    remaining -= emptiest->first;
    taken.push_back(*emptiest);
  }
  return ranks;
}

void FreeSlotIndex::Commit(const std::vector<std::string>& placement) {
  std::unordered_map<std::string_view, int> count;
  for (const auto& id : placement) ++count[id];
  for (const auto& [id, n] : count) {
    auto it = index_.find(id);
    if (it == index_.end()) continue;
    SnapshotWorker& w = workers_[it->second];
    Group* type = nullptr;
    if (typed_) {
      auto t = by_type_.find(w.gpu_type);
      if (t != by_type_.end()) type = &t->second;
    }
    for (Group* g : {&all_, type}) {
      if (g == nullptr) continue;
      if (w.free_slots > 0) g->by_free.erase({w.free_slots, w.id});
      g->free_total -= n;
      if (w.free_slots - n > 0) g->by_free.insert({w.free_slots - n, w.id});
    }
    w.free_slots -= n;
  }
}

}  // namespace shoal
