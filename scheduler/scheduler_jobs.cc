// The job lifecycle of the Scheduler: submission (quotas, group commit), cancellation, starting
// a gang, and how an attempt ends (success with agreeing parameters, failure and retry,
// preemption, resizing, time limits).
// Part of the Scheduler class (scheduler/scheduler.h); the files share scheduler_internal.h.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>

#include "common/log.h"
#include "scheduler/policy/checkpoint_interval.h"
#include "scheduler/policy/placement.h"
#include "scheduler/policy/policy.h"
#include "scheduler/scheduler.h"
#include "scheduler/scheduler_internal.h"

namespace shoal {

using scheduler_internal::HoldsSlot;
using scheduler_internal::WorkerLabel;
using scheduler_internal::ShapeOf;

Result<const Job*> Scheduler::Submit(const std::string& spec_text, const std::string& owner,
                                     std::string* field) {
  ASSIGN_OR_RETURN(Job job, PrepareSubmission(spec_text, owner, field));
  std::vector<Job> one;
  one.push_back(std::move(job));
  ASSIGN_OR_RETURN(std::vector<const Job*> stored, SubmitPrepared(std::move(one)));
  return stored.front();
}

Result<Job> Scheduler::PrepareSubmission(const std::string& spec_text, const std::string& owner,
                                         std::string* field) {
  const QuotaOptions& quotas = options_.quotas;
  if (quotas.max_spec_bytes > 0 && static_cast<int64_t>(spec_text.size()) > quotas.max_spec_bytes) {
    if (field != nullptr) *field = "spec";
    return ResourceExhausted("the job spec is " + std::to_string(spec_text.size()) +
                             " bytes; this scheduler accepts at most " +
                             std::to_string(quotas.max_spec_bytes) + " (maxSpecBytes)");
  }
  if (const int64_t active = jobs_.active(owner);
      quotas.max_active_jobs > 0 && active >= quotas.max_active_jobs) {
    if (field != nullptr) *field = "maxActiveJobs";
    return ResourceExhausted("account " + owner + " has " + std::to_string(active) +
                             " unfinished jobs, its limit (maxActiveJobs); wait for some to "
                             "finish or cancel some");
  }
  std::vector<SpecError> errors;
  auto spec = ParseJobSpec(spec_text, "request body", &errors);
  if (!spec.ok()) {
    if (field != nullptr && !errors.empty()) *field = errors.front().field;
    return spec.status();
  }
  const std::string& queue = spec->queue;
  if (std::find(options_.queues.begin(), options_.queues.end(), queue) ==
      options_.queues.end()) {
    if (field != nullptr) *field = "spec.queue";
    std::string known;
    for (const auto& q : options_.queues) known += (known.empty() ? "" : ", ") + q;
    return InvalidArgument("spec.queue: unknown queue \"" + queue.substr(0, 80) +
                           "\" (this scheduler has: " + known + ")");
  }
  Job job;
  job.owner = owner;
  job.spec_text = spec_text;
  job.spec = std::move(spec).value();
  job.state = JobState::kPending;
  job.reason = kReasonResources;
  job.submitted_ms = clock_();
  AddJobEvent(job, job.submitted_ms, "submitted",
              "by account " + owner + ": " + std::to_string(job.spec.workers.min) +
                  (job.spec.workers.max > job.spec.workers.min
                       ? ".." + std::to_string(job.spec.workers.max)
                       : "") +
                  " ranks, backend " + ToString(job.spec.resources.backend));
  return job;
}

Result<std::vector<const Job*>> Scheduler::SubmitPrepared(std::vector<Job> jobs) {
  // Repeats of an idempotency key (stored, or earlier in this batch) are answered with that job.
  auto [repeat_of, same_as, rows] = jobs_.Stage(jobs);
  // One transaction for the batch (with any unsaved change, which thus costs no fsync of its
  // own): it is stored (and may be acknowledged) as a whole or not at all, and nothing of it is
  // queued before the commit.
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, CommitWithUnsaved({rows, {}, {}}));
  std::vector<const Job*> out(jobs.size(), nullptr);
  size_t next_id = 0;
  bool any_new = false;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (repeat_of[i] > 0 || same_as[i] >= 0) continue;
    jobs[i].id = ids[next_id++];
    Job& job = jobs_.Install(std::move(jobs[i]));
    LOG_INFO << "job " << job.id << " (" << job.spec.metadata.name << ") submitted by "
             << job.owner;
    out[i] = &job;
    any_new = true;
    ++metrics_.jobs_submitted_total;
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (repeat_of[i] > 0) out[i] = FindJob(repeat_of[i]);
    if (same_as[i] >= 0) out[i] = out[same_as[i]];
  }
  if (any_new) {
    RequestSchedule();  // one pass for the whole batch
    Changed();
  }
  return out;
}

