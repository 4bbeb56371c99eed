// shoal-sim's core: replays a trace on a cluster in virtual time through the scheduler's own
// policy and placement code (scheduler/policy), so a policy's behaviour here is its behaviour in
// the daemon.
//
// Model: each trace job becomes a gang of num_gpus ranks of one GPU each (backend cuda), its vc
// the account. It arrives at submit_time_s, runs for duration_s once started, and declares
// limits.maxRuntime = the trace's limit_s where it gives one (shoal's own traces), else
// duration_s x misestimate (x log-normal noise when misestimate_sigma > 0) plus one restart delay.
// As in the daemon, that limit covers the run time of every attempt (restart delays and redone
// work included): a job still running when it is reached is killed then and counted as timed out,
// not retried; EASY backfill reads what is left of it. Each start and restart first spends
// restart_delay_s holding its GPUs without progress. A scheduling cycle runs whenever jobs
// arrive or finish. Fair
// share charges each vc GPU-seconds as its jobs run, decayed with the given half-life; traces
// carry no contributions, so every vc has an equal share.
//
// Elastic gangs (elastic_min_fraction > 0): a job of g GPUs may run on ceil(g x fraction)..g
// ranks; its work is duration_s x g GPU-seconds, done at a rate proportional to its ranks
// (linear scaling). With +elastic the policy resizes running jobs; a resize, like a preemption,
// restarts the job at once (zero grace period) and loses the work since its last checkpoint.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"
#include "scheduler/policy/policy.h"
#include "scheduler/sim/cluster.h"
#include "scheduler/sim/failures.h"
#include "scheduler/sim/throughput.h"
#include "scheduler/sim/trace.h"

