#include "scheduler/state/save_batcher.h"

#include "common/log.h"

namespace shoal {

void SaveBatcher::MarkJob(int64_t id) {
  jobs_.insert(id);
  if (!since_) since_ = std::chrono::steady_clock::now();
}

void SaveBatcher::MarkWorker(const std::string& id) {
  workers_.insert(id);
  if (!since_) since_ = std::chrono::steady_clock::now();
}

Result<std::vector<int64_t>> SaveBatcher::Commit(Store& store, Store::Batch batch,
                                                 const JobLookup& find_job,
                                                 const WorkerLookup& find_worker) {
  // The current state of each unsaved job and worker, whatever happened in between (later writes
  // never go back); workers before the batch's own rows, which thus win.
  for (int64_t id : jobs_) {
    if (const Job* job = find_job(id)) batch.jobs.push_back(job);
  }
  std::vector<const Worker*> workers;
  for (const std::string& id : workers_) {
    if (const Worker* w = find_worker(id)) workers.push_back(w);
  }
  const Store::Batch own = batch;
  batch.workers.insert(batch.workers.begin(), workers.begin(), workers.end());
  auto ids = store.WriteBatch(batch);
  const bool piggybacked = !jobs_.empty() || !workers_.empty();
  const bool has_own = !own.new_jobs.empty() || !own.jobs.empty() || !own.workers.empty();
  if (!ids.ok() && piggybacked && has_own) {
    // Unsaved changes must not fail the batch's own writes (a submission's 201): alone, then.
    auto alone = store.WriteBatch(own);
    if (alone.ok()) {
      LOG_ERROR << "storing " << jobs_.size() << " jobs and " << workers_.size()
                << " workers failed (retried with the next write): " << ids.status().ToString();
      return alone;
    }
  }
  if (!ids.ok()) {
    LOG_ERROR << "storing " << batch.new_jobs.size() << " new jobs, " << batch.jobs.size()
              << " jobs and " << batch.workers.size()
              << " workers failed (unsaved changes are retried with the next write): "
              << ids.status().ToString();
    return ids;
  }
  jobs_.clear();
  workers_.clear();
  since_.reset();
  return ids;
}

}  // namespace shoal
