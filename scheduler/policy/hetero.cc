#include "scheduler/policy/hetero.h"

#include <algorithm>
#include <numeric>

#include "scheduler/policy/order.h"

namespace shoal {

void PreferGpuTypes(const std::vector<std::string>& types,
                    const std::vector<std::vector<double>>& speeds, Snapshot& snap) {
  const size_t n = snap.queue.size(), t_count = types.size();
  if (t_count < 2) return;
  // Relative speeds (each job's averaging 1: comparing them on one type is comparing the jobs'
  // comparative advantage there), and each job's types fastest first.
  std::vector<std::vector<double>> rel(n);
  for (size_t i = 0; i < n; ++i) {
    if (speeds[i].size() != t_count) continue;
    const double sum = std::accumulate(speeds[i].begin(), speeds[i].end(), 0.0);
    if (!(sum > 0)) continue;
    rel[i] = speeds[i];
    for (double& v : rel[i]) v *= static_cast<double>(t_count) / sum;
  }
  std::vector<std::vector<size_t>> order(n);
  std::vector<int> demand(t_count, 0);
  for (size_t i = 0; i < n; ++i) {
    if (rel[i].empty()) continue;
    order[i].resize(t_count);
    std::iota(order[i].begin(), order[i].end(), 0);
    std::stable_sort(order[i].begin(), order[i].end(), [&](size_t a, size_t b) {
      return rel[i][a] != rel[i][b] ? rel[i][a] > rel[i][b] : types[a] < types[b];
    });
    demand[order[i][0]] += snap.queue[i].min_ranks;
  }
  std::vector<int> free(t_count, 0);
  for (const SnapshotWorker& w : snap.workers) {
    const auto it = std::find(types.begin(), types.end(), w.gpu_type);
    if (it != types.end()) free[it - types.begin()] += std::max(0, w.free_slots);
  }
  // For each contended type, the jobs granted its free slots; everyone else leaves it out.
  std::vector<size_t> with_speeds;  // the jobs that take part, in queue order
  for (size_t i = 0; i < n; ++i) {
    if (!rel[i].empty()) with_speeds.push_back(i);
  }
  std::vector<std::vector<char>> excluded(n, std::vector<char>(t_count, 0));
  for (size_t t = 0; t < t_count; ++t) {
    if (demand[t] <= free[t]) continue;
    std::vector<size_t> by_advantage = with_speeds;
    // Ties in submission order, not queue order: shoal-sim's queue is in no particular order.
    std::stable_sort(by_advantage.begin(), by_advantage.end(), [&](size_t a, size_t b) {
      return rel[a][t] != rel[b][t]
                 ? rel[a][t] > rel[b][t]
                 : policy_internal::SubmittedBefore(snap.queue[a], snap.queue[b]);
    });
    int left = free[t];
    for (size_t i : by_advantage) {
      if (snap.queue[i].min_ranks <= left) {
        left -= snap.queue[i].min_ranks;
      } else {
        excluded[i][t] = 1;
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    if (rel[i].empty()) continue;
    std::vector<std::string>& list = snap.queue[i].preferred_gpu_types;
    list.clear();
    for (size_t t : order[i]) {
      if (!excluded[i][t]) list.push_back(types[t]);
    }
    if (list.empty()) list.push_back(kNoGpuType);  // every type left out: it waits
  }
}

}  // namespace shoal
