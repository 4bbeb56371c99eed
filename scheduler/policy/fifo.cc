// fifo: jobs start in submission order.
#include <algorithm>
#include <numeric>

#include "scheduler/policy/order.h"

namespace shoal::policy_internal {

std::vector<int> FifoOrder(const Snapshot& snapshot) {
  std::vector<int> order(snapshot.queue.size());
  std::iota(order.begin(), order.end(), 0);
  // The queue usually arrives in submission order already; sort only when it does not.
  auto before = [&](int a, int b) { return SubmittedBefore(snapshot.queue[a], snapshot.queue[b]); };
  if (!std::is_sorted(order.begin(), order.end(), before)) {
    std::stable_sort(order.begin(), order.end(), before);
  }
  return order;
}

}  // namespace shoal::policy_internal
