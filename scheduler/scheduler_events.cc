// What workers report to the Scheduler: rank exits, progress and logs (within the per-job
// caps), checkpoint records, and the retention of finished jobs' logs and checkpoints.
// Part of the Scheduler class (scheduler/scheduler.h); the files share scheduler_internal.h.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

#include "common/log.h"
#include "scheduler/policy/placement.h"
#include "scheduler/policy/policy.h"
#include "scheduler/scheduler.h"
#include "scheduler/scheduler_internal.h"

namespace shoal {

using scheduler_internal::kExitBadInput;
using scheduler_internal::kExitOutOfMemory;
using scheduler_internal::kMaxLogLineBytes;

RankPlacement* Scheduler::FindRank(Job& job, int attempt, int rank) {
  for (auto& a : job.attempts) {
    if (a.number != attempt) continue;
    if (rank < 0 || rank >= static_cast<int>(a.ranks.size())) return nullptr;
    return &a.ranks[rank];
  }
  return nullptr;
}

Status Scheduler::ApplyEvents(const std::string& worker_id,
                              const std::vector<wire::WorkerEvent>& events) {
  if (FindWorker(worker_id) == nullptr) {
    return NotFound("worker " + worker_id + " is not registered");
  }
  // The batch was validated whole when it was parsed, so a bad one changes nothing.
  int64_t now = clock_();
  for (const auto& ev : events) {
    Job* job = MutableJob(ev.job);
    if (job == nullptr) continue;
    RankPlacement* rp = FindRank(*job, ev.attempt, ev.rank);
    if (rp == nullptr || rp->worker_id != worker_id) continue;  // not this worker's rank
    if (ev.fetched_bytes && rp->fetched_bytes != ev.fetched_bytes) {
      rp->fetched_bytes = ev.fetched_bytes;
      Persist(*job);
    }
    switch (ev.type) {
      case wire::WorkerEventType::kLog: {
        std::vector<std::string> lines;
        for (const auto& l : ev.lines) lines.push_back(l.substr(0, kMaxLogLineBytes));
        output_.AppendLogs(job->id, ev.attempt, ev.rank, now, lines);
        break;
      }
      case wire::WorkerEventType::kProgress: {
        if (ev.rank != 0) continue;
        nlohmann::json data = ev.data;
        data["attempt"] = ev.attempt;
        data["timeMs"] = now;
        job->progress = data;
        ObserveSpeed(*job, ev.attempt, data);
        output_.AppendMetric(job->id, ev.attempt, now, data);
        Persist(*job);
        break;
      }
      case wire::WorkerEventType::kExit:
        RETURN_IF_ERROR(ApplyExit(*job, *rp, ev.attempt, ev));
        break;
      case wire::WorkerEventType::kAudit:
        ApplyAuditRecord(*job, ev.attempt, ev.rank, ev.data);
        break;
    }
  }
  Changed();
  return Status::Ok();
}

Status Scheduler::ApplyExit(Job& job, RankPlacement& rp, int attempt,
                            const wire::WorkerEvent& ev) {
  if (rp.state == RankState::kExited) return Status::Ok();  // duplicate delivery
  rp.state = RankState::kExited;
  rp.exit_code = ev.exit_code;
  rp.signal = ev.signal.value_or(0);
  rp.message = ev.message.value_or("");
  if (rp.message.size() > 4096) rp.message.resize(4096);
  if (ev.result) rp.result = *ev.result;
  Attempt* current = job.current_attempt();
  bool current_running = current != nullptr && current->number == attempt &&
                         current->state == AttemptState::kRunning;
  if (current_running) {
    if (rp.exit_code != 0 || rp.signal != 0) {
      std::string how = rp.signal != 0 ? "was killed by signal " + std::to_string(rp.signal)
                                       : "exited with code " + std::to_string(rp.exit_code);
      // Out of memory (the worker's watchdog killed the rank over its limit, or the trainer's
      // allocation failed) is the job's fault: another contributor's machine of the same size
      // would fail the same way, so it is not retried.
      const bool oom =
          ev.cause.value_or("") == kReasonOutOfMemory || rp.exit_code == kExitOutOfMemory;
      std::string reason = std::string(oom ? kReasonOutOfMemory : "RankFailed") + ": rank " +
                           std::to_string(rp.rank) + " on worker " + rp.worker_id + " " + how;
      if (!rp.message.empty()) reason += ": " + rp.message;
      FailAttempt(job, reason, /*retryable=*/!oom && rp.exit_code != kExitBadInput);
    } else {
      MaybeFinishAttempt(job);
    }
  }
  Persist(job);
  RequestSchedule();
  return Status::Ok();
}

void Scheduler::RecordCheckpoint(int64_t job_id, int attempt, int64_t step, int64_t bytes,
                                 double write_seconds, const std::string& digest) {
  Job* job = MutableJob(job_id);
  if (job == nullptr) return;
  char size[32];
  std::snprintf(size, sizeof size, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  const int64_t now = clock_();
  AddJobEvent(*job, now, "checkpoint",
              "step " + std::to_string(step) + " of attempt " + std::to_string(attempt) +
                  " stored (" + size + ")");
  if (attempt >= 1 && attempt <= static_cast<int>(job->attempts.size())) {
    Attempt& a = job->attempts[attempt - 1];
    a.last_checkpoint_ms = now;
    if (write_seconds > 0) a.checkpoint_write_s = write_seconds;
    if (!a.audit.empty() && !digest.empty()) {
      if (auto* c = AttestedStep(a, step)) {
        c->file_digest = digest;
        JudgeAttestedCheckpoint(*job, attempt, step);
      }
    }
  }
  Persist(*job);
}

bool Scheduler::CheckpointsExpired(int64_t job_id) const {
  const Job* job = FindJob(job_id);
  if (job == nullptr) return true;
  return IsTerminal(job->state) && !job->spec.checkpoint.keep_after_end &&
         job->finished_ms + options_.quotas.checkpoint_retention_ms <= clock_();
}

void Scheduler::RecordCheckpointRefused(int64_t job_id, const std::string& why) {
  Job* job = MutableJob(job_id);
  if (job == nullptr) return;
  const int64_t now = clock_();
  auto [it, first] = checkpoint_refused_ms_.try_emplace(job_id, now);
  if (!first && now - it->second < 60000) return;
  it->second = now;
  AddJobEvent(*job, now, "checkpoint", "refused: " + why);
  Persist(*job);
  Changed();
}

}  // namespace shoal
