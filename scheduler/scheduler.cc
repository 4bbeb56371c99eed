#include "scheduler/scheduler.h"

#include <chrono>

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/log.h"
#include "common/memory_estimate.h"
#include "scheduler/policy/placement.h"
#include "scheduler/policy/policy.h"
#include "scheduler/scheduler_internal.h"

namespace shoal {

using scheduler_internal::kPassDuty;
using scheduler_internal::kMaxUnsavedAge;

Result<std::unique_ptr<Scheduler>> Scheduler::Open(Store* store, SchedulerOptions options,
                                                   Clock clock) {
  std::unique_ptr<Scheduler> s(new Scheduler(store, options, std::move(clock)));
  ASSIGN_OR_RETURN(Store::Snapshot snap, store->LoadAll());
  int64_t now = s->clock_();
  for (Worker& w : snap.workers) {
    w.last_seen_ms = now;  // a fresh deadline: workers re-attach after a scheduler restart
    w.last_request_ms = now;
    s->workers_.Restore(std::move(w));
  }
  for (Job& j : snap.jobs) {
    s->jobs_.Restore(std::move(j));
  }
  s->ledger_.Load(snap.ledger, now);
  s->ledger_saved_ms_ = now;
  for (const FailureRecord& r : snap.failures) s->failures_.Restore(r);
  s->failures_saved_ms_ = now;
  s->failures_saved_losses_ = s->failures_.total_losses();
  LOG_INFO << "loaded " << s->jobs_.size() << " jobs and " << s->workers_.size() << " workers";
  return s;
}

void Scheduler::Changed() {
  if (on_change_) on_change_();
}

Scheduler::~Scheduler() {
  if (!saves_.empty()) (void)CommitWithUnsaved({});
  // The up time since the last save (a clean shutdown; a crash loses at most an interval of it).
  SaveFailureBook(/*force=*/true);
}

void Scheduler::Persist(const Job& job) {
  if (post_schedule_) {
    // Written with every other change of this event-loop round in one transaction, before any
    // reply goes out (SaveChanges): a pass that touches many jobs costs one fsync, not one each.
    saves_.MarkJob(job.id);
    PostRun();
    return;
  }
  Status st = store_->SaveJob(job);
  if (!st.ok()) LOG_ERROR << "persisting job " << job.id << " failed: " << st.ToString();
}

Status Scheduler::SaveChanges() {
  // Only job changes are ever in a reply; workers' liveness rides along, or waits (see Heartbeat).
  if (!saves_.has_jobs()) return Status::Ok();
  return CommitWithUnsaved({}).status();
}

Result<std::vector<int64_t>> Scheduler::CommitWithUnsaved(Store::Batch batch) {
  return saves_.Commit(
      *store_, std::move(batch), [this](int64_t id) { return FindJob(id); },
      [this](const std::string& id) { return FindWorker(id); });
}

Job* Scheduler::MutableJob(int64_t id) { return jobs_.Find(id); }

Worker* Scheduler::MutableWorker(const std::string& id) { return workers_.Find(id); }

const Job* Scheduler::FindJob(int64_t id) const { return jobs_.Find(id); }

const Job* Scheduler::FindJobByKey(const std::string& owner, const std::string& key) const {
  return jobs_.FindByKey(owner, key);
}

const Worker* Scheduler::FindWorker(const std::string& id) const { return workers_.Find(id); }

std::vector<const Job*> Scheduler::ListJobs(std::optional<JobState> state,
                                            const std::string& owner,
                                            const std::string& name) const {
  std::vector<const Job*> out;
  for (const auto& [id, job] : jobs_.all()) {
    if (state && job.state != *state) continue;
    if (!owner.empty() && job.owner != owner) continue;
    if (!name.empty() && job.spec.metadata.name != name) continue;
    out.push_back(&job);
  }
  return out;
}

std::vector<const Worker*> Scheduler::ListWorkers() const {
  std::vector<const Worker*> out;
  for (const auto& [id, w] : workers_.all()) out.push_back(&w);
  return out;
}

void Scheduler::PostRun() {
  if (run_posted_) return;
  run_posted_ = true;
  post_schedule_();
}

void Scheduler::RequestSchedule() {
  if (!post_schedule_) {
    Schedule();
    return;
  }
  schedule_pending_ = true;
  PostRun();
}

void Scheduler::RunPendingSchedule() {
  if (schedule_pending_) {
    // A pass is O(queue + workers): with 20k queued jobs it takes milliseconds, and a stream of
    // submissions or returning workers would otherwise run one per event-loop round. After a pass
    // of d, the next requested one waits 9d (until then, requests stay pending for the next
    // RunPendingSchedule or RunCycle), so small queues are scheduled at once and big ones cost
    // at most ~10% of the loop.
    const auto start = std::chrono::steady_clock::now();
    if (start >= next_pass_at_) {
      schedule_pending_ = false;
      Schedule();
      const auto end = std::chrono::steady_clock::now();
      next_pass_at_ = end + (end - start) * (kPassDuty - 1);
    }
  }
  // Changes are written with the next commit or before the next reply (SaveChanges), whichever
  // comes first; here only once they are old, so that an idle scheduler stores them too.
  if (saves_.since() && std::chrono::steady_clock::now() - *saves_.since() >= kMaxUnsavedAge) {
    (void)CommitWithUnsaved({});  // logs its own failure
  }
  run_posted_ = false;
}

void Scheduler::Schedule() {
  const auto pass_start = std::chrono::steady_clock::now();
  auto observe = [&] {
    metrics_.cycle_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - pass_start).count());
  };
  Snapshot snap = BuildSnapshot();
  // Without a queue only elastic growth could change anything.
  if (snap.queue.empty() && !options_.policy.elastic) return observe();
  Decisions d = Decide(snap, options_.policy);
  bool changed = false;
  for (const auto& p : d.preempts) {
    if (Job* job = MutableJob(p.job_id); job != nullptr && job->state == JobState::kRunning) {
      PreemptAttempt(*job, "Preempted: " + p.reason);
      ++metrics_.preemptions_total;
      changed = true;
    }
  }
  for (const auto& g : d.guarded) changed |= ReportGuarded(g);
  for (const auto& r : d.resizes) {
    if (Job* job = MutableJob(r.job_id); job != nullptr && job->state == JobState::kRunning) {
      ResizeJob(*job, r.rank_workers, "Resized: " + r.reason);
      ++metrics_.resizes_total;
      changed = true;
    }
  }
  for (const auto& start : d.starts) {
    if (Job* job = MutableJob(start.job_id)) {
      StartJob(*job, start.rank_workers);
      changed = true;
    }
  }
  for (const auto& wait : d.waits) {
    Job* job = MutableJob(wait.job_id);
    if (job == nullptr) continue;
    // In memory only: the numbers change with every cycle, the reason code rarely.
    job->reason_message = wait.detail;
    job->estimated_start_ms = wait.estimated_start_ms;
    // A restarting job keeps its failure reason visible until it starts again.
    if (job->state == JobState::kPending && job->reason != wait.reason) {
      job->reason = wait.reason;
      Persist(*job);
      changed = true;
    }
  }
  if (changed) Changed();
  observe();
}

