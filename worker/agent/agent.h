// Agent: the shoal-worker daemon's core (docs/design.md §2 step 3).
//
// Registers with the scheduler, long-polls heartbeats, and reconciles: it starts one shoal-train
// process per assigned rank and stops ranks that are no longer assigned. A reader thread per rank
// turns the trainer's output into log lines and progress reports (lines starting with "@shoal "
// carry JSON); a sender thread delivers those events in order, retrying while the scheduler is
// away, so nothing is dropped across a scheduler restart. A rank counts as held (reported in
// heartbeats) until the scheduler has acknowledged its exit.
//
// A rank whose spec reads registry data (shoal://..., docs/registry.md) first prepares on its own
// thread: the pinned versions are fetched into the chunk cache and materialized under the rank's
// private data directory, then the trainer starts with a spec naming those local paths (on the
// same thread, which then reads its output). The heartbeat loop goes on meanwhile; the rank is
// held, and a failed fetch is reported as the rank's exit. The data directory is removed and the
// chunks unpinned when the rank ends (and leftovers at the agent's start).
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
#include "worker/agent/cache_holdings.h"
#include "worker/agent/checkpoint_transfer.h"
#include "worker/agent/chunk_cache.h"
#include "worker/agent/nvml_sampler.h"
#include "worker/agent/data_roots.h"
#include "worker/agent/dataset_fetch.h"
#include "worker/agent/event_sender.h"
#include "worker/agent/gpu_inventory.h"
#include "worker/agent/process.h"

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
  // Tests only (docs/audits.md "Fault injection"): every audited rank runs with --cheat MODE. Sent
  // at registration, so that a scheduler without allowTestFaults refuses this worker.
  std::string test_cheat;
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
  // The registry's chunk cache (chunk_cache.h): "" = <work_dir>/cache; bounded by
  // cache_max_bytes (--cache-max-gb, in units of 10^9 bytes).
  std::string cache_dir;
  int64_t cache_max_bytes = int64_t{50} * 1000 * 1000 * 1000;
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
    pid_t pid = -1;  // -1 while its registry data is being fetched
    bool exited = false;
    std::chrono::steady_clock::time_point kill_sent{};
    bool killing = false;
    int gpu = -1;  // the GPU index this rank was given (CUDA_VISIBLE_DEVICES), -1 for none
    int64_t memory_limit = 0;  // resident bytes allowed (0 = none)
    std::string oom;           // set when the watchdog killed it: what it used and was allowed
    // Reads the rank's output; for a rank with registry data it fetches that first, then
    // starts the trainer.
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
  // Starts a rank whose spec names only local data, on the caller's thread.
  Status StartRank(const RankKeyT& key, const wire::Assignment& assignment);
  // The rank's thread for a spec with registry data: fetches and materializes it, starts the
  // trainer and reads its output; a failure is reported as the rank's exit.
  void PrepareAndRun(RankKeyT key, wire::Assignment assignment);
  // Writes `spec_text` as the rank's job file and spawns the trainer for `child` (already in
  // children_, pid -1), recording its pid, GPU and memory limit there.
  Result<SpawnedProcess> LaunchRank(const RankKeyT& key, const wire::Assignment& assignment,
                                    const std::string& spec_text, Child* child);
  std::string RankDir(const RankKeyT& key) const;
  // Picks the lowest GPU index no other live rank holds (-1 for none) and records it on `child`.
  int ReserveGpu(Child* child);
  // ReadOutput, turning an exception into the rank's failure. `data` (may be null) is released
  // before the exit is reported.
  void RunRank(RankKeyT key, pid_t pid, int fd, AttemptData* data);
  void ReadOutput(RankKeyT key, pid_t pid, int fd, AttemptData* data);
  std::string WorkerId();  // worker_id_, under mu_
  void EscalateKills();
  // The memory watchdog's loop (until stop_): kills ranks over their memory_limit.
  void WatchMemory();
  nlohmann::json RunningList();

  AgentOptions options_;
  // 32 random hex digits, new in every process and sent with each registration, so that the
  // scheduler can tell a restart of this agent from another live agent using the same name.
  const std::string instance_;
  // Kept in the work directory across restarts (agent-id): the scheduler lets a new instance
  // with it take this worker's name over at once, as this agent restarted.
  std::string machine_;
  int machine_lock_fd_ = -1;  // the flock on <work dir>/agent-id, held for the agent's life
  HttpClient client_;
  std::string worker_id_;
  std::string rank_address_ = "127.0.0.1";  // where this machine's ranks accept peers
  int cpus_ = 1;
  std::vector<GpuDevice> gpus_;
  int64_t memory_total_ = 0;  // bytes (DetectMemoryTotal); 0 = unknown
  int64_t memory_lent_ = 0;   // bytes lent to all slots together (--memory-limit); 0 = unknown
  std::unique_ptr<ChunkCache> cache_;  // opened by Prepare
  // What cache_ holds, by version, for the heartbeats (created with cache_).
  std::unique_ptr<CacheHoldings> holdings_;
  // Its GPUs' NVML sampler; null without GPUs or without NVML.
  std::unique_ptr<NvmlSampler> nvml_;

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