namespace shoal::sim {

struct SimOptions {
  PolicyOptions policy;
  double misestimate = 2.0;          // maxRuntime / duration
  double misestimate_sigma = 0.0;    // sigma of log-normal noise on it (0 = exact factor)
  uint64_t seed = 1;                 // for the noise
  double half_life_s = 7 * 86400.0;  // fair-share usage decay
  // A preempted job loses the work since its last checkpoint: it resumes with its remaining
  // duration plus, on average, half this interval (0 = checkpoints at preemption).
  double checkpoint_interval_s = 0;
  // Jobs of g >= 2 GPUs may run on as few as ceil(g x this) ranks (0 = rigid gangs).
  double elastic_min_fraction = 0;
  // Each start, restart after a preemption and resize holds the job's GPUs this long before it
  // makes progress (loading, rendezvous, reading the checkpoint).
  double restart_delay_s = 0;
  // A gang placed over more than one node runs this much slower (0.2: its work takes 1.2x as
  // long), the cost of all-reducing across nodes; 0 = placement does not matter.
  double spread_slowdown = 0;
  // Volatile pools: nodes fail and come back (failures.h). A job with a rank on a failed node
  // stops at once, loses the work since its last checkpoint (half an interval on average), and
  // goes back to the queue.
  FailureModel failures;
  // Writing one checkpoint stalls the job this long (0 = free); with an interval I, a job makes
  // progress at I / (I + cost) of its speed.
  double checkpoint_cost_s = 0;
  // Instead of checkpoint_interval_s, each start sets the job's interval by Young/Daly from
  // checkpoint_cost_s and its gang's MTBF (failures.mtbf_s / the nodes it spans).
  bool young_daly = false;
  // Heterogeneous pools (throughput.h): each job's speed by GPU type; no classes = all alike.
  ThroughputMatrix throughput;
  // Heterogeneity-aware placement: each cycle the queued jobs get preferred GPU types from their
  // speeds (policy/hetero.h PreferGpuTypes: fastest first; a contended type to the jobs that gain
  // most there). False: type-blind.
  bool hetero_aware = false;
  // Fair share charges normalised work (GPU-seconds x the gang's speed from its GPU types), as
  // Gavel measures shares, instead of GPU-seconds.
  bool normalized_share = false;
  // Keep the queue sorted in a QueueIndex (policy/queue_index.h) across cycles instead of
  // letting each cycle order it all. The decisions are the same either way; false is there for
  // the test that checks so, and for timing the difference.
  bool queue_index = true;
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
  int failures = 0;        // times a node under it failed
  double limit_s =
      0;  // its limits.maxRuntime: the trace's limit_s, else duration x factor + a restart
  int starts = 0;          // the first start, restarts after preemptions, and resizes
  int nodes = 0;           // the most nodes one of its placements spread over
  bool timed_out = false;  // killed at its maxRuntime
  bool guarded = false;    // a tail guard kept it from a preemption at least once
  double held_gpu_s = 0;   // GPU-seconds its placements held
  double lost_gpu_s = 0;   // ...of which restart delays and work redone after a stop
  double type_speed = 1;   // its last placement's speed from the GPU types (throughput.h)
  // Its JCT had it started at submission, on the cluster's fastest GPU type for it, in one node,
  // without checkpoint stalls, and never stopped: one restart delay plus its run, capped at its
  // limit. No policy gives it less, so the average and p99 of these are floors for any policy.
  double no_wait_s = 0;
};

struct SimMetrics {
  int64_t jobs = 0;  // replayed (after the trace reader's skips)
  int64_t finished = 0;
  int64_t unschedulable = 0;  // bigger than the whole cluster: never started
  double avg_jct_s = 0, p50_jct_s = 0, p95_jct_s = 0, p99_jct_s = 0;
  double avg_queue_s = 0, p50_queue_s = 0, p99_queue_s = 0;
  // Over JobOutcome::no_wait_s of the jobs that ran: what no policy can go below.
  double no_wait_avg_jct_s = 0, no_wait_p99_jct_s = 0;
  double makespan_s = 0;  // first arrival to last finish
  // Useful GPU-seconds (held minus lost: restart delays and redone work) / (GPUs x makespan).
  double gpu_utilization = 0;
  // Restart delays, checkpoint writing, and work redone after preemptions, resizes and failures.
  double gpu_seconds_lost = 0;
  double goodput = 1;        // GPU-seconds of work kept / GPU-seconds held
  // Heterogeneous pools: the finished jobs' work (trace GPU-seconds, at speed 1) per GPU-second
  // held by any job; 1 on a pool of speed-1 GPUs without losses, higher when jobs sit on GPUs
  // that are fast for them.
  double normalized_throughput = 0;
  int64_t failures = 0;      // jobs stopped by a node failure (a job can count several times)
  int64_t timed_out = 0;     // killed at their maxRuntime
  int64_t guarded_jobs = 0;  // jobs a tail guard kept from a preemption at least once
  // Jain's index over vcs of each vc's mean service ratio duration/JCT (1 = never waited):
  // 1 when every vc is treated alike, 1/n when one vc gets everything.
  double jain_fairness = 0;
  int64_t preemptions = 0;
  int64_t resizes = 0;
  // Per vc (index into SimResult::vcs): p99 JCT and the jobs it is over (0 and 0 when none ran).
  std::vector<double> vc_p99_jct_s;
  std::vector<int64_t> vc_jobs;
  int64_t cycles = 0;  // scheduling cycles run
  double wall_s = 0;   // real time the replay took
};

// One placement of a job, from its (re)start to its end, preemption or resize.
struct SimAttempt {
  int64_t job = 0;  // index into SimResult::jobs
  int64_t start_ms = 0, end_ms = 0;
  int ranks = 0;  // GPUs held
};

struct SimResult {
  SimMetrics metrics;
  std::vector<std::string> vcs;
  std::vector<JobOutcome> jobs;      // in trace order
  std::vector<SimAttempt> attempts;  // in the order they ended
};

// Deterministic: the same inputs and seed give the same result.
Result<SimResult> Simulate(const Trace& trace, const Cluster& cluster, const SimOptions& options);

// Every job's outcome as CSV, one row per trace job (header first): job, vc, submit_s, start_s,
// end_s, gpus, duration_s, limit_s, starts, nodes, preemptions, resizes, timed_out, held_gpu_s,
// lost_gpu_s, type_speed (its last placement's, throughput.h); start_s and end_s are empty for a
// job that never started.
// With `policy` given, a first column "policy" holds it; `header` false leaves the header out (the
// next policy's rows in the same file).
void WriteJobsCsv(const Trace& trace, const SimResult& result, std::ostream& out,
                  const std::string& policy = "", bool header = true);

}  // namespace shoal::sim
