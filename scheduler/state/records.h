// The scheduler's records: jobs, their attempts and rank placements, workers, and the ledger's
// entries.
//
// These are plain values. The Scheduler owns the live copies; the Store persists them (their
// stored encoding: state/codec.h); the API shows them (api/views.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/spec/job_spec.h"
#include "common/status.h"
#include "common/wire/assignment.h"  // Pin
#include "common/wire/cache_report.h"
#include "common/wire/gpu_samples.h"
#include "scheduler/audit/attestation.h"
#include "scheduler/policy/reasons.h"

namespace shoal {

// docs/states.md §1. PENDING and RESTARTING carry a reason; terminal states never change again.
enum class JobState { kPending, kRunning, kRestarting, kSucceeded, kFailed, kCancelled };
const char* ToString(JobState state);
Result<JobState> ParseJobState(std::string_view name);
bool IsTerminal(JobState state);

// Pending reasons (kReasonResources...): scheduler/policy/reasons.h.
// A rank exceeded its memory limit (FAILED, not retried; docs/states.md).
inline constexpr const char* kReasonOutOfMemory = "OutOfMemory";

// A rank's placement on a worker slot.
enum class RankState {
  kAssigned,  // recorded; the worker has not yet confirmed the process
  kRunning,   // the worker reported the process alive
  kStopping,  // the scheduler wants it gone; it still holds its slot until the worker confirms
  kExited,    // the process is gone (exit code / signal below), slot free
};
const char* ToString(RankState state);

struct RankPlacement {
  int rank = 0;
  std::string worker_id;
  RankState state = RankState::kAssigned;
  int exit_code = 0;             // valid when kExited; -1 when lost with the worker
  int signal = 0;                // terminating signal, 0 if none
  std::string message;           // last error line, if any
  nlohmann::json result;         // the trainer's final report (param checksum, accuracy)
  // Registry bytes the worker downloaded for this rank (its cache held the rest); unset until
  // the worker reports it, and for ranks that read nothing from the registry.
  std::optional<int64_t> fetched_bytes;
};

// kPreempted: stopped by the policy to give its slots to another job; the job went back to the
// queue, and the attempt does not count against limits.maxRetries. kResized: stopped by the
// policy to restart the job at another size (elastic gangs); the next attempt follows at once.
// Appended only: stored attempts keep these numbers.
enum class AttemptState { kRunning, kSucceeded, kFailed, kCancelled, kPreempted, kResized };
const char* ToString(AttemptState state);

// Checkpoint steps an attempt keeps attestations for (far more than any job keeps checkpoints).
inline constexpr size_t kMaxAttestedSteps = 64;

struct Attempt {
  int number = 0;  // 1-based
  int world_size = 0;
  AttemptState state = AttemptState::kRunning;
  std::string reason;
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  std::vector<RankPlacement> ranks;  // index == rank
  // Audits (docs/audits.md): each rank's plan, secret keys included; empty = not audited.
  std::vector<wire::AuditPlan> audit;
  // Set when a cheater was caught in this attempt (docs/audits.md "rollback rule"): checkpoints
  // written by this attempt or earlier ones past this step are not resumed from. -1 = none.
  int64_t rollback_to_step = -1;
  // The last step at which each worker (by id) passed an audit in this attempt: the rollback
  // rule's memory, stored with the attempt so that a scheduler restart keeps it.
  std::map<std::string, int64_t> clean_audit_steps;
  // Audited attempts: what is known of each step rank 0 checkpoints (docs/audits.md
  // "Checkpoints"), the newest kMaxAttestedSteps steps.
  std::map<int64_t, audit::CheckpointAttestations> attestations;
  // When this attempt last stored a checkpoint (0 = not yet): +preempt's cost guard
  // (PolicyOptions::preempt_max_unsaved_ms) reads it.
  int64_t last_checkpoint_ms = 0;
  // How long the trainer took to write that checkpoint (0 = not reported), and the interval this
  // attempt was told to checkpoint at by Young/Daly (0 = its spec's everySeconds).
  double checkpoint_write_s = 0;
  int checkpoint_every_s = 0;
  // This attempt's ranks were handed out while ranks of the attempt before it still held slots on
  // workers that had gone silent (Scheduler::GoAheadWithoutSilentRanks): checkpoints written by
  // earlier attempts are refused from then on, so none lands beside this attempt's.
  bool went_ahead = false;
};

// One account's row of the contribution ledger (scheduler/ledger.h keeps them; the store saves
// them).
struct LedgerEntry {
  std::string account;
  double contributed = 0;  // decayed GPU-seconds earned
  double used = 0;         // decayed GPU-seconds spent
  // Never decayed (BOINC's "total credit"): everything earned and spent since the account began.
  double total_contributed = 0;
  double total_used = 0;
};

// A worker's failure history for Young/Daly intervals (scheduler/failure_book.h): the time it
// was seen alive and the times it was lost, as of when the record was taken.
struct FailureRecord {
  std::string worker_id;
  int64_t up_ms = 0;
  int64_t losses = 0;
};

// One entry of a job's timeline (shoal status, GET /v1/jobs/{id} "events"): what happened to it
// and why, kept with the job. Types: submitted, placed, started, checkpoint, preempted, resized,
// restarting, succeeded, failed, cancelled, audit.
struct JobEvent {
  int64_t ts_ms = 0;
  std::string type;
  std::string message;
};

// Bounds a job's timeline: the first kKeepFirst events and the newest ones up to kMaxJobEvents in
// all are kept (a long job writes a checkpoint event every minute); the rest are counted.
inline constexpr int kMaxJobEvents = 100;
inline constexpr int kKeepFirstJobEvents = 10;

struct Job {
  int64_t id = 0;
  std::string owner;
  // The client's Idempotency-Key ("" = none): a submission repeated with the same owner and key
  // returns this job instead of creating another (safe retries after a lost reply).
  std::string idempotency_key;
  std::string spec_text;  // as submitted (YAML or JSON)
  JobSpec spec;           // parsed from spec_text
  JobState state = JobState::kPending;
  std::string reason;
  int64_t submitted_ms = 0;
  int64_t started_ms = 0;   // first attempt's start
  int64_t finished_ms = 0;
  std::vector<Attempt> attempts;
  // The registry versions the spec names (shoal://..., docs/registry.md), resolved and pinned at
  // submission: the job reads these exact versions whatever is pushed later. Immutable.
  std::vector<wire::Pin> pins;
  nlohmann::json progress = nlohmann::json::object();  // latest report from rank 0
  nlohmann::json result = nlohmann::json::object();    // final metrics of a successful run
  std::vector<JobEvent> events;  // oldest first, bounded (AddJobEvent)
  int64_t events_dropped = 0;    // events dropped from the middle of the timeline
  // Why a pending job waits, in numbers ("needs 3 ranks with a CPU slot; 2 of 5 fitting slots
  // are free"), and when the backfill reservation expects it to start (0 = no estimate). In
  // memory only: every scheduling cycle recomputes them.
  std::string reason_message;
  int64_t estimated_start_ms = 0;

