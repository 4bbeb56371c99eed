// JobOutput: what a job's ranks print and report — log lines and metric points — stored within
// their caps and deleted after the retention time (quotas.jobLogBytes, jobMetricPoints,
// logRetention; docs/security.md §3). The Scheduler hands it what the workers' events carry; it
// keeps per-job counters so that a cap costs a store query once per job and scheduler start, not
// once per line. Storage failures are logged, never returned: a lost line must not fail a job.
//
// Not thread-safe: used from the scheduler's event loop.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "scheduler/quotas.h"
#include "scheduler/state/records.h"
#include "scheduler/state/store.h"

namespace shoal {

class JobOutput {
 public:
  // `store` must outlive the object; the quotas are copied.
  JobOutput(Store* store, const QuotaOptions& quotas);

  // Stores a rank's log lines, then drops the job's oldest ones (down to three quarters of
  // job_log_bytes, with a marker line where they were) when the job is over job_log_bytes.
  void AppendLogs(int64_t job_id, int attempt, int rank, int64_t now,
                  const std::vector<std::string>& lines);
  // Stores one metric point, then thins the older half of the series when it holds more than
  // job_metric_points.
  void AppendMetric(int64_t job_id, int attempt, int64_t now, const nlohmann::json& point);
  // Deletes the logs and metrics of `jobs` that ended more than log_retention_ms before `now`:
  // at most once a minute, and at most 1,000 jobs a pass (one transaction; the rest next pass).
  void Expire(int64_t now, const std::map<int64_t, Job>& jobs);

 private:
  Store* store_;
  QuotaOptions quotas_;
  // Stored log bytes / metric points per job, learned from the store on a job's first line after
  // a start.
  std::unordered_map<int64_t, int64_t> log_bytes_;
  std::unordered_map<int64_t, int64_t> metric_points_;
  // Jobs that ended before this were expired already (after a restart: 0, and the first pass
  // deletes nothing of most of them, cheaply).
  int64_t logs_expired_before_ms_ = 0;
  int64_t next_log_expiry_ms_ = 0;
};

}  // namespace shoal
