// The scheduler's quotas and retention times (configs/scheduler.yaml; docs/security.md §3).
#pragma once

#include <cstdint>

namespace shoal {

// What one account or job may hold, and how long a finished job's data is kept (configs/
// scheduler.yaml; docs/security.md §3 "Quotas and retention"). 0 = no cap.
struct QuotaOptions {
  int64_t max_active_jobs = 1000;  // an account's jobs not yet finished
  int64_t max_spec_bytes = 64 << 10;
  int64_t job_log_bytes = 64 << 20;   // one job's stored log; the oldest lines go first
  int64_t job_metric_points = 20000;  // one job's metric series; older points are thinned
  int64_t checkpoint_quota_bytes = int64_t{50} << 30;  // an account's stored checkpoints
  int64_t log_retention_ms = 30 * 86400 * 1000LL;
  int64_t checkpoint_retention_ms = 3 * 86400 * 1000LL;
};

}  // namespace shoal
