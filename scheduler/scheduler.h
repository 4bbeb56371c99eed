// Scheduler: the job and worker state machine of shoal-scheduler (docs/design.md §2,
// docs/states.md).
//
// It owns the live jobs and workers, persists every change through the Store before reporting
// success, asks the policy which queued jobs start where, and turns worker reports (heartbeats,
// rank exits, logs, progress) into state transitions. It does no network I/O; the HTTP layer
// (scheduler/api) calls it and does the waiting for long-polls. What is not a state transition
// lives in the modules it calls: JobTable (jobs, keys, per-owner counts), WorkerRegistry,
// JobOutput (logs and metrics within their caps), SaveBatcher (group commit) and the Ledger.
//
// Not thread-safe: every method runs on the scheduler's single event-loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/wire/assignment.h"
#include "common/wire/worker_event.h"
#include "scheduler/audit/arbitration.h"
#include "scheduler/audit/trust.h"
#include "scheduler/failure_book.h"
#include "scheduler/gpu_speeds.h"
#include "scheduler/job_output.h"
#include "scheduler/job_table.h"
#include "scheduler/ledger.h"
#include "scheduler/metrics.h"
#include "scheduler/policy/policy.h"
#include "scheduler/policy/snapshot.h"
#include "scheduler/quotas.h"
#include "scheduler/state/records.h"
#include "scheduler/state/save_batcher.h"
#include "scheduler/state/store.h"
#include "scheduler/worker_registry.h"

namespace shoal {

// The bounds of a Young/Daly checkpoint interval (SchedulerOptions::young_daly): at least a
// minute (checkpoints cost more than their write: an upload, a fsync), at most a day.
inline constexpr int64_t kMinYoungDalySeconds = 60;
inline constexpr int64_t kMaxYoungDalySeconds = 86400;
// Workers' failure records (FailureBook) are stored after every loss and at least this often, so
// that a restart loses at most this much of their up time.
inline constexpr int64_t kFailureBookSaveIntervalMs = 60 * 1000;
// The default of SchedulerOptions::silent_after_end_ms.
inline constexpr int64_t kSilentAfterEndMs = 3000;

struct SchedulerOptions {
  // A worker whose last heartbeat is older than this is marked lost and its ranks fail.
  int64_t worker_timeout_ms = 15000;
  // Longest a heartbeat long-poll is held; kept well under worker_timeout_ms.
  int64_t heartbeat_wait_ms = 5000;
  // A new attempt goes ahead without ranks of the previous one whose workers have not sent a
  // heartbeat request this long after that attempt ended (GoAheadWithoutSilentRanks); the end
  // wakes every held poll, and a live agent polls again within milliseconds. 0 = off: it waits
  // for them until their workers are lost.
  int64_t silent_after_end_ms = kSilentAfterEndMs;
  // Which jobs start where (configs/scheduler.yaml `policy`).
  PolicyOptions policy;
  // Half-life of the contribution ledger's sums (configs/scheduler.yaml `fairShareHalfLife`).
  double fair_share_half_life_s = 7 * 86400.0;
  // How often the ledger is written to the store (a crash loses at most this much accrual).
  int64_t ledger_save_interval_ms = 10000;
  // How often a snapshot of the ledger is appended to its history (ledgerHistoryInterval; 0 =
  // never), and how long snapshots are kept (ledgerHistoryRetention; 0 = forever).
  int64_t ledger_history_interval_ms = 3600 * 1000;
  int64_t ledger_history_retention_ms = int64_t{400} * 86400 * 1000;
  // The queues a job may name in spec.queue (configs/scheduler.yaml `queues`); any other name is
  // refused at submission. They are labels today: every queue shares the pool and the policy.
  std::vector<std::string> queues = {"default"};
  QuotaOptions quotas;
  // A worker with fewer than trusted_after_ranks completed ranks (Worker::completed_ranks) holds
  // at most new_worker_ranks_per_job ranks of any one job of another account (0 = no bound).
  int new_worker_ranks_per_job = 1;
  int64_t trusted_after_ranks = 3;
  // Audits (docs/audits.md; configs/scheduler.yaml `audits`, `audit*`): whether attempts get
  // audit plans, and how workers' audit rates move.
  bool audits = false;
  audit::TrustPolicy trust;
  // Workers started with --test-cheat may register (tests of audits only).
  bool allow_test_faults = false;
  // A case whose records do not all arrive within this is timed out (the silent rank named).
  int64_t audit_record_timeout_ms = 60000;
  // Young/Daly checkpoint intervals (configs/scheduler.yaml `youngDaly`, `workerMtbfPrior`): each
  // new attempt of a job whose last checkpoint's write time is known checkpoints every
  // sqrt(2 x that time x its workers' MTBF), between kMinYoungDalySeconds and kMaxYoungDalySeconds,
  // instead of its spec's everySeconds; workers' MTBFs start from the prior (FailureBook).
  bool young_daly = false;
  int64_t worker_mtbf_prior_ms = int64_t{7} * 86400 * 1000;
  // Heterogeneity-aware placement's seed speeds per GPU type (gpuSpeeds; empty = type-blind).
  std::map<std::string, double> gpu_speeds;
};

// A rank a worker says it is running (or whose exit it has not yet delivered).
struct RankKey {
  int64_t job_id = 0;
  int attempt = 0;
  int rank = 0;
  auto operator<=>(const RankKey&) const = default;
};

class Scheduler {
 public:
  using Clock = std::function<int64_t()>;  // milliseconds since the epoch

