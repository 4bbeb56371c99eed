// FailureBook: each worker's observed mean time between failures, for Young/Daly checkpoint
// intervals (configs/scheduler.yaml `youngDaly`; scheduler/policy/checkpoint_interval.h).
//
// A failure is a loss: the worker missed its heartbeats (the scheduler's MarkLostWorkers). Up time
// accrues while the worker is alive. The estimate starts from a prior, worth one failure:
// MTBF = (prior + up time) / (1 + losses), so a new worker gets the prior, and a worker that is
// lost often converges to its measured rate. The scheduler stores Records() (after a loss, and
// every minute) and a restart Restore()s them: only the up time since the last save is lost, and
// the time the scheduler was down counts for no worker.
//
// Not thread-safe: the scheduler's thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/state/records.h"

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
  // Losses of all workers so far (restored ones included): changes exactly when one is lost.
  int64_t total_losses() const { return total_losses_; }

  // Every worker's record, its up time counted up to now (for the store).
  std::vector<FailureRecord> Records(int64_t now_ms) const;
  // A stored record (at start-up, before the worker is seen again): not alive until Alive().
  void Restore(const FailureRecord& record);

 private:
  struct Record {
    int64_t up_ms = 0;            // up time before the current stretch
    int64_t alive_since_ms = -1;  // -1: not alive now
    int64_t failures = 0;
  };
  static int64_t UpMs(const Record& r, int64_t now_ms);  // up time including the current stretch
  const int64_t prior_ms_;
  std::unordered_map<std::string, Record> workers_;
  int64_t total_losses_ = 0;
};

}  // namespace shoal
