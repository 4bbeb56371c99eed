// shoal-sim's core: replays a trace on a cluster in virtual time through the scheduler's own
// policy and placement code (scheduler/policy), so a policy's behaviour here is its behaviour in
// the daemon.
//
// Model: each trace job becomes a gang of num_gpus ranks of one GPU each (backend cuda), its vc
// the account. It arrives at submit_time_s, runs for duration_s once started, and declares
// limits.maxRuntime = duration_s x misestimate (x log-normal noise when misestimate_sigma > 0),
// which only EASY backfill reads. A scheduling cycle runs whenever jobs arrive or finish. Fair
// share charges each vc GPU-seconds as its jobs run, decayed with the given half-life; traces
// carry no contributions, so every vc has an equal share.
//
// Elastic gangs (elastic_min_fraction > 0): a job of g GPUs may run on ceil(g x fraction)..g
// ranks; its work is duration_s x g GPU-seconds, done at a rate proportional to its ranks
// (linear scaling). With +elastic the policy resizes running jobs; a resize, like a preemption,
// restarts the job at once (zero grace period) and loses the work since its last checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "scheduler/policy/policy.h"
#include "scheduler/sim/cluster.h"
#include "scheduler/sim/trace.h"

namespace shoal::sim {

struct SimOptions {
  PolicyOptions policy;
  double misestimate = 2.0;        // maxRuntime / duration
  double misestimate_sigma = 0.0;  // sigma of log-normal noise on it (0 = exact factor)
  uint64_t seed = 1;               // for the noise
  double half_life_s = 7 * 86400.0;  // fair-share usage decay
  // A preempted job loses the work since its last checkpoint: it resumes with its remaining
  // duration plus, on average, half this interval (0 = checkpoints at preemption).
  double checkpoint_interval_s = 0;
  // Jobs of g >= 2 GPUs may run on as few as ceil(g x this) ranks (0 = rigid gangs).
  double elastic_min_fraction = 0;
};

struct JobOutcome {
  int64_t submit_s = 0;
  int64_t start_s = -1;  // -1: never started (unschedulable)
  int64_t end_s = -1;
  int gpus = 0;
  int64_t duration_s = 0;
  int vc = 0;  // index into SimResult::vcs
  int preemptions = 0;
  int resizes = 0;
};

struct SimMetrics {
  int64_t jobs = 0;           // replayed (after the trace reader's skips)
  int64_t finished = 0;
  int64_t unschedulable = 0;  // bigger than the whole cluster: never started
  double avg_jct_s = 0, p50_jct_s = 0, p95_jct_s = 0, p99_jct_s = 0;
  double avg_queue_s = 0, p50_queue_s = 0, p99_queue_s = 0;
  double makespan_s = 0;       // first arrival to last finish
  double gpu_utilization = 0;  // GPU-seconds run / (GPUs x makespan)
  // Jain's index over vcs of each vc's mean service ratio duration/JCT (1 = never waited):
  // 1 when every vc is treated alike, 1/n when one vc gets everything.
  double jain_fairness = 0;
  int64_t preemptions = 0;
  int64_t resizes = 0;
  int64_t cycles = 0;  // scheduling cycles run
  double wall_s = 0;   // real time the replay took
};

struct SimResult {
  SimMetrics metrics;
  std::vector<std::string> vcs;
  std::vector<JobOutcome> jobs;  // in trace order
};

// Deterministic: the same inputs and seed give the same result.
Result<SimResult> Simulate(const Trace& trace, const Cluster& cluster, const SimOptions& options);

}  // namespace shoal::sim