  // Loads the stored state. Workers get a fresh heartbeat deadline (they re-attach after a
  // scheduler restart); jobs keep their states. `store` must outlive the Scheduler.
  static Result<std::unique_ptr<Scheduler>> Open(Store* store, SchedulerOptions options,
                                                 Clock clock);

  // Called after every state change (the HTTP layer wakes its long-polls).
  void SetOnChange(std::function<void()> on_change) { on_change_ = std::move(on_change); }
  // Called when a job succeeds (its state is SUCCEEDED, perhaps not yet stored).
  void SetOnJobSucceeded(std::function<void(const Job&)> f) { on_job_succeeded_ = std::move(f); }

  // Defers the scheduling pass that submissions, cancellations and worker changes ask for: with a
  // poster (the daemon posts onto its event loop), requests that arrive before the pass runs share
  // one pass instead of one each; without one (tests), the pass runs at once. The poster must
  // eventually call RunPendingSchedule() on the scheduler's thread.
  //
  // With a poster, job and worker state changes are also written in batches rather than one
  // transaction each (see SaveChanges), and requested passes are rate-limited: a pass costs
  // O(queue + workers), so under a stream of requests at most about a tenth of the time goes to
  // passes; a request that comes too soon after the last pass is served by the next one (the next
  // request's, or RunCycle's).
  void SetSchedulePoster(std::function<void()> post) { post_schedule_ = std::move(post); }
  // Runs the requested pass (unless rate-limited); writes unsaved changes older than 500 ms.
  void RunPendingSchedule();
  // Writes the job changes not yet stored (and any unsaved worker liveness with them) in one
  // transaction. With a poster, Persist()ed jobs and workers that came back are only marked, and
  // written with the next commit of submissions or registrations, or by this call, which the HTTP
  // layer makes before it sends any reply: so no job state a client or worker is told about is
  // unstored, and a stream of changes costs one fsync per batch instead of one each. A worker's
  // liveness alone does not need this (see Heartbeat). RunPendingSchedule writes everything
  // older than 500 ms, so an idle scheduler stores it too, and so does the destructor. Without a
  // poster every change is written at once and this does nothing. Failures are logged and the
  // changes stay marked for the next call.
  Status SaveChanges();

  // --- jobs ---
  // Validates `spec_text` (YAML or JSON), commits the job as PENDING and returns it.
  // InvalidArgument (with the validator's message; *field set to the first bad field) on a bad
  // spec; ResourceExhausted for a spec over quotas.max_spec_bytes (*field "spec") or an owner
  // with quotas.max_active_jobs unfinished jobs (*field "maxActiveJobs"; a batch of concurrent
  // submissions may pass the cap by its size); Unavailable if it could not be committed (then
  // nothing was stored).
  Result<const Job*> Submit(const std::string& spec_text, const std::string& owner,
                            std::string* field = nullptr);
  // Submit in two halves, for group commit (the HTTP layer commits concurrent submissions
  // together). PrepareSubmission validates like Submit and returns the PENDING job to store,
  // without an id; it changes nothing.
  Result<Job> PrepareSubmission(const std::string& spec_text, const std::string& owner,
                                std::string* field = nullptr);
  // Why `job` could never start on the workers registered now (alive or lost): "" when enough
  // of them fit its gang, else a sentence for the submitter ("needs 3 ranks with 1 GPU each of
  // type H100: the registered workers that fit have 0 slots"). Advisory: workers may still join.
  std::string GangWarning(const Job& job) const;
  // Commits prepared jobs in ONE transaction and queues them; returns them with their ids, in
  // order. All or nothing: on Unavailable no job of the batch was stored or queued. A job whose
  // (owner, idempotency_key) was stored before, or appears earlier in the batch, is not stored
  // again: its entry is that job.
  Result<std::vector<const Job*>> SubmitPrepared(std::vector<Job> jobs);
  // Cancels a job: queued → CANCELLED; running → CANCELLED with its ranks told to stop.
  // NotFound / FailedPrecondition (already finished).
  Result<const Job*> Cancel(int64_t job_id);
  const Job* FindJob(int64_t job_id) const;
  // The job `owner` submitted with Idempotency-Key `key`, or nullptr.
  const Job* FindJobByKey(const std::string& owner, const std::string& key) const;
  // Jobs, oldest first, optionally filtered by state, owner account and metadata.name ("" = any).
  std::vector<const Job*> ListJobs(std::optional<JobState> state, const std::string& owner,
                                   const std::string& name = "") const;
  // The scheduler's clock (ms since the epoch; tests set it).
  int64_t NowMs() const { return clock_(); }

