// The read-only view a scheduling policy decides on, and the decisions it returns.
//
// Policies are pure functions of a Snapshot (docs/design.md §7): no I/O, no clock, no state. The
// scheduler daemon builds a Snapshot from its live state; tests and shoal-sim build them in memory
// and call the same policy code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/spec/job_spec.h"

namespace shoal {

// Registry data by version: what a job reads, or what a worker's chunk cache holds of it.
struct SnapshotData {
  std::string digest;  // the version's manifest digest
  int64_t bytes = 0;   // the job: the version's size; a worker: the bytes of it its cache holds
};

struct SnapshotJob {
  int64_t id = 0;
  std::string account;  // who is charged (job spec metadata.project until accounts exist)
  // Optional: a small dense number for `account` (equal names, equal numbers), which lets the
  // policies look accounts up by index instead of by name in every cycle (shoal-sim sets it);
  // -1 = not given.
  int account_id = -1;
  int priority = 500;     // 0..1000, higher first (spec.priority)
  int64_t submit_ms = 0;  // when it was submitted (ties broken by id)
  int min_ranks = 1;
  int max_ranks = 1;
  Backend backend = Backend::kAuto;
  int gpus_per_rank = 0;               // GPUs each rank needs (0 for CPU ranks)
  std::vector<std::string> gpu_types;  // any of these GPU models; empty = any
  // Heterogeneity-aware placement (policy/hetero.h): GPU types (worker gpu_type, exactly) in the
  // order the job should get them; it is placed only on workers of these types, whole on the
  // first that holds it if any does. Empty = type-blind.
  std::vector<std::string> preferred_gpu_types;
  double min_gpu_memory_gib = 0;
  int64_t max_runtime_ms = 0;  // limits.maxRuntime: the backfill estimate (0 = unknown/unbounded)
  int preemptions = 0;         // times it was preempted so far
  // Attained service: the GPU-seconds its earlier attempts held (+las), and when it last entered
  // the queue (its submission, or the end of its last attempt; 0 = submit_ms).
  double attained_gpu_s = 0;
  int64_t queued_ms = 0;
  // Memory one rank needs (common/memory_estimate.h: RankMemoryNeed): host RAM per slot, or GPU
  // memory per rank for backend cuda. 0 = no requirement.
  int64_t rank_memory_bytes = 0;
  // Only workers of these accounts may run it (a private dataset's trustedWorkers); empty = any.
  std::vector<std::string> worker_accounts;
  // The registry versions it reads (its pins): placement prefers workers that cache them.
  std::vector<SnapshotData> data;
};

// A job that holds slots now.
struct SnapshotRunning {
  int64_t id = 0;
  std::string account;
  int account_id = -1;  // as SnapshotJob::account_id
  int priority = 500;
  int64_t start_ms = 0;        // when the current attempt started (a resize starts a new one)
  int64_t max_runtime_ms = 0;  // 0 = unknown: its slots are never counted as freeing up
  int preemptions = 0;         // times the job was preempted before this attempt
  // When its current attempt last stored a checkpoint (0 = not yet: everything since start_ms is
  // unsaved); cost-aware preemption (PolicyOptions::preempt_max_unsaved_ms) reads it.
  int64_t last_checkpoint_ms = 0;
  double attained_gpu_s = 0;   // GPU-seconds its earlier attempts held (+las)
  std::vector<std::string> rank_workers;  // rank r holds one slot on rank_workers[r]
  int gpus_per_rank = 0;
  // The job's shape, for resizing it (PolicyOptions::elastic). The job is elastic when
  // max_ranks > min_ranks; 0/0 (the default) = not elastic.
  int64_t submit_ms = 0;
  int min_ranks = 0;
  int max_ranks = 0;
  Backend backend = Backend::kAuto;
  std::vector<std::string> gpu_types;
  std::vector<std::string> preferred_gpu_types;  // as SnapshotJob's
  double min_gpu_memory_gib = 0;
  int64_t rank_memory_bytes = 0;
  std::vector<std::string> worker_accounts;
  std::vector<SnapshotData> data;
};

// The fields a queued and a running job share (id, account, priority, submission time, size
// range, backend and GPU constraints, time limit left, data read), copied one way or the other: a
// running job as a placement request (resizing), a queued one as running (once started). The caller
// sets the rest (start time, placement).
inline SnapshotJob AsJob(const SnapshotRunning& r) {
  SnapshotJob j;
  j.id = r.id;
  j.account = r.account;
  j.priority = r.priority;
  j.submit_ms = r.submit_ms;
  j.min_ranks = r.min_ranks;
  j.max_ranks = r.max_ranks;
  j.backend = r.backend;
  j.gpus_per_rank = r.gpus_per_rank;
  j.gpu_types = r.gpu_types;
  j.preferred_gpu_types = r.preferred_gpu_types;
  j.min_gpu_memory_gib = r.min_gpu_memory_gib;
  j.max_runtime_ms = r.max_runtime_ms;
  j.rank_memory_bytes = r.rank_memory_bytes;
  j.worker_accounts = r.worker_accounts;
  j.data = r.data;
  j.preemptions = r.preemptions;
  j.account_id = r.account_id;
  j.attained_gpu_s = r.attained_gpu_s;
  return j;
}
inline SnapshotRunning AsRunning(const SnapshotJob& j) {
  SnapshotRunning r;
  r.id = j.id;
  r.account = j.account;
  r.priority = j.priority;
  r.submit_ms = j.submit_ms;
  r.min_ranks = j.min_ranks;
  r.max_ranks = j.max_ranks;
  r.backend = j.backend;
  r.gpus_per_rank = j.gpus_per_rank;
  r.gpu_types = j.gpu_types;
  r.preferred_gpu_types = j.preferred_gpu_types;
  r.min_gpu_memory_gib = j.min_gpu_memory_gib;
  r.max_runtime_ms = j.max_runtime_ms;
  r.preemptions = j.preemptions;
  r.account_id = j.account_id;
  r.attained_gpu_s = j.attained_gpu_s;
  r.rank_memory_bytes = j.rank_memory_bytes;
  r.worker_accounts = j.worker_accounts;
  r.data = j.data;
  return r;
}

struct SnapshotWorker {
  std::string id;
  std::string node;           // machine it runs on (gangs are packed onto few nodes); "" = its id
  int total_slots = 0;        // ranks it can run at once
  int free_slots = 0;         // total minus the slots held by live or stopping ranks
  int stopping_slots = 0;     // of those held, slots whose ranks were told to stop (freeing soon)
  int gpus = 0;               // usable GPUs (0 = CPU-only worker)
  std::string gpu_type;       // model of its GPUs, e.g. "H100" ("" when none or unknown)
  double gpu_memory_gib = 0;  // per GPU
  // RAM the worker lends to one slot (its lent memory / total_slots); 0 = not reported (an agent
  // from before memory admission): any memory need is taken to fit.
  int64_t memory_per_slot_bytes = 0;
  std::string account;  // whose worker it is
  // Ranks it may hold of any one job of another account (0 = no bound): a new worker, without a
  // history of completed work, gets a bounded share of a stranger's job.
  int foreign_job_rank_cap = 0;
  // Registry versions its chunk cache holds (some of), as it last reported them; each digest once.
  std::vector<SnapshotData> cached;
};

// An account's standing in the contribution ledger (both decayed by the configured half-life).
struct SnapshotAccount {
  std::string name;
  double contributed_gpu_s = 0;  // earned by the account's workers' GPUs
  double used_gpu_s = 0;         // spent by the account's jobs
};

struct Snapshot {
  int64_t now_ms = 0;
  // Waiting to start. Any order gives the same decisions; submission order (oldest first, as the
  // daemon lists them) is the fast one for Decide without a QueueIndex.
  std::vector<SnapshotJob> queue;
  std::vector<SnapshotRunning> running;   // holding slots now
  std::vector<SnapshotWorker> workers;    // alive workers only
  std::vector<SnapshotAccount> accounts;  // accounts not listed have contributed and used nothing
};

struct StartDecision {
  int64_t job_id = 0;
  std::vector<std::string> rank_workers;  // rank r runs on rank_workers[r]
};

struct WaitDecision {
  int64_t job_id = 0;
  std::string reason;  // kReasonResources / kReasonPriority / kReasonConstraint
  std::string detail;  // for people: "needs 4 ranks (one slot each); 2 of 6 fitting slots are free"
  // With backfill, for the job at the head of the queue: when its reservation expects it to
  // start (the running jobs' limits.maxRuntime), in ms since the epoch; 0 = no estimate.
  int64_t estimated_start_ms = 0;
};

// Stop a running job so that a queued one can have its slots; the job goes back to the queue.
struct PreemptDecision {
  int64_t job_id = 0;
  int64_t for_job_id = 0;  // the queued job that needs the slots
  std::string reason;      // for people: "fair share: account a (0.12) for b (0.93)"
};

// Restart a running elastic job at another size: its current ranks stop, and a new attempt runs
// on `rank_workers` (min_ranks..max_ranks of them) once they have. The new placement may reuse
// the job's own slots, which it reserves meanwhile.
struct ResizeDecision {
  int64_t job_id = 0;
  std::vector<std::string> rank_workers;
  std::string reason;  // for people: "grow 2 -> 4 ranks: slots free" / "shrink ... for job 7"
};

// A running job a guard kept from being preempted this cycle although the policy's rule picked
// it (PolicyOptions::preempt_max_per_job, preempt_max_unsaved_ms). Numbers, not a message: the
// simulator asks every cycle and only counts them; DescribeGuard (policy.h) words it.
struct GuardedJob {
  enum class Guard { kMaxPreemptions, kMaxUnsaved };
  int64_t job_id = 0;
  Guard guard = Guard::kMaxPreemptions;
  int64_t value = 0;  // its preemptions so far, or its work since its last checkpoint in ms
  int64_t bound = 0;  // preempt_max_per_job, or preempt_max_unsaved_ms
  int64_t for_job_id = 0;  // the queued job the preemption would have served
};

struct Decisions {
  std::vector<StartDecision> starts;
  std::vector<WaitDecision> waits;  // one per queued job that does not start (if asked for)
  std::vector<PreemptDecision> preempts;
  std::vector<ResizeDecision> resizes;  // a job is never both preempted and resized
  // Running jobs a guard kept from being preempted this cycle: what the policy reports.
  std::vector<GuardedJob> guarded;
};

}  // namespace shoal