  Attempt* current_attempt() { return attempts.empty() ? nullptr : &attempts.back(); }
  const Attempt* current_attempt() const { return attempts.empty() ? nullptr : &attempts.back(); }
};

// Milliseconds `job` has run, summed over its attempts, a running one's until `now_ms` (what
// limits.maxRuntime bounds).
int64_t JobRunMs(const Job& job, int64_t now_ms);

// kQuarantined: caught returning wrong gradients (docs/audits.md "Consequences"); it gets no work
// until an admin clears it, whether it heartbeats or not.
enum class WorkerState { kAlive, kLost, kQuarantined };
const char* ToString(WorkerState state);
// "alive", "lost" or "quarantined"; InvalidArgument otherwise.
Result<WorkerState> ParseWorkerState(std::string_view name);

struct GpuInfo {
  std::string name;
  int64_t memory_mib = 0;
  std::string compute_capability;  // e.g. "9.0"
};

struct Worker {
  std::string id;    // assigned by the scheduler, e.g. "w-3"
  std::string name;  // chosen by the worker (host name by default); unique
  std::string host;
  std::string account = "default";  // who earns the contribution credit of its GPUs
  // Random per worker process ("" from workers that predate it): a second live process under
  // the same name is refused, so that two agents never share one id and run the same rank.
  std::string instance;
  // Stable across the agent's restarts on one machine (a random id kept in its work directory;
  // "" from agents that predate it). A new instance with the same machine id is that worker
  // restarted: it takes the name over at once instead of waiting for the old one to be lost.
  // Never shown by the API.
  std::string machine;
  int slots = 1;     // ranks it runs at once
  int cpus = 0;
  std::vector<GpuInfo> gpus;
  // RAM: the machine's (or the agent's cgroup limit) and how much of it ranks may use, shared by
  // its slots (--memory-limit). 0 = not reported (agents before memory admission): unknown, and
  // any job is let run there.
  int64_t memory_total_bytes = 0;
  int64_t memory_lent_bytes = 0;
  WorkerState state = WorkerState::kAlive;
  int64_t registered_ms = 0;
  int64_t last_seen_ms = 0;  // in memory only: a restart gives every worker a fresh timeout
  // When its last heartbeat request arrived (in memory only, a restart counts as one). Unlike
  // last_seen_ms, the answer to a held poll does not refresh it: a poll held when the machine
  // vanished is still answered, into a closed connection.
  int64_t last_request_ms = 0;
  // Ranks it ran in attempts that succeeded (their parameters checked against the other ranks'):
  // its history. Until it has some, it holds a bounded share of other accounts' jobs.
  int64_t completed_ranks = 0;
  // Audits (docs/audits.md "Adaptive trust"): the chance per step that a rank of it is audited,
  // 0 for a worker never audited (it then gets the policy's initial rate; the policy is a
  // setting, so it is not frozen into the record), and the audits it passed and failed.
  double audit_rate = 0;
  int64_t clean_audits = 0;
  int64_t failed_audits = 0;
  // Why it is kQuarantined (job, step, expected vs got) and since when; kept after a clear, for
  // the record, until the next quarantine.
  std::string quarantine;
  int64_t quarantined_ms = 0;
  // What its chunk cache holds, as its last heartbeat that said so reported it (most recently
  // used first): placement prefers workers that hold a job's data. In memory only: a restarted
  // scheduler learns it again from the next heartbeats.
  std::vector<wire::CachedVersion> cached;
  wire::CacheStats cache_stats;
  bool cache_reported = false;  // cache_stats was reported
  // Its GPUs' latest NVML samples (wire/gpu_samples.h), by NVML index; in memory only, empty when
  // the worker has no NVML. Shown with its gpus in the API (utilization, memoryUsedMiB).
  std::vector<wire::GpuSample> gpu_samples;
};

// Appends an event to the job's timeline, dropping the oldest one after the first
// kKeepFirstJobEvents when the timeline is full. Messages are cut at 1 KiB.
void AddJobEvent(Job& job, int64_t ts_ms, std::string type, std::string message);

// Whether a checkpoint at `step` written by attempt `written_by` is suspect under the rollback
// rule of an attempt of `job` that caught a cheater (Attempt::rollback_to_step): a later attempt
// must not resume from it.
bool RolledBack(const Job& job, int written_by, int64_t step);

// Each attempt's clean audits (worker -> last clean audit step), in attempt order: what the
// rollback rule reads (scheduler/audit/rollback.h).
std::vector<const std::map<std::string, int64_t>*> CleanAuditsByAttempt(const Job& job);

// The attempt's record of its checkpoint step `step` (made if new), keeping the newest
// kMaxAttestedSteps steps; nullptr when `step` is older than all of those.
audit::CheckpointAttestations* AttestedStep(Attempt& a, int64_t step);

}  // namespace shoal
