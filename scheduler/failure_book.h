// FailureBook: each worker's observed mean time between failures, for Young/Daly checkpoint
// intervals (configs/scheduler.yaml `youngDaly`; scheduler/policy/checkpoint_interval.h).
//
// A failure is a loss: the worker missed its heartbeats (the scheduler's MarkLostWorkers). Up time
// accrues while the worker is alive. The estimate starts from a prior, worth one failure:
// MTBF = (prior + up time) / (1 + losses), so a new worker gets the prior, and a worker that is
// lost often converges to its measured rate. In memory: a scheduler restart starts over from the
// prior (an estimate, not a record; losing it costs only a less tuned interval).
//
// Not thread-safe: the scheduler's thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace shoal {

class FailureBook {
 public:
  explicit FailureBook(int64_t prior_mtbf_ms) : prior_ms_(prior_mtbf_ms) {}

  // The worker is alive from now (registered, or back after a loss). Alive again while alive
  // changes nothing.
  void Alive(const std::string& worker_id, int64_t now_ms);
  // The worker was lost now: one failure, and its up time so far counted.
  void Lost(const std::string& worker_id, int64_t now_ms);
  // Its MTBF in seconds now (the prior for a worker never seen).
  double MtbfS(const std::string& worker_id, int64_t now_ms) const;
  int64_t failures(const std::string& worker_id) const;

 private:
  struct Record {
    int64_t up_ms = 0;            // up time before the current stretch
    int64_t alive_since_ms = -1;  // -1: not alive now
    int64_t failures = 0;
  };
  const int64_t prior_ms_;
  std::unordered_map<std::string, Record> workers_;
};

}  // namespace shoal
