// Prometheus metrics of the scheduler (GET /metrics, text exposition format 0.0.4).
//
// Histograms and counters are updated where things happen (scheduling passes, job starts, API
// requests); gauges (jobs by state, workers, GPUs, the ledger, running jobs' training figures)
// are computed from the scheduler's state at scrape time, so they can never drift from it.
// Names follow Prometheus conventions: `shoal_` prefix, `_seconds` for durations, `_total` for
// counters. Not thread-safe: used from the scheduler's event-loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace shoal {

class Scheduler;

// A histogram with fixed upper bounds (cumulative buckets on output, plus +Inf, _sum, _count).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // Appends the _bucket/_sum/_count lines of `name` with `labels` (e.g. `method="GET"`, or "").
  void Render(std::string_view name, std::string_view labels, std::string* out) const;
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Bucket bounds in seconds: 0.5 ms .. 10 s (requests, passes) and 1 s .. 1 week (queue waits).
std::vector<double> LatencyBuckets();
std::vector<double> WaitBuckets();

// Counters and histograms the scheduler updates as it runs.
struct SchedulerMetrics {
  Histogram cycle_seconds{LatencyBuckets()};     // one scheduling pass (snapshot + policy + apply)
  Histogram admission_wait_seconds{WaitBuckets()};  // submitted -> first attempt started
  uint64_t jobs_submitted_total = 0;
  uint64_t attempts_started_total = 0;
  uint64_t preemptions_total = 0;
  uint64_t resizes_total = 0;
  // Attempts a tail guard (preemptMaxPerJob) or the cost guard (preemptMaxUnsaved) kept from a
  // preemption that would have stopped them, counted once per attempt and guard.
  uint64_t guarded_max_preemptions_total = 0;
  uint64_t guarded_max_unsaved_total = 0;
};

// The exposition format's pieces, for the families rendered elsewhere (scheduler/api's):
// a family's HELP and TYPE lines, one sample (`labels` as Label() joins them, or ""), and one
// label with its value escaped.
void Header(std::string* out, std::string_view name, std::string_view type, std::string_view help);
void Sample(std::string* out, std::string_view name, std::string_view labels, double value);
std::string Label(std::string_view key, std::string_view value);

// The scheduler's part of the exposition: its state and metrics (the API appends its own,
// scheduler/api/api_metrics.h). `with_names`: the per-job training series carry the job's name
// and account (label `name`, `account`), the ledger is per account (label `account`) and the
// workers' cache series per worker (label `worker`); without, per-job series carry only the job
// id and the ledger and cache series are one unlabelled pool-wide sum, so that an
// unauthenticated scrape names no account and no job (Visibility::metrics_names).
std::string RenderMetrics(const Scheduler& scheduler, bool with_names);

}  // namespace shoal
