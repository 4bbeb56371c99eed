// The worker registry of the Scheduler: registration (names, instances, accounts), heartbeats
// and the assignments they carry back, lost workers, and who may write or read a job's
// checkpoints and rendezvous keys.
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

using scheduler_internal::HoldsSlot;
using scheduler_internal::AwaitsPreviousAttempt;
using scheduler_internal::WorkerLabel;

Result<const Worker*> Scheduler::RegisterWorker(const WorkerRegistration& reg) {
  return std::move(RegisterWorkers({reg}).front());
}

std::vector<Result<const Worker*>> Scheduler::RegisterWorkers(
    const std::vector<WorkerRegistration>& regs) {
  std::vector<Result<const Worker*>> out(regs.size(), Result<const Worker*>(Internal("unset")));
  std::vector<Status> refusals(regs.size());
  auto [staged, staged_of] =
      workers_.Stage(regs, clock_(), options_.worker_timeout_ms, &refusals);
  for (size_t i = 0; i < regs.size(); ++i) {
    if (staged_of[i] < 0) out[i] = refusals[i];
  }
  if (staged.empty()) return out;
  std::vector<const Worker*> rows;
  rows.reserve(staged.size());
  for (const Worker& w : staged) rows.push_back(&w);
  // One transaction for every registration of the batch (a registration is acknowledged with its
  // id, which must be stored first); nothing of the batch changes memory before it commits.
  Status st = CommitWithUnsaved({{}, {}, rows}).status();
  if (!st.ok()) {
    for (size_t i = 0; i < regs.size(); ++i) {
      if (staged_of[i] >= 0) out[i] = st;
    }
    return out;
  }
  std::vector<std::string> ids;
  for (const Worker& w : staged) ids.push_back(w.id);
  bool restarted_any = false;
  for (Worker& w : staged) {
    // Only a re-registration can have ranks to clean up: new workers skip the scans of every job
    // (O(jobs) each, which a pool of thousands joining cannot afford).
    if (Worker* existing = MutableWorker(w.id)) {
      restarted_any = true;
      // The worker process restarted, so the trainers it ran died with it (PDEATHSIG).
      bool killed_ranks = false;
      for (auto& [id, job] : jobs_.all()) {
        Attempt* a = job.current_attempt();
        if (a == nullptr || a->state != AttemptState::kRunning) continue;
        for (auto& r : a->ranks) {
          if (r.worker_id == w.id && HoldsSlot(r.state)) {
            r.state = RankState::kExited;
            r.exit_code = -1;
            r.message = "worker restarted";
            killed_ranks = true;
            FailAttempt(job, "WorkerRestarted: worker " + WorkerLabel(existing, w.id) +
                                 " re-registered while rank " + std::to_string(r.rank) + " ran",
                        /*retryable=*/true);
            break;
          }
        }
      }
      if (killed_ranks) failures_.Lost(w.id, clock_());  // a failure for Young/Daly
      // Anything still marked as held on this worker from before is gone now.
      for (auto& [id, job] : jobs_.all()) {
        bool touched = false;
        for (auto& a : job.attempts) {
          for (auto& r : a.ranks) {
            if (r.worker_id == w.id && HoldsSlot(r.state)) {
              r.state = RankState::kExited;
              r.exit_code = -1;
              touched = true;
            }
          }
        }
        if (touched) Persist(job);
      }
    }
    Worker& stored = workers_.Install(std::move(w));
    failures_.Alive(stored.id, clock_());
    LOG_INFO << "worker " << stored.id << " (" << stored.name << ") registered: " << stored.slots
             << " slots, " << stored.cpus << " cpus, " << stored.gpus.size() << " gpus";
  }
  for (size_t i = 0; i < regs.size(); ++i) {
    if (staged_of[i] >= 0) out[i] = workers_.Find(ids[staged_of[i]]);
  }
  RequestSchedule();
  // Long-polls care only when ranks were taken away; a new worker changes nothing they wait for.
  if (restarted_any) Changed();
  return out;
}

Status Scheduler::RecordCache(const std::string& worker_id, wire::CacheReport report) {
  Worker* w = MutableWorker(worker_id);
  if (w == nullptr) return NotFound("worker " + worker_id + " is not registered");
  // Bounded by the parser too; a caller that skipped it must not grow the record without bound.
  if (report.cached.size() > wire::kMaxCachedVersions) {
    report.cached.resize(wire::kMaxCachedVersions);
  }
  w->cached = std::move(report.cached);
  if (report.has_stats) {
    w->cache_stats = report.stats;
    w->cache_reported = true;
  }
  return Status::Ok();
}

