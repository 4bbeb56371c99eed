#include "scheduler/audit/rollback.h"

#include <algorithm>

namespace shoal::audit {

int64_t RollbackStep(const std::vector<int64_t>& checkpoint_steps, int64_t last_clean_audit_step) {
  int64_t best = 0;
  for (int64_t s : checkpoint_steps) {
    if (s <= last_clean_audit_step && s > best) best = s;
  }
  return best;
}

std::map<std::string, int64_t> LastCleanAudits(
    const std::vector<const std::map<std::string, int64_t>*>& clean_by_attempt) {
  std::map<std::string, int64_t> newest;
  for (const auto* clean : clean_by_attempt) {
    for (const auto& [worker, step] : *clean) {
      auto [it, added] = newest.emplace(worker, step);
      if (!added) it->second = std::max(it->second, step);
    }
  }
  return newest;
}

std::vector<int64_t> RollbackPoints(
    const std::vector<const std::map<std::string, int64_t>*>& clean_by_attempt) {
  std::vector<int64_t> points;
  for (const auto& [worker, step] : LastCleanAudits(clean_by_attempt)) points.push_back(step);
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  return points;
}

std::vector<bool> KeptCheckpoints(const std::vector<int64_t>& steps, int keep,
                                  const std::vector<int64_t>& rollback_points) {
  const size_t n = steps.size(), newest = static_cast<size_t>(std::max(1, keep));
  std::vector<bool> kept(n, false);
  for (size_t i = n > newest ? n - newest : 0; i < n; ++i) kept[i] = true;
  for (int64_t point : rollback_points) {
    // The newest step <= point (steps ascend).
    auto it = std::upper_bound(steps.begin(), steps.end(), point);
    if (it != steps.begin()) kept[static_cast<size_t>(it - steps.begin()) - 1] = true;
  }
  return kept;
}

}  // namespace shoal::audit