  // --- workers ---
  // Registers a worker (or re-registers one by name: its previous ranks are then gone, since
  // a restarted worker process kills its trainers). Returns the worker. A name registered to
  // another account is PermissionDenied (no one takes over someone else's worker); a name held
  // by a live worker with another instance is AlreadyExists (until that one is lost).
  Result<const Worker*> RegisterWorker(const WorkerRegistration& reg);
  // RegisterWorker for several workers, in order, committed in ONE transaction: one result per
  // registration (InvalidArgument for a bad one; Unavailable for all if the commit failed, and
  // then none of them is registered). A name given twice re-registers like two calls would.
  std::vector<Result<const Worker*>> RegisterWorkers(const std::vector<WorkerRegistration>& regs);
  const Worker* FindWorker(const std::string& id) const;
  std::vector<const Worker*> ListWorkers() const;

  // Records a heartbeat: the worker is alive, `running` are the ranks it holds. `new_request`:
  // a request that just arrived, not the answer to a held one (Worker::last_request_ms). NotFound
  // for an unknown worker (it should register again).
  Status Heartbeat(const std::string& worker_id, const std::vector<RankKey>& running,
                   bool new_request = true);
  // Records what the worker's chunk cache holds (a heartbeat's "cached" and "cache"), replacing
  // what it reported before; stats only when report.has_stats. In memory only. NotFound for an
  // unknown worker.
  Status RecordCache(const std::string& worker_id, wire::CacheReport report);
  // Replaces the worker's GPU samples (bounded by wire::kMaxGpuSamples); NotFound for an unknown
  // worker. In memory only.
  Status RecordGpuSamples(const std::string& worker_id, std::vector<wire::GpuSample> samples);
  // The ranks the worker should be running now, as assignments for the wire.
  std::vector<wire::Assignment> Assignments(const std::string& worker_id) const;
  // Whether the desired set differs from `running` (the long-poll answers at once if so).
  bool AssignmentsDiffer(const std::string& worker_id, const std::vector<RankKey>& running) const;
  // Applies a batch of worker events (log, progress, exit), parsed and validated by
  // wire::WorkerEventsFromJson. Events about ranks the worker does not hold are ignored (stale).
  // NotFound for an unknown worker.
  Status ApplyEvents(const std::string& worker_id, const std::vector<wire::WorkerEvent>& events);

