// Job traces for shoal-sim: the common CSV layout of bench/traces/README.md
// (job_id, submit_time_s, num_gpus, duration_s, vc, status, then any extra columns).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::sim {

struct TraceJob {
  std::string id;
  int64_t submit_s = 0;
  int gpus = 0;
  int64_t duration_s = 0;
  std::string vc;  // "" when the trace has none
  // The job's limits.maxRuntime from an optional `limit_s` column (shoal's own traces,
  // scheduler/job_trace.h); 0 = not given: the replay derives one (--misestimate).
  int64_t limit_s = 0;
};

struct Trace {
  std::vector<TraceJob> jobs;     // sorted by submit time (stable)
  int64_t skipped_never_ran = 0;  // rows without a duration
  int64_t skipped_no_gpu = 0;     // rows asking for 0 GPUs (CPU-only pods)
};

// Reads a trace CSV. The header must start with the six common columns in order; a later column
// named limit_s, where present, gives each row's limit (empty or 0 = none). Rows without a
// duration (never ran) and with 0 GPUs are counted and skipped; a duration of 0 becomes 1 s.
// InvalidArgument (with the line number) for a malformed row, NotFound when the file is missing.
// At most `max_jobs` rows are kept when it is > 0.
Result<Trace> ReadTraceCsv(const std::string& path, int64_t max_jobs = 0);

// A synthetic trace of `jobs` jobs for speed tests: Poisson arrivals at `load` x the capacity of
// `total_gpus`, Philly-like sizes (mostly 1 GPU, some 2..32) and log-normal durations; `vcs`
// accounts. Deterministic for `seed`. With heavy_share > 0, a further account "heavy" submits
// 8-GPU jobs (same durations) that make up that fraction of the GPU-seconds, at the same total
// load: the weak spot where one account holds ~40 % of the GPU-hours in big gangs. With
// diurnal = A in (0, 1), the arrival rate follows a day, (1 + A sin(2 pi t / 24 h)) x the mean,
// the same mean load: the busy hours queue as real clusters' do (Poisson arrivals at a constant
// rate barely queue below full load). diurnal = 0 gives exactly the trace it gave before.
Trace SyntheticTrace(int64_t jobs, int total_gpus, double load, int vcs, uint64_t seed,
                     double heavy_share = 0, double diurnal = 0);

}  // namespace shoal::sim
