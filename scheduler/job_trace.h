// The pool's own job history as a shoal-sim trace (docs/simulator.md "Replaying your own pool"),
// so that an operator can choose a policy on the jobs their pool really runs rather than on the
// traces shoal was tuned on. The layout is bench/traces/README.md's (scheduler/sim/trace.h reads
// it), with extra columns:
//   job_id         "shoal-<id>"
//   submit_time_s  seconds after the first row's submission (0 for it); every time in the file is
//                  rounded to the nearest second
//   num_gpus       workers.max x gpusPerWorker; for backend cpu, workers.max (a slot counts as
//                  a GPU: replay a CPU pool as NODESxSLOTS)
//   duration_s     the run time of all its attempts together, at least 1 (a running job's so
//                  far; empty when it never started). A job stopped and resumed ran longer than it
//                  would have uninterrupted: an upper bound of its work then.
//   vc             the account that submitted it
//   status         its state: PENDING, RUNNING, RESTARTING, SUCCEEDED, FAILED, CANCELLED
//   limit_s        limits.maxRuntime in seconds (shoal-sim uses it as the job's limit)
//   queue_s        from submission to its first start (empty when it never started)
//   jct_s          from submission to its end (empty until it ends)
//   attempts       how many attempts it had
// Pure: the caller passes the jobs (oldest first) and the time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scheduler/state/records.h"

namespace shoal {

struct TraceWindow {
  int64_t since_ms = 0;  // jobs submitted at or after this (Unix ms)
  int64_t until_ms = 0;  // and before this; 0 = no bound
};

// The header and one row per job of `jobs` submitted within `window`, in submission order.
// `now_ms` ends the attempts still running.
std::string JobTraceCsv(const std::vector<const Job*>& jobs, const TraceWindow& window,
                        int64_t now_ms);

}  // namespace shoal