Status Scheduler::RecordGpuSamples(const std::string& worker_id,
                                   std::vector<wire::GpuSample> samples) {
  Worker* w = MutableWorker(worker_id);
  if (w == nullptr) return NotFound("worker " + worker_id + " is not registered");
  if (samples.size() > wire::kMaxGpuSamples) samples.resize(wire::kMaxGpuSamples);
  w->gpu_samples = std::move(samples);
  return Status::Ok();
}

Status Scheduler::Heartbeat(const std::string& worker_id, const std::vector<RankKey>& running,
                            bool new_request) {
  Worker* w = MutableWorker(worker_id);
  if (w == nullptr) return NotFound("worker " + worker_id + " is not registered");
  w->last_seen_ms = clock_();
  if (new_request) w->last_request_ms = w->last_seen_ms;
  failures_.Alive(worker_id, w->last_seen_ms);
  if (w->state == WorkerState::kLost) {
    w->state = WorkerState::kAlive;
    if (post_schedule_) {
      // Written in the next batch, not before this answer: the stored liveness only decides what
      // a restarted scheduler shows until the worker's next heartbeat, and a pool coming back at
      // once cannot afford one fsync each. Whatever a pass then starts on it is stored with it.
      saves_.MarkWorker(worker_id);
      PostRun();
    } else {
      RETURN_IF_ERROR(store_->SaveWorker(*w));
    }
    LOG_INFO << "worker " << worker_id << " is back";
    RequestSchedule();
    // No Changed(): no long-poll waits for a worker's liveness; a pass that starts something on
    // it wakes them.
  }
  std::set<RankKey> reported(running.begin(), running.end());
  for (auto& [id, job] : jobs_.all()) {
    bool touched = false;
    for (auto& a : job.attempts) {
      for (auto& r : a.ranks) {
        if (r.worker_id != worker_id) continue;
        bool held = reported.count({job.id, a.number, r.rank}) > 0;
        if (r.state == RankState::kAssigned && held) {
          r.state = RankState::kRunning;
          touched = true;
        } else if (r.state == RankState::kStopping && !held) {
          // The worker holds nothing for it any more (never started, or exit delivered).
          r.state = RankState::kExited;
          touched = true;
        }
      }
    }
    if (touched) {
      // The attempt's last rank to come up completes its start (the "started" event, once).
      Attempt* cur = job.current_attempt();
      if (cur != nullptr && cur->state == AttemptState::kRunning &&
          std::all_of(cur->ranks.begin(), cur->ranks.end(),
                      [](const RankPlacement& r) { return r.state == RankState::kRunning; }) &&
          std::none_of(job.events.begin(), job.events.end(), [&](const JobEvent& e) {
            return e.type == "started" && e.ts_ms >= cur->started_ms;
          })) {
        AddJobEvent(job, clock_(), "started",
                    "attempt " + std::to_string(cur->number) + ": all " +
                        std::to_string(cur->ranks.size()) + " ranks running");
      }
      Persist(job);
      Changed();
    }
  }
  return Status::Ok();
}

std::vector<std::pair<const Job*, RankKey>> Scheduler::DesiredRanks(
    const std::string& worker_id) const {
  std::vector<std::pair<const Job*, RankKey>> out;
  for (const auto& [id, job] : jobs_.all()) {
    const Attempt* a = job.current_attempt();
    if (a == nullptr || a->state != AttemptState::kRunning || AwaitsPreviousAttempt(job)) continue;
    for (const auto& r : a->ranks) {
      if (r.worker_id != worker_id) continue;
      if (r.state != RankState::kAssigned && r.state != RankState::kRunning) continue;
      out.push_back({&job, RankKey{job.id, a->number, r.rank}});
    }
  }
  return out;
}

std::vector<wire::Assignment> Scheduler::Assignments(const std::string& worker_id) const {
  std::vector<wire::Assignment> out;
  for (const auto& [job, key] : DesiredRanks(worker_id)) {
    wire::Assignment a;
    a.job = key.job_id;
    a.attempt = key.attempt;
    a.rank = key.rank;
    a.world_size = job->current_attempt()->world_size;
    a.name = job->spec.metadata.name;
    a.spec = job->spec_text;
    a.pins = job->pins;  // the read capability is the Api's to add (it holds the key)
    const Attempt* attempt = job->current_attempt();
    if (key.rank < static_cast<int>(attempt->audit.size())) a.audit = attempt->audit[key.rank];
    a.checkpoint_every_seconds = attempt->checkpoint_every_s;
    out.push_back(std::move(a));
  }
  return out;
}

