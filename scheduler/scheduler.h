// Scheduler: the job and worker state machine of shoal-scheduler (DESIGN.md §2, §4.2).
//
// It owns the live jobs and workers, persists every change through the Store before reporting
// success, asks the policy which queued jobs start where, and turns worker reports (heartbeats,
// rank exits, logs, progress) into state transitions. It does no network I/O; the HTTP layer
// (scheduler/api) calls it and does the waiting for long-polls.
//
// Not thread-safe: every method runs on the scheduler's single event-loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "scheduler/ledger.h"
#include "scheduler/policy/policy.h"
#include "scheduler/policy/snapshot.h"
#include "scheduler/state/model.h"
#include "scheduler/state/store.h"

namespace shoal {

struct SchedulerOptions {
  // A worker whose last heartbeat is older than this is marked lost and its ranks fail.
  int64_t worker_timeout_ms = 15000;
  // Longest a heartbeat long-poll is held; kept well under worker_timeout_ms.
  int64_t heartbeat_wait_ms = 5000;
  // Which jobs start where (configs/scheduler.yaml `policy`).
  PolicyOptions policy;
  // Half-life of the contribution ledger's sums (configs/scheduler.yaml `fairShareHalfLife`).
  double fair_share_half_life_s = 7 * 86400.0;
  // How often the ledger is written to the store (a crash loses at most this much accrual).
  int64_t ledger_save_interval_ms = 10000;
};

// A rank a worker says it is running (or whose exit it has not yet delivered).
struct RankKey {
  int64_t job_id = 0;
  int attempt = 0;
  int rank = 0;
  auto operator<=>(const RankKey&) const = default;
};

struct WorkerRegistration {
  std::string name;
  std::string host;
  int slots = 1;
  int cpus = 0;
  std::vector<GpuInfo> gpus;
  std::string account = "default";  // earns the contribution credit; a DNS label
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

  // Defers the scheduling pass that submissions, cancellations and worker changes ask for: with a
  // poster (the daemon posts onto its event loop), requests that arrive before the pass runs share
  // one pass instead of one each; without one (tests), the pass runs at once. The poster must
  // eventually call RunPendingSchedule() on the scheduler's thread.
  void SetSchedulePoster(std::function<void()> post) { post_schedule_ = std::move(post); }
  void RunPendingSchedule();

  // --- jobs ---
  // Validates `spec_text` (YAML or JSON), commits the job as PENDING and returns it.
  // InvalidArgument (with the validator's message; *field set to the first bad field) on a bad
  // spec; Unavailable if it could not be committed (then nothing was stored).
  Result<const Job*> Submit(const std::string& spec_text, const std::string& owner,
                            std::string* field = nullptr);
  // Cancels a job: queued → CANCELLED; running → CANCELLED with its ranks told to stop.
  // NotFound / FailedPrecondition (already finished).
  Result<const Job*> Cancel(int64_t job_id);
  const Job* FindJob(int64_t job_id) const;
  // Jobs, oldest first, optionally filtered.
  std::vector<const Job*> ListJobs(std::optional<JobState> state, const std::string& owner) const;

  // --- workers ---
  // Registers a worker (or re-registers one by name: its previous ranks are then gone, since
  // a restarted worker process kills its trainers). Returns the worker.
  Result<const Worker*> RegisterWorker(const WorkerRegistration& reg);
  const Worker* FindWorker(const std::string& id) const;
  std::vector<const Worker*> ListWorkers() const;

  // Records a heartbeat: the worker is alive, `running` are the ranks it holds. NotFound for an
  // unknown worker (it should register again).
  Status Heartbeat(const std::string& worker_id, const std::vector<RankKey>& running);
  // The ranks the worker should be running now, as assignments for the wire.
  nlohmann::json Assignments(const std::string& worker_id) const;
  // Whether the desired set differs from `running` (the long-poll answers at once if so).
  bool AssignmentsDiffer(const std::string& worker_id, const std::vector<RankKey>& running) const;
  // Applies a batch of worker events (log, progress, exit). Events about ranks the worker does
  // not hold are ignored (stale); malformed events are InvalidArgument and nothing is applied.
  Status ApplyEvents(const std::string& worker_id, const nlohmann::json& events);

  // --- periodic work ---
  // Marks silent workers lost (failing their attempts), fails jobs past limits.maxRuntime, then
  // asks the policy for starts and records them. Idempotent; call on a timer and after changes.
  void RunCycle();

  const SchedulerOptions& options() const { return options_; }
  // The contribution ledger as of the last cycle, one entry per account that ever contributed
  // or used anything.
  std::vector<LedgerEntry> LedgerEntries() const { return ledger_.Entries(); }
  Store* store() { return store_; }

 private:
  Scheduler(Store* store, SchedulerOptions options, Clock clock)
      : store_(store),
        options_(options),
        clock_(std::move(clock)),
        ledger_(options.fair_share_half_life_s) {}

  Job* MutableJob(int64_t id);
  Worker* MutableWorker(const std::string& id);
  void Persist(const Job& job);
  void Changed();
  // Fails the job's running attempt: its other ranks are told to stop; the job restarts if
  // `retryable` and retries remain, else fails.
  void FailAttempt(Job& job, const std::string& reason, bool retryable);
  void MaybeFinishAttempt(Job& job);
  // Ends the job's running attempt in `state` with `reason`: its live ranks are told to stop
  // (kStopping), or marked exited on lost workers. Returns it, or nullptr if none was running.
  Attempt* EndAttempt(Job& job, AttemptState state, const std::string& reason);
  // Stops the job's running attempt for the policy (its ranks are told to stop, SIGTERM then
  // SIGKILL after the worker's grace period) and puts the job back in the queue.
  void PreemptAttempt(Job& job, const std::string& reason);
  // Restarts the job at another size (elastic gangs): its running attempt ends as resized and a
  // new one is recorded on `rank_workers` at once, handed to the workers only when every rank of
  // the old one has exited (AwaitsPreviousAttempt).
  void ResizeJob(Job& job, const std::vector<std::string>& rank_workers, const std::string& reason);
  // Milliseconds the job has run, summed over its attempts (what limits.maxRuntime bounds).
  int64_t RunMs(const Job& job) const;
  void MarkLostWorkers();
  // Fails running jobs past limits.maxRuntime (counted from their first start).
  void EnforceTimeLimits();
  // Charges the ledger for the time since the last cycle; saves it every ledger_save_interval_ms.
  void AccrueLedger();
  void Schedule();
  // Schedule() now, or once soon for every request until then (SetSchedulePoster).
  void RequestSchedule();
  void StartJob(Job& job, const std::vector<std::string>& rank_workers);
  Snapshot BuildSnapshot() const;
  RankPlacement* FindRank(Job& job, int attempt, int rank);
  // The ranks `worker_id` should be running now (of running attempts, not yet told to stop).
  std::vector<std::pair<const Job*, RankKey>> DesiredRanks(const std::string& worker_id) const;
  Status ApplyExit(Job& job, RankPlacement& rp, int attempt, const nlohmann::json& ev);

  Store* store_;
  SchedulerOptions options_;
  Clock clock_;
  std::function<void()> on_change_;
  std::map<int64_t, Job> jobs_;
  std::map<std::string, Worker> workers_;
  std::unordered_map<std::string, std::string> worker_by_name_;  // name -> id
  int next_worker_number_ = 1;
  Ledger ledger_;
  std::function<void()> post_schedule_;
  bool schedule_pending_ = false;
  int64_t ledger_saved_ms_ = 0;
};

}  // namespace shoal
