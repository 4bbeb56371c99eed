// Agent: the shoal-worker daemon's core (docs/design.md §2 step 3).
//
// Registers with the scheduler, long-polls heartbeats, and reconciles: it starts one shoal-train
// process per assigned rank and stops ranks that are no longer assigned. A reader thread per rank
// turns the trainer's output into log lines and progress reports (lines starting with "@shoal "
// carry JSON); a sender thread delivers those events in order, retrying while the scheduler is
// away, so nothing is dropped across a scheduler restart. A rank counts as held (reported in
// heartbeats) until the scheduler has acknowledged its exit.
//
// Run() blocks until Stop() is called (from any thread, e.g. a signal handler thread).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/http_client.h"
#include "common/status.h"
#include "common/wire/assignment.h"
#include "common/wire/trainer_report.h"
#include "common/wire/worker_event.h"
#include "worker/agent/checkpoint_transfer.h"
#include "worker/agent/data_roots.h"
#include "worker/agent/event_sender.h"
#include "worker/agent/gpu_inventory.h"

namespace shoal {

struct AgentOptions {
  std::string scheduler_url = "http://127.0.0.1:8470";
  // Unique in the pool; "" = the host name (shoal-worker's main picks "<host>-<n>" instead, see
  // worker_name.h).
  std::string name;
  std::string token;    // contributor (or admin) bearer token
  std::string ca_file;  // extra CA for an https:// scheduler ("" = the system's only)
  // The account credited with this worker's GPU-seconds; "" = the token's account (only an
  // admin token may name another).
  std::string account;
  int slots = 0;             // ranks at once; 0 = one per GPU, or 1 without GPUs
  int threads_per_rank = 0;  // BLAS/compute threads per rank; 0 = cpus / slots
  std::string trainer_path;  // shoal-train; default: next to shoal-worker
  std::string work_dir;      // per-rank run directories; default /tmp/shoal-worker-<name>
  std::chrono::milliseconds kill_grace{5000};  // SIGTERM → SIGKILL
  bool detect_gpus = true;
  // Directories jobs may read data from (data.train / data.test); see data_roots.h.
  std::vector<std::string> data_roots = kDefaultDataRoots;
  // RAM lent to ranks (memory.h: ParseMemoryLimit): "90%" of the machine's (or the agent's cgroup
  // limit), or a size such as "16G". Shared by the slots; reported at registration so that the
  // scheduler places only ranks whose estimate fits a slot's share, and enforced per rank: a
  // rank whose resident memory exceeds its limit (RankMemoryLimit of its estimate, capped at
  // that share) is killed and reported with cause OutOfMemory, which the scheduler does not retry.
  std::string memory_limit = "90%";
  std::chrono::milliseconds memory_poll{100};  // how often the watchdog reads ranks' memory
};

class Agent {
 public:
  explicit Agent(AgentOptions options);
  ~Agent();

  // Runs until Stop(). Returns OK on a requested stop; an error for bad options, or when the
  // scheduler refuses the token or the registration (401/403/400: retrying cannot help; 409,
  // AlreadyExists: another live agent has this name).
  Status Run();
  void Stop();

 private:
  struct RankKeyT {
    int64_t job;
    int attempt;
    int rank;
    auto operator<=>(const RankKeyT&) const = default;
  };
  struct Child {
    pid_t pid = -1;
    bool exited = false;
    std::chrono::steady_clock::time_point kill_sent{};
    bool killing = false;
    int gpu = -1;  // the GPU index this rank was given (CUDA_VISIBLE_DEVICES), -1 for none
    int64_t memory_limit = 0;  // resident bytes allowed (0 = none)
    std::string oom;           // set when the watchdog killed it: what it used and was allowed
    std::thread reader;
  };

  // Detects CPUs, GPUs and memory, and settles the options that depend on them and on the paths
  // (slots, threads per rank, trainer, work dir, the address ranks listen on).
  Status Prepare();
  // Registers, then heartbeats (each reply's assignments reconciled) until stopped; returns why
  // it stopped for good (OK, or a refusal that retrying cannot mend).
  Status Serve();
  // Stops every rank (SIGTERM, then SIGKILL after kill_grace), lets the sender deliver what it
  // can, and joins the threads.
  void Shutdown();
  Status Register();
  void Reconcile(const nlohmann::json& assignments);
  // Whether this worker runs the assignment's job at all (its spec parses, its data lies inside
  // the data roots). PermissionDenied / InvalidArgument otherwise.
  Status CheckJobAllowed(const wire::Assignment& assignment) const;
  Status StartRank(const RankKeyT& key, const wire::Assignment& assignment);
  int PickFreeGpu();  // lowest GPU index no live rank holds, or -1
  void ReadOutput(RankKeyT key, pid_t pid, int fd);
  std::string WorkerId();  // worker_id_, under mu_
  void EscalateKills();
  // The memory watchdog's loop (until stop_): kills ranks over their memory_limit.
  void WatchMemory();
  nlohmann::json RunningList();

  AgentOptions options_;
  // 32 random hex digits, new in every process and sent with each registration, so that the
  // scheduler can tell a restart of this agent from another live agent using the same name.
  const std::string instance_;
  HttpClient client_;
  std::string worker_id_;
  std::string rank_address_ = "127.0.0.1";  // where this machine's ranks accept peers
  int cpus_ = 1;
  std::vector<GpuDevice> gpus_;
  int64_t memory_total_ = 0;  // bytes (DetectMemoryTotal); 0 = unknown
  int64_t memory_lent_ = 0;   // bytes lent to all slots together (--memory-limit); 0 = unknown

  std::atomic<bool> stop_{false};
  std::mutex mu_;  // guards worker_id_ (after Run starts the threads), children_, done_
  std::condition_variable cv_;
  std::map<RankKeyT, std::unique_ptr<Child>> children_;
  std::set<RankKeyT> done_;  // exits acknowledged by the scheduler: never restart these
  std::thread watchdog_;
  CheckpointTransfer checkpoints_;
  // Last: its thread calls back into children_ and done_, so it must stop before they go.
  EventSender events_;
};

}  // namespace shoal
