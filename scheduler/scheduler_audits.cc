// Audits in the Scheduler (docs/audits.md "Consequences", "Adaptive trust"): quarantining a
// worker caught returning wrong gradients, clearing it, and moving workers' audit rates with the
// outcome of their audits. The decisions themselves are pure (scheduler/audit/); this file
// applies them to the live records and stores them.
// Part of the Scheduler class (scheduler/scheduler.h); the files share scheduler_internal.h.
#include <algorithm>

#include "common/log.h"
#include "scheduler/audit/arbitration.h"
#include "scheduler/audit/audit_plan.h"
#include "scheduler/audit/rollback.h"
#include "scheduler/audit/trust.h"
#include "scheduler/scheduler.h"
#include "scheduler/scheduler_internal.h"

namespace shoal {

using scheduler_internal::HoldsSlot;
using scheduler_internal::kExitAuditDispute;
using scheduler_internal::WorkerLabel;

namespace {

// Evidence is shown in lists and stored per worker: a bound keeps a runaway report small.
constexpr size_t kMaxEvidenceBytes = 4096;

// A rank's parsed report, unless it failed to parse or names another rank (logged: its case then
// times out naming the rank, or its attestation is missing).
template <typename T>
std::optional<T> FromRank(const Job& job, int attempt, int rank, Result<T> parsed,
                          const char* what) {
  if (parsed.ok() && parsed->rank != rank) {
    parsed = InvalidArgument("rank " + std::to_string(rank) + "'s " + what + " names rank " +
                             std::to_string(parsed->rank));
  }
  if (!parsed.ok()) {
    LOG_WARN << "job " << job.id << " attempt " << attempt << " rank " << rank << ": " << what
             << " dropped: " << parsed.status().message();
    return std::nullopt;
  }
  return std::move(*parsed);
}

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
          // Retryable: the job itself did nothing wrong. A quarantine for cheating also set the
          // attempt's rollback_to_step and clawed back credit first (ApplyAuditRecord); the
          // retry resumes from the newest checkpoint the rollback rule leaves.
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

double Scheduler::ClawBackCredit(const Job& job, const std::string& worker_id) {
  const Worker* w = FindWorker(worker_id);
  if (w == nullptr) return 0;
  double units = 0;
  for (const Attempt& a : job.attempts) {
    if (a.state != AttemptState::kSucceeded && a.state != AttemptState::kResized &&
        a.state != AttemptState::kPreempted) {
      continue;
    }
    for (const RankPlacement& r : a.ranks) {
      if (r.worker_id == worker_id) units += AttemptUnitsPerRank(job.spec, a);
    }
  }
  if (units > 0) {
    ledger_.Credit(w->account, -units);
    LOG_WARN << "clawed back " << units << " GPU-seconds from account " << w->account << " (worker "
             << worker_id << ", job " << job.id << ")";
  }
  return units;
}

void Scheduler::ChargeCulprit(Job& job, const std::string& worker_id, const std::string& evidence) {
  RecordAuditOutcome(worker_id, /*clean=*/false);
  const double clawed = ClawBackCredit(job, worker_id);
  AddJobEvent(job, clock_(), "audit",
              evidence + (clawed > 0 ? "; " + std::to_string(static_cast<int64_t>(clawed)) +
                                           " GPU-seconds of credit clawed back"
                                     : ""));
}

std::vector<wire::AuditPlan> Scheduler::PlanAudits(const Job& job,
                                                   const std::vector<std::string>& rank_workers) {
  std::vector<audit::PlanRank> ranks;
  for (const std::string& id : rank_workers) {
    const Worker* w = FindWorker(id);
    ranks.push_back({id, w != nullptr ? w->account : "", w != nullptr ? AuditRate(*w) : 1.0});
  }
  auto plan = audit::BuildAuditPlan(ranks, options_.trust.screen_z,
                                    options_.trust.screen_min_deviation, audit::SecureRandomHex);
  if (!plan.ok()) {
    LOG_ERROR << "job " << job.id << ": no audit plan: " << plan.status().ToString();
    return {};
  }
  // The newest audited attempt that a dispute stopped decides. When it named nobody (a failed
  // sum check, or an inconclusive dispute), every rank's gradient is seen from now on, so that a
  // rank sending other than it committed to is named (docs/audits.md "The sum check"); once an
  // attempt has named its culprit, the job goes back to the all-reduce (transparency costs
  // world times its traffic) until the next dispute without one.
  const auto stopped =
      std::find_if(job.attempts.rbegin(), job.attempts.rend(), [](const Attempt& a) {
        return !a.audit.empty() &&
               std::any_of(a.ranks.begin(), a.ranks.end(), [](const RankPlacement& r) {
                 return r.state == RankState::kExited && r.exit_code == kExitAuditDispute;
               });
      });
  const bool transparent = stopped != job.attempts.rend() && stopped->rollback_to_step < 0;
  for (wire::AuditPlan& p : plan->ranks) p.transparent = transparent;
  return std::move(plan->ranks);
}

void Scheduler::ApplyAuditRecord(Job& job, int attempt, int rank, const nlohmann::json& data) {
  const Attempt* a = attempt >= 1 && attempt <= static_cast<int>(job.attempts.size())
                         ? &job.attempts[attempt - 1]
                         : nullptr;
  if (a == nullptr || a->audit.empty()) return;  // not an audited attempt: nothing to pair
  if (wire::IsAttestation(data)) {
    auto attested = FromRank(job, attempt, rank, wire::AttestationFromJson(data), "attestation");
    if (!attested) return;
    if (auto* c = AttestedStep(job.attempts[attempt - 1], attested->step)) {
      c->by_rank[rank] = attested->digest;
      JudgeAttestedCheckpoint(job, attempt, attested->step);
      Persist(job);
    }
    return;
  }
  auto record = FromRank(job, attempt, rank, wire::AuditRecordFromJson(data), "audit record");
  if (!record) return;
  audit::AuditBook& book = audit_books_[{job.id, attempt}];
  auto added = book.Add(*record, clock_());
  if (!added.ok()) {
    LOG_WARN << "job " << job.id << " attempt " << attempt << " rank " << rank
             << ": audit record refused: " << added.status().message();
    return;
  }
  if (!*added) return;  // pending
  const audit::AuditCase& c = (*added)->c;
  const audit::Finding finding = (*added)->finding;
  auto worker_of = [&](int r) {
    return r >= 0 && r < static_cast<int>(a->ranks.size()) ? a->ranks[r].worker_id : "";
  };
  const std::string auditee = worker_of(c.auditee), auditor = worker_of(c.auditor);
  switch (finding) {
    case audit::Finding::kClean: {
      RecordAuditOutcome(auditee, /*clean=*/true);
      int64_t& last = job.attempts[attempt - 1].clean_audit_steps[auditee];
      if (c.step > last) {
        last = c.step;
        Persist(job);  // batched with the round's other writes
      }
      return;
    }
    case audit::Finding::kPending:
      return;
    case audit::Finding::kAuditeeCheated:
    case audit::Finding::kAuditorLied: {
      const bool cheated = finding == audit::Finding::kAuditeeCheated;
      const std::string culprit = cheated ? auditee : auditor;
      // The rollback rule: nothing after the culprit's last clean audit in this job (any of its
      // attempts) is trusted; from the start when it never passed one.
      const auto last_clean = audit::LastCleanAudits(CleanAuditsByAttempt(job));
      const auto it = last_clean.find(culprit);
      const int64_t clean = it != last_clean.end() ? it->second : 0;
      // (The worker then resumes from the newest checkpoint left: audit::RollbackStep's choice.)
      job.attempts[attempt - 1].rollback_to_step = clean;
      const std::string evidence =
          audit::EvidenceText(audit::MakeEvidence(job.id, attempt, c, finding));
      ChargeCulprit(job, culprit, evidence);
      if (Status st = QuarantineWorker(culprit, evidence); !st.ok()) {
        LOG_ERROR << "quarantining worker " << culprit << ": " << st.ToString();
      }
      Persist(job);
      return;
    }
    case audit::Finding::kInconclusive: {
      const std::string evidence =
          audit::EvidenceText(audit::MakeEvidence(job.id, attempt, c, finding));
      AddJobEvent(job, clock_(), "audit", "inconclusive: " + evidence);
      LOG_WARN << "job " << job.id << ": inconclusive audit: " << evidence;
      Persist(job);
      return;
    }
  }
}

std::vector<std::string> Scheduler::AttemptAccounts(const Attempt& a) const {
  std::vector<std::string> accounts;
  for (const RankPlacement& r : a.ranks) {
    const Worker* w = FindWorker(r.worker_id);
    accounts.push_back(w != nullptr ? w->account : "");
  }
  return accounts;
}

std::string Scheduler::CheckpointTrustOf(const Job& job, int attempt, int64_t step) const {
  if (attempt < 1 || attempt > static_cast<int>(job.attempts.size())) return "unaudited";
  const Attempt& a = job.attempts[attempt - 1];
  if (a.audit.empty()) return "unaudited";
  static const audit::CheckpointAttestations kNothingYet;
  auto it = a.attestations.find(step);
  return audit::ToString(audit::JudgeCheckpoint(
      it == a.attestations.end() ? kNothingYet : it->second, AttemptAccounts(a)));
}

void Scheduler::JudgeAttestedCheckpoint(Job& job, int attempt, int64_t step) {
  Attempt& a = job.attempts[attempt - 1];
  auto it = a.attestations.find(step);
  if (it == a.attestations.end() || it->second.forged) return;
  const std::vector<std::string> accounts = AttemptAccounts(a);
  if (audit::JudgeCheckpoint(it->second, accounts) != audit::CheckpointTrust::kForged) return;
  it->second.forged = true;
  const std::string writer = a.ranks.empty() ? "" : a.ranks[0].worker_id;
  const std::string evidence = audit::ForgeryEvidence(job.id, attempt, step, it->second, accounts);
  // As for a cheater caught by an audit, less the rollback: the attempt's earlier checkpoints
  // were each attested on their own, and a resume skips this one (CheckpointTrustOf).
  ChargeCulprit(job, writer, evidence);
  Persist(job);
  // Last: it may fail the attempt (and add a new one to job.attempts, so `a` is not used again).
  if (Status st = QuarantineWorker(writer, "forged a checkpoint: " + evidence); !st.ok()) {
    LOG_ERROR << "quarantining worker " << writer << ": " << st.ToString();
  }
  // Rank 0 may have exited already (its final checkpoint judged by the last attestation), which
  // the quarantine does not count as failing the attempt: it must not succeed on that file.
  if (const Attempt* current = job.current_attempt(); current != nullptr &&
                                                      current->number == attempt &&
                                                      current->state == AttemptState::kRunning) {
    FailAttempt(job, "CheckpointForged: " + evidence, /*retryable=*/true);
    Persist(job);
  }
}

void Scheduler::ExpireAuditCases() {
  const int64_t now = clock_();
  for (auto it = audit_books_.begin(); it != audit_books_.end();) {
    const auto [job_id, attempt] = it->first;
    Job* job = MutableJob(job_id);
    for (const auto& t : it->second.Expire(now, options_.audit_record_timeout_ms)) {
      LOG_WARN << "job " << job_id << " attempt " << attempt << ": " << t.message;
      if (job != nullptr) AddJobEvent(*job, now, "audit", "timed out: " + t.message);
    }
    // A finished attempt's book goes once nothing is pending.
    const Attempt* current = job != nullptr ? job->current_attempt() : nullptr;
    const bool live = current != nullptr && current->number == attempt &&
                      current->state == AttemptState::kRunning;
    if (!live && it->second.pending() == 0) {
      it = audit_books_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace shoal
