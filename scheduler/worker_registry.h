// WorkerRegistry: the pool's workers by id, the name index that keeps their names unique, and the
// counter that numbers new ones ("w-N"). It decides a batch of registrations without changing
// anything (Stage), so that the Scheduler can commit the batch to the store before memory
// changes, then applies it (Install). What a re-registration or a lost worker means for jobs is
// the Scheduler's business, not this registry's.
//
// Not thread-safe: the scheduler's event loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "scheduler/state/records.h"

namespace shoal {

struct WorkerRegistration {
  std::string name;
  std::string host;
  int slots = 1;
  int cpus = 0;
  std::vector<GpuInfo> gpus;
  std::string account = "default";  // earns the contribution credit; a DNS label
  // Random per agent process ("" = an agent that predates it). A registration under a name held
  // by a live worker of another instance is refused (AlreadyExists).
  std::string instance = "";
  // Stable per agent installation (Worker::machine; "" = not reported): a new instance with the
  // machine id of the live worker holding the name is that worker restarted, and takes over.
  std::string machine = "";
  // RAM of the machine (or of the agent's cgroup) and the part lent to ranks; 0 = not reported.
  int64_t memory_total_bytes = 0;
  int64_t memory_lent_bytes = 0;
};

class WorkerRegistry {
 public:
  // A worker as stored, at start-up (its id's number is never handed out again).
  void Restore(Worker w);

  // A batch of registrations, decided: the workers to commit (one per distinct name; a name
  // repeated in the batch re-registers that entry, the later fields winning) and, for each
  // registration, the index of its worker in `workers`, or -1 when it was refused (*refusals
  // then holds why at that registration's index: InvalidArgument for bad fields,
  // PermissionDenied for a name of another account, AlreadyExists for a name a live worker of
  // another instance and another machine id holds, silent for less than worker_timeout_ms). A
  // new worker's id is taken
  // here and stays burnt if the commit fails.
  struct Staged {
    std::vector<Worker> workers;
    std::vector<int> worker_of;
  };
  Staged Stage(const std::vector<WorkerRegistration>& regs, int64_t now_ms,
               int64_t worker_timeout_ms, std::vector<Status>* refusals);

  // Adds a committed worker, or replaces the one with its id; returns the stored copy.
  Worker& Install(Worker w);

  const Worker* Find(const std::string& id) const;
  Worker* Find(const std::string& id);
  const std::map<std::string, Worker>& all() const { return workers_; }
  std::map<std::string, Worker>& all() { return workers_; }
  size_t size() const { return workers_.size(); }
  bool empty() const { return workers_.empty(); }

 private:
  std::map<std::string, Worker> workers_;
  std::unordered_map<std::string, std::string> by_name_;  // name -> id
  int next_number_ = 1;
};

}  // namespace shoal
