#include "scheduler/api/views.h"

#include "common/spec/job_spec.h"

namespace shoal {

namespace {

wire::RankView RankViewOf(const RankPlacement& r) {
  wire::RankView v;
  v.rank = r.rank;
  v.worker = r.worker_id;
  v.state = ToString(r.state);
  if (r.state == RankState::kExited) {
    v.exit_code = r.exit_code;
    v.signal = r.signal;
  }
  v.message = r.message;
  v.result = r.result;
  v.fetched_bytes = r.fetched_bytes;
  return v;
}

wire::AttemptView AttemptViewOf(const Attempt& a) {
  wire::AttemptView v;
  v.number = a.number;
  v.world_size = a.world_size;
  v.state = ToString(a.state);
  v.reason = a.reason;
  v.started_ms = a.started_ms;
  v.ended_ms = a.ended_ms;
  v.checkpoint_every_seconds = a.checkpoint_every_s;
  v.checkpoint_write_seconds = a.checkpoint_write_s;
  for (const auto& r : a.ranks) v.ranks.push_back(RankViewOf(r));
  return v;
}

}  // namespace

wire::JobView JobViewOf(const Job& job, bool detail) {
  wire::JobView v;
  v.id = job.id;
  v.name = job.spec.metadata.name;
  v.project = job.spec.metadata.project;
  v.owner = job.owner;
  v.queue = job.spec.queue;
  v.priority = job.spec.priority;
  v.state = ToString(job.state);
  v.reason = job.reason;
  v.submitted_ms = job.submitted_ms;
  v.started_ms = job.started_ms;
  v.finished_ms = job.finished_ms;
  v.workers_min = job.spec.workers.min;
  v.workers_max = job.spec.workers.max;
  v.attempts = static_cast<int>(job.attempts.size());
  v.progress = job.progress;
  v.result = job.result;
  // Only while it waits: the last cycle's numbers say nothing about a running or finished job.
  if (job.state == JobState::kPending || job.state == JobState::kRestarting) {
    v.reason_message = job.reason_message;
    if (job.estimated_start_ms != 0) v.estimated_start_ms = job.estimated_start_ms;
  }
  if (const Attempt* a = job.current_attempt()) {
    v.world_size = a->world_size;
    for (const auto& r : a->ranks) v.placement.push_back(r.worker_id);
  }
  if (detail) {
    v.attempt_history.emplace();
    for (const auto& a : job.attempts) v.attempt_history->push_back(AttemptViewOf(a));
    v.spec = JobSpecToJson(job.spec);
    v.events.emplace();
    for (const auto& e : job.events) v.events->push_back({e.ts_ms, e.type, e.message});
    v.events_dropped = job.events_dropped;
    v.pins = job.pins;
  }
  return v;
}

wire::WorkerView WorkerViewOf(const Worker& w) {
  wire::WorkerView v;
  v.id = w.id;
  v.name = w.name;
  v.host = w.host;
  v.account = w.account;
  v.slots = w.slots;
  v.cpus = w.cpus;
  for (size_t i = 0; i < w.gpus.size(); ++i) {
    const auto& g = w.gpus[i];
    wire::GpuView gv;
    gv.name = g.name;
    gv.memory_mib = g.memory_mib;
    gv.compute_capability = g.compute_capability;
    // NVML and CUDA both number the devices in PCI bus order when CUDA_DEVICE_ORDER is
    // PCI_BUS_ID (the worker sets it), so sample i is GPU i.
    for (const auto& s : w.gpu_samples) {
      if (s.index == static_cast<int>(i)) {
        gv.utilization = s.utilization;
        gv.memory_used_mib = s.memory_used_mib;
      }
    }
    v.gpus.push_back(std::move(gv));
  }
  v.memory_bytes = w.memory_total_bytes;
  v.memory_lent_bytes = w.memory_lent_bytes;
  v.state = ToString(w.state);
  v.registered_ms = w.registered_ms;
  v.last_seen_ms = w.last_seen_ms;
  v.completed_ranks = w.completed_ranks;
  v.audit_rate = w.audit_rate;  // 0 = never audited; the Api shows the rate in effect
  v.clean_audits = w.clean_audits;
  v.failed_audits = w.failed_audits;
  if (w.state == WorkerState::kQuarantined) v.quarantine = w.quarantine;
  return v;
}

nlohmann::json ToJson(const Job& job, bool detail) { return wire::ToJson(JobViewOf(job, detail)); }

nlohmann::json ToJson(const Worker& w) { return wire::ToJson(WorkerViewOf(w)); }

}  // namespace shoal