bool Scheduler::AssignmentsDiffer(const std::string& worker_id,
                                  const std::vector<RankKey>& running) const {
  // Called on every long-poll wake-up: compare keys only, without rendering specs.
  std::set<RankKey> desired;
  for (const auto& [job, key] : DesiredRanks(worker_id)) desired.insert(key);
  return desired != std::set<RankKey>(running.begin(), running.end());
}

Status Scheduler::CheckCheckpointWriter(int64_t job_id, int attempt,
                                        const std::string& worker_id) const {
  const Job* job = FindJob(job_id);
  if (job == nullptr) return NotFound("job " + std::to_string(job_id) + " not found");
  if (attempt < 1 || attempt > static_cast<int>(job->attempts.size())) {
    return NotFound("job " + std::to_string(job_id) + " has no attempt " + std::to_string(attempt));
  }
  for (size_t later = attempt; later < job->attempts.size(); ++later) {
    if (job->attempts[later].went_ahead) {
      return FailedPrecondition("attempt " + std::to_string(attempt) + " of job " +
                                std::to_string(job_id) + " was superseded: attempt " +
                                std::to_string(later + 1) + " went ahead without it");
    }
  }
  const Attempt& a = job->attempts[attempt - 1];
  if (a.ranks.empty() || a.ranks[0].worker_id != worker_id) {
    return PermissionDenied("worker " + worker_id + " does not run rank 0 of job " +
                            std::to_string(job_id) + " attempt " + std::to_string(attempt));
  }
  if (!HoldsSlot(a.ranks[0].state)) {
    return FailedPrecondition("rank 0 of job " + std::to_string(job_id) + " attempt " +
                              std::to_string(attempt) + " has already exited");
  }
  return Status::Ok();
}

void Scheduler::CheckpointWriteBegan(int64_t job_id, int attempt) {
  ++checkpoint_writes_[{job_id, attempt}];
}

void Scheduler::CheckpointWriteEnded(int64_t job_id, int attempt) {
  auto it = checkpoint_writes_.find({job_id, attempt});
  if (it != checkpoint_writes_.end() && --it->second <= 0) checkpoint_writes_.erase(it);
}

bool Scheduler::WritesCheckpointBefore(int64_t job_id, int attempt) const {
  auto it = checkpoint_writes_.lower_bound({job_id, 0});
  return it != checkpoint_writes_.end() && it->first.first == job_id && it->first.second < attempt;
}

bool Scheduler::AccountRunsAttempt(const std::string& account, int64_t job_id,
                                   int attempt) const {
  const Job* job = FindJob(job_id);
  if (job == nullptr) return false;
  const Attempt* a = attempt == 0 ? job->current_attempt()
                     : attempt >= 1 && attempt <= static_cast<int>(job->attempts.size())
                         ? &job->attempts[attempt - 1]
                         : nullptr;
  if (a == nullptr) return false;
  for (const auto& r : a->ranks) {
    if (!HoldsSlot(r.state)) continue;
    const Worker* w = FindWorker(r.worker_id);
    if (w != nullptr && w->account == account) return true;
  }
  return false;
}

void Scheduler::SaveFailureBook(bool force) {
  const int64_t now = clock_();
  if (!force && failures_.total_losses() == failures_saved_losses_ &&
      now - failures_saved_ms_ < kFailureBookSaveIntervalMs) {
    return;
  }
  // Retried at the next interval on failure: an estimate, not state a client was promised.
  Status st = store_->SaveFailureRecords(failures_.Records(now));
  if (!st.ok()) LOG_ERROR << "saving workers' failure records failed: " << st.ToString();
  failures_saved_ms_ = now;
  failures_saved_losses_ = failures_.total_losses();
}

