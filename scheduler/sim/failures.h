// Volatile pools for shoal-sim (issue 19 item 7): nodes that fail and come back, and the
// checkpoint interval that balances the cost of checkpointing against the work a failure loses.
//
// Model: each node fails independently after an exponentially distributed time with mean
// mtbf_s, stays down repair_s, then runs until its next failure (laptops that close, preemptible
// cloud machines that are reclaimed). Deterministic for a seed.
#pragma once

#include <cstdint>
#include <queue>
#include <random>
#include <tuple>
#include <vector>

#include "scheduler/policy/checkpoint_interval.h"

namespace shoal::sim {

struct FailureModel {
  double mtbf_s = 0;       // mean time between failures of one node; 0 = nodes never fail
  double repair_s = 3600;  // how long a failed node stays away
  uint64_t seed = 1;
};

// The nodes' failures and returns, in time order.
class NodeFailures {
 public:
  struct Event {
    int64_t at_ms = 0;
    int node = 0;
    bool down = false;  // true: it fails; false: it is back
  };

  NodeFailures(const FailureModel& model, int nodes);
  // When the next event happens; INT64_MAX when nodes never fail.
  int64_t NextMs() const;
  // The next event, which is removed; the node's following one is scheduled.
  Event Pop();

 private:
  using Entry = std::tuple<int64_t, int, bool>;  // at, node, down
  FailureModel model_;
  std::mt19937_64 rng_;
  std::exponential_distribution<double> up_for_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> events_;
};

// The checkpoint interval by Young/Daly: YoungDalyIntervalS
// (scheduler/policy/checkpoint_interval.h, shared with the daemon), with a gang's MTBF = a node's
// MTBF / the nodes it spans.

// The work a stop throws away: an attempt that has made progress for `progress_ms` (wall time
// after its restart delay) and stored a checkpoint at the end of every `period_ms` (its interval
// plus the checkpoint's writing) redoes what it did since the last one. With period_ms <= 0 (no
// periodic checkpoints) the job checkpoints as it stops and loses nothing.
inline int64_t UnsavedMs(int64_t progress_ms, int64_t period_ms) {
  return period_ms > 0 && progress_ms > 0 ? progress_ms % period_ms : 0;
}

}  // namespace shoal::sim
