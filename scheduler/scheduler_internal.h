// What the files of the Scheduler class (scheduler.cc, scheduler_jobs.cc, scheduler_workers.cc,
// scheduler_events.cc, scheduler_snapshot.cc) share: exit codes they interpret, limits on what
// workers send, and the policy's view of jobs and workers. Internal to scheduler/; not an API.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>

#include "common/memory_estimate.h"
#include "scheduler/policy/snapshot.h"
#include "scheduler/state/records.h"

namespace shoal::scheduler_internal {

// A trainer exits with 2 when its input (spec, data) is bad: running it again cannot help.
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitOutOfMemory = 4;  // shoal-train's kTrainOutOfMemory: an allocation failed
inline constexpr int kExitAuditDispute = 5;  // shoal-train's kTrainAuditDispute (docs/audits.md)
inline constexpr size_t kMaxLogLineBytes = 16 * 1024;

inline bool HoldsSlot(RankState s) { return s != RankState::kExited; }

// Whether the job's current attempt must wait before its ranks are handed out: ranks of the
// attempt before it still hold slots (they are stopping). A new attempt starts only from a
// finished one, so that both never train at once on the same slots (or checkpoint), unless it
// went ahead without ranks on silent workers (Attempt::went_ahead).
inline bool AwaitsPreviousAttempt(const Job& job) {
  if (job.attempts.size() < 2 || job.attempts.back().went_ahead) return false;
  const Attempt& previous = job.attempts[job.attempts.size() - 2];
  return std::any_of(previous.ranks.begin(), previous.ranks.end(),
                     [](const RankPlacement& r) { return HoldsSlot(r.state); });
}

inline std::string WorkerLabel(const Worker* w, const std::string& id) {
  return w != nullptr ? id + " (" + w->name + ")" : id;
}

// The policy's view of a job's shape (the fields a queued and a running job share).
inline SnapshotJob ShapeOf(const Job& job) {
  const JobSpec& spec = job.spec;
  SnapshotJob shape;
  shape.id = job.id;
  shape.account = job.owner;  // the account that submitted it is charged (the ledger)
  shape.priority = spec.priority;
  shape.submit_ms = job.submitted_ms;
  shape.min_ranks = spec.workers.min;
  shape.max_ranks = spec.workers.max;
  shape.backend = spec.resources.backend;
  shape.gpus_per_rank =
      spec.resources.backend == Backend::kCpu ? 0 : spec.resources.gpus_per_worker;
  shape.gpu_types = spec.resources.gpu_types;
  shape.min_gpu_memory_gib = spec.resources.min_gpu_memory_gib;
  shape.rank_memory_bytes = RankMemoryNeed(spec);
  // Every private dataset it reads narrows the accounts whose workers may run it.
  bool narrowed = false;
  for (const wire::Pin& pin : job.pins) {
    if (pin.trusted_workers.empty()) continue;
    if (!narrowed) {
      shape.worker_accounts = pin.trusted_workers;
      narrowed = true;
      continue;
    }
    std::erase_if(shape.worker_accounts, [&](const std::string& a) {
      return std::find(pin.trusted_workers.begin(), pin.trusted_workers.end(), a) ==
             pin.trusted_workers.end();
    });
    if (shape.worker_accounts.empty()) shape.worker_accounts = {"(no account: the datasets' trustedWorkers do not overlap)"};
  }
  for (const wire::Pin& pin : job.pins) {
    // data.train and data.test may pin the same version: its bytes are fetched once.
    if (std::any_of(shape.data.begin(), shape.data.end(),
                    [&](const SnapshotData& d) { return d.digest == pin.digest; })) {
      continue;
    }
    SnapshotData d;
    d.digest = pin.digest;
    d.bytes = pin.bytes;
    shape.data.push_back(std::move(d));
  }
  return shape;
}

// The policy's view of a worker with `held` of its slots in use, `stopping` of them freeing.
inline SnapshotWorker SnapshotWorkerOf(const Worker& w, int held, int stopping) {
  SnapshotWorker sw;
  sw.id = w.id;
  sw.node = w.host.empty() ? w.id : w.host;
  sw.total_slots = w.slots;
  sw.free_slots = w.slots - held;
  sw.stopping_slots = stopping;
  sw.gpus = static_cast<int>(w.gpus.size());
  if (!w.gpus.empty()) {
    sw.gpu_type = w.gpus.front().name;
    int64_t min_mib = w.gpus.front().memory_mib;
    for (const auto& g : w.gpus) min_mib = std::min(min_mib, g.memory_mib);
    sw.gpu_memory_gib = static_cast<double>(min_mib) / 1024.0;
  }
  sw.memory_per_slot_bytes = w.slots > 0 ? w.memory_lent_bytes / w.slots : 0;
  sw.cached.reserve(w.cached.size());
  for (const wire::CachedVersion& c : w.cached) {
    SnapshotData d;
    d.digest = c.digest;
    d.bytes = c.bytes;
    sw.cached.push_back(std::move(d));
  }
  return sw;
}

// Requested passes may take about 1/kPassDuty of the event loop's time (see SetSchedulePoster).
inline constexpr int kPassDuty = 10;
// RunPendingSchedule() writes unsaved changes that are older than this.
inline constexpr auto kMaxUnsavedAge = std::chrono::milliseconds(500);

}  // namespace shoal::scheduler_internal
