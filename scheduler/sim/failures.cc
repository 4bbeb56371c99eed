#include "scheduler/sim/failures.h"

#include <climits>
#include <cmath>

namespace shoal::sim {

NodeFailures::NodeFailures(const FailureModel& model, int nodes)
    : model_(model),
      rng_(model.seed * 0x9e3779b97f4a7c15ULL + 17),
      up_for_(model.mtbf_s > 0 ? 1.0 / model.mtbf_s : 1.0) {
  if (model_.mtbf_s <= 0) return;
  for (int n = 0; n < nodes; ++n) {
    events_.emplace(std::llround(up_for_(rng_) * 1000.0), n, true);
  }
}

int64_t NodeFailures::NextMs() const {
  return events_.empty() ? INT64_MAX : std::get<0>(events_.top());
}

NodeFailures::Event NodeFailures::Pop() {
  const auto [at, node, down] = events_.top();
  events_.pop();
  if (down) {
    events_.emplace(at + std::llround(model_.repair_s * 1000.0), node, false);
  } else {
    events_.emplace(at + std::max<int64_t>(1, std::llround(up_for_(rng_) * 1000.0)), node, true);
  }
  return Event{at, node, down};
}

}  // namespace shoal::sim
