// SaveBatcher: the jobs and workers changed since the last write, so that every change of an
// event-loop round reaches the store in ONE transaction (one fsync, not one per change) before
// any reply that depends on it goes out. It holds ids, not copies: a commit writes each record as
// it is then, whatever happened to it in between (later writes never go back).
//
// Not thread-safe: the scheduler's event loop owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "scheduler/state/records.h"
#include "scheduler/state/store.h"

namespace shoal {

class SaveBatcher {
 public:
  using Time = std::chrono::steady_clock::time_point;
  using JobLookup = std::function<const Job*(int64_t id)>;
  using WorkerLookup = std::function<const Worker*(const std::string& id)>;

  void MarkJob(int64_t id);
  void MarkWorker(const std::string& id);

  bool has_jobs() const { return !jobs_.empty(); }
  bool empty() const { return jobs_.empty() && workers_.empty(); }
  // When the oldest unsaved change was marked; nullopt when there is none.
  std::optional<Time> since() const { return since_; }

  // Writes `batch` plus the current state of every marked job and worker (looked up by id; one
  // that is gone is skipped) in one transaction, the batch's own worker rows after the marked
  // ones, so that they win. If that fails and the batch has writes of its own, they are tried
  // alone, so that unsaved changes never fail a submission's own write. Marks are cleared only
  // when the marked records were written. Returns the ids of the batch's new jobs.
  Result<std::vector<int64_t>> Commit(Store& store, Store::Batch batch, const JobLookup& job,
                                      const WorkerLookup& worker);

 private:
  std::set<int64_t> jobs_;
  std::set<std::string> workers_;
  std::optional<Time> since_;
};

}  // namespace shoal
