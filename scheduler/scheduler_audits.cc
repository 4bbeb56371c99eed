// Audits in the Scheduler (docs/audits.md "Consequences", "Adaptive trust"): quarantining a
// worker caught returning wrong gradients, clearing it, and moving workers' audit rates with the
// outcome of their audits. The decisions themselves are pure (scheduler/audit/); this file
// applies them to the live records and stores them.
// Part of the Scheduler class (scheduler/scheduler.h); the files share scheduler_internal.h.
#include "common/log.h"
#include "scheduler/audit/trust.h"
#include "scheduler/scheduler.h"
#include "scheduler/scheduler_internal.h"

namespace shoal {

using scheduler_internal::HoldsSlot;
using scheduler_internal::WorkerLabel;

namespace {

// Evidence is shown in lists and stored per worker: a bound keeps a runaway report small.
constexpr size_t kMaxEvidenceBytes = 4096;

}  // namespace

Status Scheduler::QuarantineWorker(const std::string& worker_id, const std::string& evidence) {
  Worker* w = MutableWorker(worker_id);
  if (w == nullptr) return NotFound("worker " + worker_id + " is not registered");
  // Stored before memory changes: a quarantine that a restart forgets would let a cheater back.
  Worker updated = *w;
  updated.state = WorkerState::kQuarantined;
  updated.quarantine = evidence.substr(0, kMaxEvidenceBytes);
  updated.quarantined_ms = clock_();
  RETURN_IF_ERROR(store_->SaveWorker(updated));
  *w = std::move(updated);
  LOG_WARN << "worker " << WorkerLabel(w, worker_id) << " quarantined: " << w->quarantine;
  // Its ranks go as a lost worker's do: marked exited at once rather than told to stop, since a
  // cheater need not confirm anything, and a new attempt waits for every rank of the old one
  // (AwaitsPreviousAttempt). It gets no assignment for them, so an honest agent kills them.
  for (auto& [id, job] : jobs_.all()) {
    bool touched = false;
    for (auto& a : job.attempts) {
      for (auto& r : a.ranks) {
        if (r.worker_id != worker_id || !HoldsSlot(r.state)) continue;
        r.state = RankState::kExited;
        r.exit_code = -1;
        r.message = "worker quarantined";
        touched = true;
        if (&a == job.current_attempt() && a.state == AttemptState::kRunning) {
          // Retryable: the job itself did nothing wrong. TODO(issue 18): restart from the
          // rollback rule's checkpoint (audit/rollback.h) and claw back the account's credit;
          // today the restart resumes from the newest checkpoint like any retry.
          FailAttempt(job,
                      "WorkerQuarantined: worker " + WorkerLabel(w, worker_id) + " running rank " +
                          std::to_string(r.rank) + " was quarantined",
                      /*retryable=*/true);
        }
      }
    }
    if (touched) Persist(job);
  }
  RequestSchedule();
  Changed();
  return Status::Ok();
}

Status Scheduler::ClearQuarantine(const std::string& worker_id) {
  Worker* w = MutableWorker(worker_id);
  if (w == nullptr) return NotFound("worker " + worker_id + " is not registered");
  if (w->state != WorkerState::kQuarantined) {
    return FailedPrecondition("worker " + worker_id + " is not quarantined (it is " +
                              ToString(w->state) + ")");
  }
  Worker updated = *w;
  // A quarantined worker may have gone silent long ago: it comes back alive only if it is still
  // heartbeating (MarkLostWorkers does not look at quarantined ones).
  updated.state = clock_() - w->last_seen_ms <= options_.worker_timeout_ms ? WorkerState::kAlive
                                                                           : WorkerState::kLost;
  updated.audit_rate = audit::NewWorkerRate(options_.trust);  // watched closely again
  RETURN_IF_ERROR(store_->SaveWorker(updated));
  *w = std::move(updated);
  LOG_INFO << "worker " << WorkerLabel(w, worker_id) << " cleared of its quarantine";
  RequestSchedule();
  Changed();
  return Status::Ok();
}

void Scheduler::RecordAuditOutcome(const std::string& worker_id, bool clean) {
  Worker* w = MutableWorker(worker_id);
  if (w == nullptr) return;
  if (clean) {
    w->audit_rate = audit::RateAfterClean(options_.trust, AuditRate(*w));
    ++w->clean_audits;
  } else {
    w->audit_rate = audit::RateAfterFailed(options_.trust);
    ++w->failed_audits;
  }
  if (post_schedule_) {
    // Batched like liveness: losing the last few outcomes in a crash only keeps a rate higher.
    saves_.MarkWorker(worker_id);
    PostRun();
  } else {
    Status st = store_->SaveWorker(*w);
    if (!st.ok()) LOG_ERROR << "persisting worker " << worker_id << ": " << st.ToString();
  }
}

double Scheduler::AuditRate(const Worker& w) const {
  return w.audit_rate > 0 ? w.audit_rate : audit::NewWorkerRate(options_.trust);
}

}  // namespace shoal