Result<const Job*> Scheduler::Cancel(int64_t job_id) {
  Job* job = MutableJob(job_id);
  if (job == nullptr) return NotFound("job " + std::to_string(job_id) + " not found");
  if (IsTerminal(job->state)) {
    return FailedPrecondition("job " + std::to_string(job_id) + " already finished (" +
                              ToString(job->state) + ")");
  }
  Attempt* a = job->current_attempt();
  if (a != nullptr && a->state == AttemptState::kRunning) {
    a->state = AttemptState::kCancelled;
    a->reason = "cancelled by user";
    a->ended_ms = clock_();
    for (auto& r : a->ranks) {
      if (HoldsSlot(r.state)) r.state = RankState::kStopping;
    }
  }
  job->state = JobState::kCancelled;
  job->reason = "cancelled by user";
  job->finished_ms = clock_();
  JobEnded(*job);
  AddJobEvent(*job, job->finished_ms, "cancelled",
              a != nullptr && a->state == AttemptState::kCancelled
                  ? "by user; the ranks of attempt " + std::to_string(a->number) + " are told to stop"
                  : "by user, before it started");
  Persist(*job);
  LOG_INFO << "job " << job_id << " cancelled";
  RequestSchedule();
  Changed();
  return job;
}

std::string Scheduler::GangWarning(const Job& job) const {
  SnapshotJob shape = ShapeOf(job);
  std::vector<SnapshotWorker> all;
  for (const auto& [id, w] : workers_.all()) {
    // A quarantined worker stays out until an admin clears it: no capacity to count on.
    if (w.state != WorkerState::kQuarantined) all.push_back(SnapshotOf(w, 0, 0));
  }
  const int capacity = FittingCapacity(shape, all);
  if (capacity >= shape.min_ranks) return "";
  if (std::string memory = DescribeMemoryShortfall(shape, all); !memory.empty()) {
    return memory +
           " (of the registered workers); it stays PENDING (Constraint) until such "
           "workers join";
  }
  return DescribeNeed(shape) + ": " +
         (workers_.empty() ? std::string("no worker has registered yet")
          : capacity == 0  ? "none of the " + std::to_string(workers_.size()) +
                                " registered workers fits"
                           : "the registered workers that fit have " + std::to_string(capacity) +
                                (capacity == 1 ? " slot" : " slots") + " in all") +
         "; it stays PENDING (Constraint) until such workers join";
}

