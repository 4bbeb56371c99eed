// priority: higher spec.priority first, then submission order.
#include <algorithm>
#include <numeric>

#include "scheduler/policy/order.h"

namespace shoal::policy_internal {

std::vector<int> PriorityOrder(const Snapshot& snapshot) {
  std::vector<int> order(snapshot.queue.size());
  std::iota(order.begin(), order.end(), 0);
  auto before = [&](int a, int b) {
    const SnapshotJob& x = snapshot.queue[a];
    const SnapshotJob& y = snapshot.queue[b];
    return x.priority != y.priority ? x.priority > y.priority : SubmittedBefore(x, y);
  };
  if (!std::is_sorted(order.begin(), order.end(), before)) {
    std::stable_sort(order.begin(), order.end(), before);
  }
  return order;
}

}  // namespace shoal::policy_internal