bool Scheduler::ReportGuarded(const GuardedJob& g) {
  Job* job = MutableJob(g.job_id);
  if (job == nullptr || job->state != JobState::kRunning) return false;
  const Attempt* a = job->current_attempt();
  if (a == nullptr) return false;
  // Once per attempt and guard: a blocked head asks again every cycle.
  const char* setting = GuardSetting(g.guard);
  for (const auto& e : job->events) {
    if (e.type == "guarded" && e.ts_ms >= a->started_ms &&
        e.message.find(setting) != std::string::npos) {
      return false;
    }
  }
  AddJobEvent(*job, clock_(), "guarded",
              "attempt " + std::to_string(a->number) + " kept running: preempting it for job " +
                  std::to_string(g.for_job_id) + " is barred, " + DescribeGuard(g));
  ++(g.guard == GuardedJob::Guard::kMaxPreemptions ? metrics_.guarded_max_preemptions_total
                                                   : metrics_.guarded_max_unsaved_total);
  Persist(*job);
  return true;
}

void Scheduler::RunCycle() {
  schedule_pending_ = false;  // this cycle's pass serves any request still waiting
  MarkLostWorkers();
  GoAheadWithoutSilentRanks();
  SaveFailureBook();
  ExpireAuditCases();
  EnforceTimeLimits();
  AccrueLedger();
  output_.Expire(clock_(), jobs_.all());
  Schedule();
}

}  // namespace shoal
