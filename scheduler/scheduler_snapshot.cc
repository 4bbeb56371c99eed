// The Scheduler's view for the policy (the Snapshot of queue, running jobs and workers) and
// the contribution ledger's accrual and credit.
// Part of the Scheduler class (scheduler/scheduler.h); the files share scheduler_internal.h.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <set>

#include "common/log.h"
#include "scheduler/policy/hetero.h"
#include "scheduler/policy/placement.h"
#include "scheduler/policy/policy.h"
#include "scheduler/scheduler.h"
#include "scheduler/scheduler_internal.h"

namespace shoal {

using scheduler_internal::AwaitsPreviousAttempt;
using scheduler_internal::HoldsSlot;
using scheduler_internal::ShapeOf;
using scheduler_internal::SnapshotWorkerOf;

void Scheduler::CreditAttempt(const Job& job, const Attempt& a, bool history) {
  const double units = AttemptUnitsPerRank(job.spec, a);
  for (const auto& r : a.ranks) {
    Worker* w = MutableWorker(r.worker_id);
    if (w == nullptr) continue;
    ledger_.Credit(w->account, units);
    if (history) {
      ++w->completed_ranks;
      if (post_schedule_) {
        saves_.MarkWorker(w->id);  // written with the job's success, in its batch
      } else if (Status st = store_->SaveWorker(*w); !st.ok()) {
        LOG_ERROR << "persisting worker " << w->id << ": " << st.ToString();
      }
    }
  }
}

SnapshotWorker Scheduler::SnapshotOf(const Worker& w, int held, int stopping) const {
  SnapshotWorker sw = SnapshotWorkerOf(w, held, stopping);
  sw.account = w.account;
  if (options_.new_worker_ranks_per_job > 0 && w.completed_ranks < options_.trusted_after_ranks) {
    sw.foreign_job_rank_cap = options_.new_worker_ranks_per_job;
  }
  return sw;
}

void Scheduler::ObserveSpeed(const Job& job, int attempt, const nlohmann::json& progress) {
  if (!speeds_.enabled()) return;
  const auto rate = progress.find("samplesPerSec");
  if (rate == progress.end() || !rate->is_number()) return;
  for (const Attempt& a : job.attempts) {
    if (a.number != attempt || a.ranks.empty()) continue;
    std::string type;
    for (const RankPlacement& r : a.ranks) {
      const Worker* w = FindWorker(r.worker_id);
      if (w == nullptr || w->gpus.empty()) return;
      if (!type.empty() && w->gpus.front().name != type) return;
      type = w->gpus.front().name;
    }
    speeds_.Observe(SpeedKey(job.spec), type,
                    rate->get<double>() / static_cast<double>(a.ranks.size()));
  }
}

Snapshot Scheduler::BuildSnapshot() const {
  Snapshot snap;
  snap.now_ms = clock_();
  std::map<std::string, int> held, stopping;
  std::set<std::string> silent;  // workers with a stopping rank, silent since its attempt ended
  // The job table is keyed by id, so the queue comes out in submission order.
  for (const auto& [id, job] : jobs_.all()) {
    const JobSpec& spec = job.spec;
    for (const auto& a : job.attempts) {
      for (const auto& r : a.ranks) {
        if (HoldsSlot(r.state)) ++held[r.worker_id];
        if (r.state != RankState::kStopping) continue;
        ++stopping[r.worker_id];
        if (SilentSinceEnd(a, r.worker_id, snap.now_ms)) silent.insert(r.worker_id);
      }
    }
    const bool queued = job.state == JobState::kPending || job.state == JobState::kRestarting;
    const bool running = job.state == JobState::kRunning && job.current_attempt() != nullptr;
    if (!queued && !running) continue;
    SnapshotJob shape = ShapeOf(job);
    // +preempt's tail guard (PolicyOptions::preempt_max_per_job) counts them.
    shape.preemptions = static_cast<int>(
        std::count_if(job.attempts.begin(), job.attempts.end(),
                      [](const Attempt& a) { return a.state == AttemptState::kPreempted; }));
    // +las: the GPU time its ended attempts held, and when the last of them ended.
    for (const Attempt& a : job.attempts) {
      if (a.ended_ms <= 0 || a.started_ms <= 0) continue;
      shape.attained_gpu_s += static_cast<double>(a.ended_ms - a.started_ms) / 1000.0 *
                              a.world_size * std::max(1, shape.gpus_per_rank);
      shape.queued_ms = std::max(shape.queued_ms, a.ended_ms);
    }
    if (queued) {
      shape.max_runtime_ms =
          std::max<int64_t>(1, spec.limits.max_runtime_seconds * 1000 - RunMs(job));
      snap.queue.push_back(std::move(shape));
    } else {
      const Attempt& a = *job.current_attempt();
      SnapshotRunning sr = AsRunning(shape);
      sr.start_ms = a.started_ms;
      sr.last_checkpoint_ms = a.last_checkpoint_ms;
      // The time limit covers every attempt (EnforceTimeLimits), so the job ends by then; one past
      // it is being stopped, and backfill counts its slots as freeing just after now.
      sr.max_runtime_ms = std::max<int64_t>(
          1, spec.limits.max_runtime_seconds * 1000 - (RunMs(job) - (snap.now_ms - a.started_ms)));
      // Resizable only while every rank runs: not while some finish, nor while the attempt waits
      // for the previous one to stop.
      const bool whole = !AwaitsPreviousAttempt(job) &&
                         std::all_of(a.ranks.begin(), a.ranks.end(),
                                     [](const RankPlacement& r) { return HoldsSlot(r.state); });
      if (!whole) sr.min_ranks = sr.max_ranks = 0;
      for (const auto& r : a.ranks) {
        if (HoldsSlot(r.state)) sr.rank_workers.push_back(r.worker_id);
      }
      snap.running.push_back(std::move(sr));
    }
  }
  for (const LedgerEntry& e : ledger_.Entries()) {
    snap.accounts.push_back({e.account, e.contributed, e.used});
  }
  for (const auto& [id, w] : workers_.all()) {
    if (w.state != WorkerState::kAlive || silent.count(id) > 0) continue;
    snap.workers.push_back(SnapshotOf(w, held[id], stopping[id]));
  }
  if (speeds_.enabled()) ApplyGpuSpeeds(snap);
  return snap;
}

void Scheduler::ApplyGpuSpeeds(Snapshot& snap) const {
  std::vector<std::string> types;  // the GPU models of the pool
  for (const SnapshotWorker& w : snap.workers) {
    if (!w.gpu_type.empty() && std::find(types.begin(), types.end(), w.gpu_type) == types.end()) {
      types.push_back(w.gpu_type);
    }
  }
  if (types.size() < 2) return;
  std::vector<std::vector<double>> speeds(snap.queue.size());
  for (size_t i = 0; i < snap.queue.size(); ++i) {
    const SnapshotJob& j = snap.queue[i];
    // A job that names GPU types keeps its own rule; cpu jobs have none.
    if (j.backend == Backend::kCpu || !j.gpu_types.empty()) continue;
    speeds[i] = speeds_.Speeds(SpeedKey(jobs_.Find(j.id)->spec), types);
  }
  PreferGpuTypes(types, speeds, snap);
}

void Scheduler::AccrueLedger() {
  const int64_t now = clock_();
  ledger_.Accrue(now, jobs_.all(), workers_.all());
  if (now - ledger_saved_ms_ >= options_.ledger_save_interval_ms) {
    Status st = store_->SaveLedger(ledger_.Entries());
    if (!st.ok()) LOG_ERROR << "saving the ledger failed: " << st.ToString();
    ledger_saved_ms_ = now;
  }
  const int64_t every = options_.ledger_history_interval_ms;
  if (every > 0 && (ledger_history_ms_ < 0 || now - ledger_history_ms_ >= every)) {
    std::vector<LedgerEntry> entries = ledger_.Entries();
    // An empty ledger (a new pool, before any worker joined) is no snapshot: the first one is
    // taken when there is something to show, not an interval later.
    if (entries.empty()) return;
    const int64_t retention = options_.ledger_history_retention_ms;
    const int64_t cutoff = retention > 0 ? now - retention : std::numeric_limits<int64_t>::min();
    Status st = store_->AppendLedgerHistory(now, entries, cutoff);
    if (!st.ok()) LOG_ERROR << "appending to the ledger history failed: " << st.ToString();
    ledger_history_ms_ = now;
  }
}

}  // namespace shoal