void Scheduler::MarkLostWorkers() {
  int64_t now = clock_();
  for (auto& [wid, w] : workers_.all()) {
    if (w.state != WorkerState::kAlive || now - w.last_seen_ms <= options_.worker_timeout_ms) {
      continue;
    }
    w.state = WorkerState::kLost;
    failures_.Lost(wid, now);
    if (post_schedule_) {
      // With the next batch, as in Heartbeat: a pool that drops off at once (a network split)
      // must not cost one fsync per worker on the event loop.
      saves_.MarkWorker(wid);
      PostRun();
    } else {
      Status st = store_->SaveWorker(w);
      if (!st.ok()) LOG_ERROR << "persisting worker " << wid << ": " << st.ToString();
    }
    LOG_WARN << "worker " << wid << " (" << w.name << ") lost: no heartbeat for "
             << (now - w.last_seen_ms) << " ms";
    for (auto& [id, job] : jobs_.all()) {
      bool touched = false;
      for (auto& a : job.attempts) {
        for (auto& r : a.ranks) {
          if (r.worker_id == wid && HoldsSlot(r.state)) {
            r.state = RankState::kExited;
            r.exit_code = -1;
            r.message = "worker lost";
            touched = true;
            if (&a == job.current_attempt() && a.state == AttemptState::kRunning) {
              FailAttempt(job,
                          "WorkerLost: worker " + WorkerLabel(&w, wid) + " running rank " +
                              std::to_string(r.rank) + " missed heartbeats for " +
                              std::to_string(options_.worker_timeout_ms / 1000) + "s",
                          /*retryable=*/true);
            }
          }
        }
      }
      if (touched) Persist(job);
    }
    Changed();
  }
}

void Scheduler::GoAheadWithoutSilentRanks() {
  if (options_.silent_after_end_ms <= 0) return;  // SilentSinceEnd would say no to every rank
  const int64_t now = clock_();
  bool changed = false;
  for (auto& [id, job] : jobs_.all()) {
    if (job.state != JobState::kRunning || !AwaitsPreviousAttempt(job)) continue;
    Attempt& current = job.attempts.back();
    const Attempt& previous = job.attempts[job.attempts.size() - 2];
    if (current.state != AttemptState::kRunning || WritesCheckpointBefore(job.id, current.number)) {
      continue;
    }
    std::string silent;
    std::vector<std::string_view> silent_ids;
    bool all_silent = true;
    for (const auto& r : previous.ranks) {
      if (!HoldsSlot(r.state)) continue;
      if (!SilentSinceEnd(previous, r.worker_id, now)) {
        all_silent = false;  // too soon, or it heard the end: it will report the rank gone
        break;
      }
      silent += (silent.empty() ? "" : ", ") + std::string("rank ") + std::to_string(r.rank) +
                " on " + WorkerLabel(FindWorker(r.worker_id), r.worker_id);
      silent_ids.push_back(r.worker_id);
    }
    if (!all_silent) continue;
    // The retry itself may have been placed on such a worker (free slots beside its silent rank):
    // it would never start there. It is placed again, on the workers that are heard from
    // (BuildSnapshot leaves the silent ones out); a re-placement is no failure and no retry.
    for (const auto& r : current.ranks) {
      if (std::find(silent_ids.begin(), silent_ids.end(), r.worker_id) == silent_ids.end()) {
        continue;
      }
      ReplaceAttempt(job, "Replaced: rank " + std::to_string(r.rank) + " was placed on " +
                              WorkerLabel(FindWorker(r.worker_id), r.worker_id) +
                              ", silent since attempt " + std::to_string(previous.number) +
                              " ended; placed again without it");
      changed = true;
      break;
    }
    if (job.state != JobState::kRunning) continue;
    current.went_ahead = true;
    AddJobEvent(job, now, "wentAhead",
                "attempt " + std::to_string(current.number) + " starts without waiting for " +
                    silent + " of attempt " + std::to_string(previous.number) +
                    ": no heartbeat since that attempt ended " +
                    std::to_string((now - previous.ended_ms) / 1000) +
                    " s ago; checkpoints of earlier attempts are refused from now on");
    LOG_WARN << "job " << job.id << " attempt " << current.number << " goes ahead without "
             << silent << " of attempt " << previous.number;
    Persist(job);
    changed = true;
  }
  if (changed) Changed();
}

void Scheduler::ReplaceAttempt(Job& job, const std::string& reason) {
  Attempt* a = EndAttempt(job, AttemptState::kResized, reason);
  if (a == nullptr) return;
  job.state = JobState::kPending;
  job.reason = reason;
  AddJobEvent(job, a->ended_ms, "resized", "attempt " + std::to_string(a->number) + ": " + reason);
  LOG_WARN << "job " << job.id << " attempt " << a->number << ": " << reason;
  Persist(job);  // the cycle that called this places it again
}

bool Scheduler::SilentSinceEnd(const Attempt& a, const std::string& worker_id, int64_t now) const {
  if (options_.silent_after_end_ms <= 0 || a.state == AttemptState::kRunning || a.ended_ms <= 0 ||
      now - a.ended_ms < options_.silent_after_end_ms) {
    return false;
  }
  const Worker* w = FindWorker(worker_id);
  return w == nullptr || w->state != WorkerState::kAlive || w->last_request_ms < a.ended_ms;
}

}  // namespace shoal