  // Whether `worker_id` may store a checkpoint for job `job_id`'s attempt `attempt`: it must run
  // that attempt's rank 0, which must still hold its slot (a stopping rank may still write its
  // final checkpoint; a stale trainer of a lost worker may not), and no later attempt may have
  // gone ahead without it (GoAheadWithoutSilentRanks). NotFound / PermissionDenied /
  // FailedPrecondition otherwise.
  Status CheckCheckpointWriter(int64_t job_id, int attempt, const std::string& worker_id) const;
  // A checkpoint upload that CheckCheckpointWriter allowed is being stored (Began) or is done,
  // stored or not (Ended). While one of an earlier attempt is in flight, the current attempt does
  // not go ahead without that attempt's ranks: the check and the hand-out both run on the event
  // loop, so no upload allowed before the hand-out lands after it.
  void CheckpointWriteBegan(int64_t job_id, int attempt);
  void CheckpointWriteEnded(int64_t job_id, int attempt);
  // Whether a worker of `account` holds a slot for a rank of job `job_id`'s attempt `attempt`
  // (0 = the current attempt): what lets a contributor's worker read that job's checkpoints and
  // its trainers use that attempt's rendezvous KV.
  bool AccountRunsAttempt(const std::string& account, int64_t job_id, int attempt) const;
  // Adds a "checkpoint" event to the job's timeline once its checkpoint of `step` is stored.
  // `write_seconds`: how long the trainer took to write it (0 = not reported), the cost Young/Daly
  // intervals balance.
  // `digest`: the file's audit::StateDigest, judged against the attempt's attestations when it
  // was audited (JudgeAttestedCheckpoint).
  void RecordCheckpoint(int64_t job_id, int attempt, int64_t step, int64_t bytes,
                        double write_seconds = 0, const std::string& digest = "");
  // Adds an event saying why a checkpoint upload was refused (e.g. the account's quota), at most
  // once a minute per job.
  void RecordCheckpointRefused(int64_t job_id, const std::string& why);
  // Whether the stored checkpoints of job `job_id` may be deleted now: the job ended at least
  // quotas.checkpoint_retention_ms ago and its spec does not say checkpoint.keepAfterEnd (or the
  // job is unknown).
  bool CheckpointsExpired(int64_t job_id) const;

  // --- audits (scheduler_audits.cc; docs/audits.md "Consequences") ---
  // Quarantines a worker caught returning wrong gradients: it gets no work until ClearQuarantine,
  // heartbeat or re-register as it may, and the ranks it holds are taken from it as from a lost
  // worker (their attempts fail and restart elsewhere). `evidence` is shown to people (job, step,
  // expected vs got). Stored before it returns. NotFound for an unknown worker; quarantining a
  // quarantined worker replaces the evidence.
  Status QuarantineWorker(const std::string& worker_id, const std::string& evidence);
  // Back to alive (lost if it has been silent past the worker timeout) at the policy's initial
  // audit rate. NotFound; FailedPrecondition when it is not quarantined.
  Status ClearQuarantine(const std::string& worker_id);
  // Counts an audit of one of the worker's ranks and moves its rate (audit/trust.h); stored.
  // Unknown workers are ignored (the audit outlived them).
  void RecordAuditOutcome(const std::string& worker_id, bool clean);
  // Takes back from the worker's account what its ranks earned on `job` (its credited attempts:
  // succeeded, resized, preempted; a failed one earned nothing) and returns the units. For a
  // confirmed cheater (docs/audits.md "Consequences").
  double ClawBackCredit(const Job& job, const std::string& worker_id);
  // A confirmed cheater's failed audit, its credit for `job` clawed back, and an "audit" event
  // with the evidence (its quarantine is the caller's).
  void ChargeCulprit(Job& job, const std::string& worker_id, const std::string& evidence);
  // The audit plans of a new attempt of `job` on these workers (rank order); empty when a plan
  // cannot be made (logged: a job is never held back by its audits).
  std::vector<wire::AuditPlan> PlanAudits(const Job& job,
                                          const std::vector<std::string>& rank_workers);
  // An audit record a rank reported (docs/audits.md): paired with the attempt's other records;
  // a decided case moves trust, and a confirmed cheater (or false accuser) is quarantined. A
  // malformed record is logged and dropped: its case then times out naming the rank.
  // An attestation (wire::Attestation) is kept with its attempt and judged.
  void ApplyAuditRecord(Job& job, int attempt, int rank, const nlohmann::json& data);
  // What is known of the checkpoint `attempt` of `job` wrote at `step` (docs/audits.md
  // "Checkpoints"): "unaudited" for an attempt without audits, else audit::ToString of
  // audit::JudgeCheckpoint. A resume and a publish take only "unaudited" and "attested" ones.
  std::string CheckpointTrustOf(const Job& job, int attempt, int64_t step) const;
  static bool Trusted(const std::string& trust) {
    return trust == "unaudited" || trust == "attested";
  }
  // Judges the checkpoint `attempt` wrote at `step` once its file and attestations are in; a
  // forged one gets its writer quarantined (with the evidence) and clawed back, once.
  void JudgeAttestedCheckpoint(Job& job, int attempt, int64_t step);
  // The account of each rank's worker ("" for one no longer registered), by rank.
  std::vector<std::string> AttemptAccounts(const Attempt& a) const;
  // Times out audit cases whose records stopped coming (called with the periodic checks).
  void ExpireAuditCases();
  // The audit rate a worker's ranks get now (its rate, or the initial one if it was never
  // audited).
  double AuditRate(const Worker& w) const;

