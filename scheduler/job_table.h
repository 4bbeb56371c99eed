// JobTable: every job the scheduler knows by id, with the index of idempotency keys (a repeated
// submission is answered with the job it made) and each owner's count of unfinished jobs (the
// maxActiveJobs quota). It decides which jobs of a submission batch are new (Stage) without
// changing anything, so that the Scheduler commits the batch first and then installs it. How a
// job runs (attempts, ranks) is the Scheduler's business, not this table's.
//
// Not thread-safe: the scheduler's event loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/state/records.h"

namespace shoal {

class JobTable {
 public:
  // A job as stored, at start-up.
  void Restore(Job job);

  // A submission batch, decided: for each job, the id of the stored job with its idempotency key
  // (repeat_of > 0), or the index of an earlier job of the batch with its key (same_as >= 0), or
  // neither: then it is new and listed in `rows` (in batch order), the jobs to store.
  struct Staged {
    std::vector<int64_t> repeat_of;
    std::vector<int> same_as;
    std::vector<const Job*> rows;
  };
  Staged Stage(const std::vector<Job>& jobs) const;

  // Adds a stored new job (its id assigned): indexes its key and counts it as its owner's
  // unfinished job. Returns the table's copy.
  Job& Install(Job job);
  // The job reached a terminal state: it no longer counts against its owner.
  void Ended(const Job& job);

  // The owner's unfinished jobs (pending, running or restarting).
  int64_t active(const std::string& owner) const;

  const Job* Find(int64_t id) const;
  Job* Find(int64_t id);
  const Job* FindByKey(const std::string& owner, const std::string& key) const;
  const std::map<int64_t, Job>& all() const { return jobs_; }
  std::map<int64_t, Job>& all() { return jobs_; }
  size_t size() const { return jobs_.size(); }

 private:
  std::map<int64_t, Job> jobs_;
  std::map<std::pair<std::string, std::string>, int64_t> by_key_;  // (owner, key) -> id
  std::map<std::string, int64_t> active_;                          // owner -> unfinished jobs
};

}  // namespace shoal