void Scheduler::MaybeFinishAttempt(Job& job) {
  Attempt* a = job.current_attempt();
  for (const auto& r : a->ranks) {
    if (r.state != RankState::kExited || r.exit_code != 0) return;
  }
  // Data-parallel ranks end with the same parameters: a rank that reports none, or others, did
  // not do the work (or did it wrong). The attempt fails and is retried, and nobody is credited.
  auto checksum = [](const RankPlacement& r) {
    // A worker may report an exit without a result (or with junk in it): never throw here.
    const auto it = r.result.is_object() ? r.result.find("paramChecksum") : r.result.end();
    return it != r.result.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string first = checksum(a->ranks.front());
  for (const auto& r : a->ranks) {
    const std::string sum = checksum(r);
    if (sum.empty() || sum != first) {
      FailAttempt(job,
                  sum.empty() ? "ParamChecksum: rank " + std::to_string(r.rank) + " (worker " +
                                    r.worker_id + ") exited 0 but reported no parameter checksum"
                              : "ParamChecksum: rank " + std::to_string(r.rank) + " (worker " +
                                    r.worker_id + ") ended with parameters " + sum.substr(0, 16) +
                                    ", rank 0 with " + first.substr(0, 16),
                  /*retryable=*/true);
      return;
    }
  }
  a->state = AttemptState::kSucceeded;
  a->ended_ms = clock_();
  CreditAttempt(job, *a, /*history=*/true);
  job.state = JobState::kSucceeded;
  JobEnded(job);
  AddJobEvent(job, a->ended_ms, "succeeded",
              "attempt " + std::to_string(a->number) + ": every rank exited 0");
  job.reason.clear();
  job.finished_ms = a->ended_ms;
  job.result = a->ranks.front().result;
  nlohmann::json checksums = nlohmann::json::array();
  for (const auto& r : a->ranks) checksums.push_back(checksum(r));
  job.result["rankChecksums"] = checksums;
  LOG_INFO << "job " << job.id << " succeeded: " << job.result.dump();
  if (on_job_succeeded_) on_job_succeeded_(job);
}

Attempt* Scheduler::EndAttempt(Job& job, AttemptState state, const std::string& reason) {
  Attempt* a = job.current_attempt();
  if (a == nullptr || a->state != AttemptState::kRunning) return nullptr;
  a->state = state;
  a->reason = reason;
  a->ended_ms = clock_();
  for (auto& r : a->ranks) {
    if (!HoldsSlot(r.state)) continue;
    const Worker* w = FindWorker(r.worker_id);
    if (w == nullptr || w->state == WorkerState::kLost) {
      r.state = RankState::kExited;
      r.exit_code = -1;
      r.message = "worker lost";
    } else {
      r.state = RankState::kStopping;
    }
  }
  return a;
}

void Scheduler::FailAttempt(Job& job, const std::string& reason, bool retryable) {
  Attempt* a = EndAttempt(job, AttemptState::kFailed, reason);
  if (a == nullptr) return;
  // Preempted attempts were the policy's doing, not failures: they do not use up retries.
  int retries_used = -1;  // the attempt failing now is not a retry of itself
  for (const auto& at : job.attempts) retries_used += at.state == AttemptState::kFailed;
  if (retryable && retries_used < job.spec.limits.max_retries) {
    job.state = JobState::kRestarting;
    job.reason = reason;
    AddJobEvent(job, a->ended_ms, "restarting",
                "attempt " + std::to_string(a->number) + " failed (retry " +
                    std::to_string(retries_used + 1) + " of " +
                    std::to_string(job.spec.limits.max_retries) + "): " + reason);
    LOG_WARN << "job " << job.id << " attempt " << a->number << " failed, restarting: " << reason;
  } else {
    job.state = JobState::kFailed;
    job.reason = retryable ? reason + " (no retries left)" : reason;
    job.finished_ms = a->ended_ms;
    JobEnded(job);
    AddJobEvent(job, a->ended_ms, "failed",
                "attempt " + std::to_string(a->number) + ": " + job.reason);
    LOG_WARN << "job " << job.id << " failed: " << job.reason;
  }
  Persist(job);
}

void Scheduler::ResizeJob(Job& job, const std::vector<std::string>& rank_workers,
                          const std::string& reason) {
  Attempt* a = EndAttempt(job, AttemptState::kResized, reason);
  if (a == nullptr) return;
  CreditAttempt(job, *a, /*history=*/false);
  LOG_INFO << "job " << job.id << " attempt " << a->number << " resized: " << reason;
  AddJobEvent(job, a->ended_ms, "resized", "attempt " + std::to_string(a->number) + ": " + reason);
  StartJob(job, rank_workers);  // persists
}

void Scheduler::PreemptAttempt(Job& job, const std::string& reason) {
  Attempt* a = EndAttempt(job, AttemptState::kPreempted, reason);
  if (a == nullptr) return;
  CreditAttempt(job, *a, /*history=*/false);
  job.state = JobState::kPending;
  job.reason = kReasonPreempted;
  AddJobEvent(job, a->ended_ms, "preempted",
              "attempt " + std::to_string(a->number) + ": " + reason);
  LOG_WARN << "job " << job.id << " attempt " << a->number << " preempted: " << reason;
  Persist(job);
}

int64_t Scheduler::RunMs(const Job& job) const { return JobRunMs(job, clock_()); }

int Scheduler::YoungDalyEverySeconds(const Job& job,
                                     const std::vector<std::string>& rank_workers) const {
  if (!options_.young_daly || job.spec.checkpoint.every_seconds <= 0) return 0;
  // The latest write time reported for the job (any attempt, newest first).
  double cost_s = 0;
  for (auto it = job.attempts.rbegin(); it != job.attempts.rend() && cost_s <= 0; ++it) {
    cost_s = it->checkpoint_write_s;
  }
  if (cost_s <= 0) return 0;  // not measured yet: the spec's interval
  std::vector<double> mtbf;
  const int64_t now = clock_();
  for (const std::string& w : rank_workers) mtbf.push_back(failures_.MtbfS(w, now));
  const double interval = YoungDalyIntervalS(cost_s, GangMtbfS(mtbf));
  return interval <= 0 ? 0
                       : static_cast<int>(std::clamp<int64_t>(
                             std::llround(interval), kMinYoungDalySeconds, kMaxYoungDalySeconds));
}

void Scheduler::StartJob(Job& job, const std::vector<std::string>& rank_workers) {
  Attempt a;
  a.number = static_cast<int>(job.attempts.size()) + 1;
  a.world_size = static_cast<int>(rank_workers.size());
  a.started_ms = clock_();
  for (size_t r = 0; r < rank_workers.size(); ++r) {
    RankPlacement rp;
    rp.rank = static_cast<int>(r);
    rp.worker_id = rank_workers[r];
    a.ranks.push_back(rp);
  }
  // cuda ranks of an audited attempt reduce on the host (docs/audits.md "GPU ranks").
  if (options_.audits && rank_workers.size() > 1) {
    a.audit = PlanAudits(job, rank_workers);
  }
  a.checkpoint_every_s = YoungDalyEverySeconds(job, rank_workers);
  job.attempts.push_back(std::move(a));
  job.state = JobState::kRunning;
  job.reason.clear();
  job.reason_message.clear();
  job.estimated_start_ms = 0;
  if (job.started_ms == 0) {
    job.started_ms = clock_();
    metrics_.admission_wait_seconds.Observe(
        static_cast<double>(std::max<int64_t>(0, job.started_ms - job.submitted_ms)) / 1000.0);
  }
  ++metrics_.attempts_started_total;
  std::string where;
  for (const auto& w : rank_workers) where += (where.empty() ? "" : ",") + w;
  std::string placed;
  for (size_t r = 0; r < rank_workers.size(); ++r) {
    placed += (r == 0 ? "" : ", ") + std::string("rank ") + std::to_string(r) + " on " +
              WorkerLabel(FindWorker(rank_workers[r]), rank_workers[r]);
  }
  AddJobEvent(job, job.attempts.back().started_ms, "placed",
              "attempt " + std::to_string(job.attempts.back().number) + ": " + placed);
  if (const Attempt& now = job.attempts.back(); !now.audit.empty() && now.audit[0].transparent) {
    AddJobEvent(job, now.started_ms, "audit",
                "attempt " + std::to_string(now.number) +
                    " reduces transparently (every rank's gradient seen): an earlier attempt was "
                    "stopped by an audit dispute that named nobody");
  }
  // Recorded before any worker hears of it (the heartbeat answers read this state).
  Persist(job);
  LOG_INFO << "job " << job.id << " attempt " << job.attempts.size() << " started on " << where;
}

void Scheduler::EnforceTimeLimits() {
  for (auto& [id, job] : jobs_.all()) {
    if (job.state != JobState::kRunning || job.started_ms == 0) continue;
    int64_t limit_ms = job.spec.limits.max_runtime_seconds * 1000;
    if (RunMs(job) <= limit_ms) continue;
    // Like Slurm's TIMEOUT: the time limit covers the run time of every attempt (time spent
    // queued after a failure or a preemption does not count), and is not retried.
    FailAttempt(job,
                "DeadlineExceeded: ran longer than limits.maxRuntime (" +
                    std::to_string(job.spec.limits.max_runtime_seconds) + "s)",
                /*retryable=*/false);
    Changed();
  }
}

void Scheduler::JobEnded(const Job& job) {
  jobs_.Ended(job);
  checkpoint_refused_ms_.erase(job.id);
}

}  // namespace shoal