  // --- periodic work ---
  // Marks silent workers lost (failing their attempts), fails jobs past limits.maxRuntime, then
  // asks the policy for starts and records them. Idempotent; call on a timer and after changes.
  void RunCycle();

  ~Scheduler();  // writes what SaveChanges() has not

  const SchedulerOptions& options() const { return options_; }
  // The contribution ledger as of the last cycle, one entry per account that ever contributed
  // or used anything.
  std::vector<LedgerEntry> LedgerEntries() const { return ledger_.Entries(); }
  // Jobs' logs and metric series as stored (reads only: the Scheduler alone writes them). The
  // API reads through its own read-only connection when it has one (Api::SetHistoryReader).
  JobHistory* history() { return store_; }
  // Counters and histograms for GET /metrics (scheduler/metrics.h).
  const SchedulerMetrics& metrics() const { return metrics_; }

 private:
  Scheduler(Store* store, SchedulerOptions options, Clock clock)
      : store_(store),
        options_(options),
        clock_(std::move(clock)),
        ledger_(options.fair_share_half_life_s),
        speeds_(options.gpu_speeds),
        failures_(options.worker_mtbf_prior_ms),
        output_(store, options.quotas) {}

  Job* MutableJob(int64_t id);
  Worker* MutableWorker(const std::string& id);
  // Stores the job's state: at once without a poster, else at the next SaveChanges().
  void Persist(const Job& job);
  // Posts RunPendingSchedule() unless it is posted already.
  void PostRun();
  // Writes `batch` plus every unsaved change in one transaction; returns the new jobs' ids.
  Result<std::vector<int64_t>> CommitWithUnsaved(Store::Batch batch);
  void Changed();
  // Fails the job's running attempt: its other ranks are told to stop; the job restarts if
  // `retryable` and retries remain, else fails.
  void FailAttempt(Job& job, const std::string& reason, bool retryable);
  void MaybeFinishAttempt(Job& job);
  // Credits each rank's worker account with the GPU-seconds (slot-seconds on CPU) its rank held in
  // `a`, which ended as completed work (succeeded, preempted or resized); with `history`, also
  // counts the ranks in the workers' completed_ranks.
  void CreditAttempt(const Job& job, const Attempt& a, bool history);
  // The policy's view of a worker holding `held` slots (`stopping` of them stopping).
  SnapshotWorker SnapshotOf(const Worker& w, int held, int stopping) const;
  // Ends the job's running attempt in `state` with `reason`: its live ranks are told to stop
  // (kStopping), or marked exited on lost workers. Returns it, or nullptr if none was running.
  Attempt* EndAttempt(Job& job, AttemptState state, const std::string& reason);
  // Stops the job's running attempt for the policy (its ranks are told to stop, SIGTERM then
  // SIGKILL after the worker's grace period) and puts the job back in the queue.
  void PreemptAttempt(Job& job, const std::string& reason);
  // Records on a running job that a guard kept its attempt from the policy's preemption (an
  // event `guarded` and a metric), once per attempt and guard. True if it recorded something.
  bool ReportGuarded(const GuardedJob& g);
  // Restarts the job at another size (elastic gangs): its running attempt ends as resized and a
  // new one is recorded on `rank_workers` at once, handed to the workers only when every rank of
  // the old one has exited (AwaitsPreviousAttempt).
  void ResizeJob(Job& job, const std::vector<std::string>& rank_workers, const std::string& reason);
  // Milliseconds the job has run, summed over its attempts (what limits.maxRuntime bounds).
  int64_t RunMs(const Job& job) const;
  void MarkLostWorkers();
  // A new attempt waits for every rank of the one before it to exit (AwaitsPreviousAttempt).
  // A rank on a worker that vanished would hold it for the whole workerTimeout. When the previous
  // attempt ended at least options_.silent_after_end_ms ago and every rank of it still holding a
  // slot is on a worker that has sent no heartbeat request since (a live agent answers the wake-up
  // of that end within milliseconds), the attempt goes ahead (Attempt::went_ahead, event
  // `wentAhead`). The silent ranks keep their slots until their workers are lost or report them
  // gone.
  void GoAheadWithoutSilentRanks();
  // Ends the job's current attempt before it started (AttemptState::kResized, event `resized`,
  // `reason` "Replaced: ...") and queues the job again: no failure, no retry used. Called from
  // RunCycle, whose pass places it.
  void ReplaceAttempt(Job& job, const std::string& reason);
  // Whether `worker_id` has been silent since attempt `a` ended: it ended at least
  // silent_after_end_ms ago, and the worker has sent no heartbeat request since (or is gone).
  // Such a worker's ranks do not hold up the next attempt, and nothing new is placed on it
  // (BuildSnapshot) while it holds a stopping rank of `a`.
  bool SilentSinceEnd(const Attempt& a, const std::string& worker_id, int64_t now) const;
  // Stores the workers' failure records when one was lost since the last save, or
  // kFailureBookSaveIntervalMs after it, or `force`.
  void SaveFailureBook(bool force = false);
  // Fails running jobs past limits.maxRuntime (counted from their first start).
  void EnforceTimeLimits();
  // Charges the ledger for the time since the last cycle; saves it every ledger_save_interval_ms
  // and appends it to the history every ledger_history_interval_ms (first at the first call with
  // a non-empty ledger).
  void AccrueLedger();
  // A job reached a terminal state: it no longer counts against its owner's active jobs.
  void JobEnded(const Job& job);
  void Schedule();
  // Schedule() now, or once soon for every request until then (SetSchedulePoster).
  void RequestSchedule();
  void StartJob(Job& job, const std::vector<std::string>& rank_workers);
  // The Young/Daly interval a new attempt of `job` on these workers checkpoints at (s), or 0 for
  // its spec's (young_daly off, no periodic checkpoints, or no write time reported yet).
  int YoungDalyEverySeconds(const Job& job, const std::vector<std::string>& rank_workers) const;
  Snapshot BuildSnapshot() const;
  RankPlacement* FindRank(Job& job, int attempt, int rank);
  // The ranks `worker_id` should be running now (of running attempts, not yet told to stop).
  std::vector<std::pair<const Job*, RankKey>> DesiredRanks(const std::string& worker_id) const;
  // Whether a checkpoint upload of an attempt before `attempt` of the job is being stored.
  bool WritesCheckpointBefore(int64_t job_id, int attempt) const;
  Status ApplyExit(Job& job, RankPlacement& rp, int attempt, const wire::WorkerEvent& ev);
  // A progress report's samples/s per rank, into speeds_, when every rank of the attempt runs on
  // one GPU type (a gang over several runs at its slowest, which says little of each).
  void ObserveSpeed(const Job& job, int attempt, const nlohmann::json& progress);
  // Heterogeneity-aware placement: each queued GPU job's preferred GPU types (policy/hetero.h),
  // from its kind's speeds (gpu_speeds.h).
  void ApplyGpuSpeeds(Snapshot& snap) const;

