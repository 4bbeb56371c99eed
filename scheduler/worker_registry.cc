#include "scheduler/worker_registry.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "common/spec/job_spec.h"  // IsDnsLabel

namespace shoal {

void WorkerRegistry::Restore(Worker w) {
  int number = 0;
  if (w.id.rfind("w-", 0) == 0) number = std::atoi(w.id.c_str() + 2);
  next_number_ = std::max(next_number_, number + 1);
  by_name_[w.name] = w.id;
  workers_.emplace(w.id, std::move(w));
}

WorkerRegistry::Staged WorkerRegistry::Stage(const std::vector<WorkerRegistration>& regs,
                                             int64_t now_ms, int64_t worker_timeout_ms,
                                             std::vector<Status>* refusals) {
  Staged result;
  std::vector<Worker>& staged = result.workers;
  std::vector<int>& staged_of = result.worker_of;
  staged_of.assign(regs.size(), -1);
  std::unordered_map<std::string, int> staged_by_name;
  for (size_t i = 0; i < regs.size(); ++i) {
    const WorkerRegistration& reg = regs[i];
    if (reg.name.empty() || reg.name.size() > 253) {
      (*refusals)[i] = InvalidArgument("worker name must be 1..253 characters");
      continue;
    }
    if (reg.slots < 1 || reg.slots > 1024) {
      (*refusals)[i] = InvalidArgument("slots must be in 1..1024");
      continue;
    }
    if (reg.memory_total_bytes < 0 || reg.memory_lent_bytes < 0) {
      (*refusals)[i] = InvalidArgument("memoryBytes and memoryLentBytes must be >= 0");
      continue;
    }
    if (!IsDnsLabel(reg.account)) {
      (*refusals)[i] =
          InvalidArgument("account must be a DNS label (1..63 of a-z, 0-9, '-'), got \"" +
                          reg.account.substr(0, 80) + "\"");
      continue;
    }
    Worker w;
    // Names are unique: an index, since a pool of thousands registering at once would otherwise
    // scan every worker per registration. A name seen earlier in this batch re-registers that
    // entry (as a second call would), so it keeps its id and the later fields win.
    auto dup = staged_by_name.find(reg.name);
    if (dup != staged_by_name.end()) {
      w.id = staged[dup->second].id;
    } else if (auto it = by_name_.find(reg.name); it != by_name_.end()) {
      const Worker& known = workers_.at(it->second);
      if (known.account != reg.account) {
        (*refusals)[i] =
            PermissionDenied("worker name \"" + reg.name + "\" is registered to account \"" +
                             known.account + "\"; choose another --name");
        continue;
      }
      // Another live process already holds this name (two agents on one host with one --name):
      // refused, or both would run the same ranks under one id. Once it is lost (no heartbeat for
      // worker_timeout_ms), the name is free again. Its own restart (the same machine id: the
      // agent keeps it in its work directory) takes over at once: the old process is gone, and
      // waiting for its timeout would hold its jobs' next attempts back that long.
      const bool same_machine =
          !reg.machine.empty() && reg.machine == known.machine && reg.host == known.host;
      if (known.state == WorkerState::kAlive && !known.instance.empty() &&
          known.instance != reg.instance && !same_machine) {
        const int64_t silent_s = (now_ms - known.last_seen_ms) / 1000;
        (*refusals)[i] = AlreadyExists(
            "worker name \"" + reg.name + "\" is held by a live worker (" + known.id + " on host " +
            known.host + ", last heartbeat " + std::to_string(silent_s) +
            " s ago); give this one another --name, or stop the other (its name is free once it "
            "has been silent for " +
            std::to_string(worker_timeout_ms / 1000) + " s)");
        continue;
      }
      w.id = it->second;
    } else {
      // Not reused even if the commit fails: the id was never acknowledged, but stays burnt.
      w.id = "w-" + std::to_string(next_number_++);
    }
    w.name = reg.name;
    w.host = reg.host;
    w.account = reg.account;
    w.instance = reg.instance;
    w.machine = reg.machine;
    w.slots = reg.slots;
    w.cpus = reg.cpus;
    w.gpus = reg.gpus;
    w.memory_total_bytes = reg.memory_total_bytes;
    w.memory_lent_bytes = reg.memory_lent_bytes;
    w.state = WorkerState::kAlive;
    // What the pool learned about this worker survives its restart: audits and a quarantine
    // (re-registering must not be a way out of one).
    const Worker* before = dup != staged_by_name.end() ? &staged[dup->second] : Find(w.id);
    if (before != nullptr) {
      w.audit_rate = before->audit_rate;
      w.clean_audits = before->clean_audits;
      w.failed_audits = before->failed_audits;
      w.quarantine = before->quarantine;
      w.quarantined_ms = before->quarantined_ms;
      if (before->state == WorkerState::kQuarantined) w.state = WorkerState::kQuarantined;
    }
    w.registered_ms = now_ms;
    w.last_seen_ms = now_ms;
    w.last_request_ms = now_ms;
    if (dup != staged_by_name.end()) {
      staged[dup->second] = std::move(w);
      staged_of[i] = dup->second;
    } else {
      staged_of[i] = static_cast<int>(staged.size());
      staged_by_name[reg.name] = staged_of[i];
      staged.push_back(std::move(w));
    }
  }
  return result;
}

Worker& WorkerRegistry::Install(Worker w) {
  by_name_[w.name] = w.id;
  Worker& stored = workers_[w.id];
  stored = std::move(w);
  return stored;
}

const Worker* WorkerRegistry::Find(const std::string& id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

Worker* WorkerRegistry::Find(const std::string& id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

}  // namespace shoal