  Store* store_;
  SchedulerOptions options_;
  Clock clock_;
  std::function<void()> on_change_;
  std::function<void(const Job&)> on_job_succeeded_;
  JobTable jobs_;
  WorkerRegistry workers_;
  SchedulerMetrics metrics_;
  Ledger ledger_;
  GpuSpeedBook speeds_;  // jobs' measured speed per GPU type (heterogeneous pools)
  FailureBook failures_;  // workers' observed MTBF (Young/Daly checkpoint intervals)
  int64_t failures_saved_ms_ = 0;      // when SaveFailureBook last wrote
  int64_t failures_saved_losses_ = 0;  // failures_.total_losses() then
  std::function<void()> post_schedule_;
  bool schedule_pending_ = false;
  // A RunPendingSchedule() is posted and has not run yet.
  bool run_posted_ = false;
  // Requested passes wait until then (steady clock), so that they use ~1/kPassDuty of the time.
  std::chrono::steady_clock::time_point next_pass_at_{};
  // Changes written by the next SaveChanges() (with a poster): ids of jobs and workers.
  SaveBatcher saves_;
  int64_t ledger_saved_ms_ = 0;
  // The audit records of running attempts, paired as they arrive (key: job id, attempt).
  std::map<std::pair<int64_t, int>, audit::AuditBook> audit_books_;
  int64_t ledger_history_ms_ = -1;  // when the last history snapshot was taken; -1 = none yet
  // Jobs' log lines and metric points, stored within their caps and expired after retention.
  JobOutput output_;
  std::unordered_map<int64_t, int64_t> checkpoint_refused_ms_;  // job -> last event
  // Checkpoint uploads being stored: (job, attempt) -> how many (CheckpointWriteBegan).
  std::map<std::pair<int64_t, int>, int> checkpoint_writes_;
};

}  // namespace shoal
