// shoal-worker: joins a shoal pool and runs the trainer ranks assigned to it. See --help.
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "common/file_util.h"
#include "common/flags.h"
#include "common/log.h"
#include "worker/agent/agent.h"
#include "worker/agent/worker_name.h"

using namespace shoal;

int main(int argc, char** argv) {
  AgentOptions options;
  std::string token_file;
  CLI::App app("shoal-worker: joins a shoal pool and runs the trainer ranks assigned to it.");
  flags::Configure(app, "shoal-worker");
  app.add_option("--scheduler", options.scheduler_url, "scheduler address")
      ->type_name("URL")
      ->envname("SHOAL_SCHEDULER");
  app.add_option("--name", options.name,
                 "unique worker name (default: HOST-N, the lowest N that no other shoal-worker on "
                 "this host holds)")
      ->type_name("NAME");
  app.add_option("--token", options.token,
                 "contributor token of the account this worker earns for (prefer --token-file: "
                 "argv is visible to other users)")
      ->type_name("TOKEN")
      ->envname("SHOAL_TOKEN");
  app.add_option("--token-file", token_file,
                 "read the token from FILE (e.g. a mounted Kubernetes Secret)")
      ->type_name("FILE");
  app.add_option("--ca-file", options.ca_file, "also trust this CA for an https:// scheduler")
      ->type_name("FILE")
      ->envname("SHOAL_CA_FILE");
  app.add_option("--account", options.account,
                 "account credited with this worker's GPU time (default: the token's; only an "
                 "admin token may name another)")
      ->type_name("NAME");
  app.add_option("--slots", options.slots, "ranks run at once; 0 = one per GPU, or 1 without GPUs")
      ->type_name("N")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--threads-per-rank", options.threads_per_rank,
                 "compute threads per rank; 0 = cpus / slots")
      ->type_name("N")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--trainer", options.trainer_path,
                 "shoal-train executable (default: next to shoal-worker)")
      ->type_name("PATH");
  app.add_option(
         "--test-cheat", options.test_cheat,
         "tests only: audited ranks misbehave (zero, stale, noise:S, scale:X, skip:P, "
         "collude, evade, split, split-sent, misclaim, forge; docs/audits.md); the scheduler must "
         "run with allowTestFaults")
      ->type_name("MODE");
  app.add_option("--work-dir", options.work_dir,
                 "per-rank run directories (default /tmp/shoal-worker-NAME)")
      ->type_name("DIR");
  // One directory per occurrence; the first one given replaces the default list.
  app.add_option("--data-root", options.data_roots,
                 "jobs may read data only under DIR (repeatable; Debian's dataset packages "
                 "install under /usr/share/datasets)")
      ->type_name("DIR")
      ->allow_extra_args(false);
  app.add_option("--memory-limit", options.memory_limit,
                 "RAM lent to ranks, shared by the slots: a percentage of the machine's (or of "
                 "this agent's cgroup limit) or a size (512M, 16G); the scheduler places a rank "
                 "only where its memory estimate fits a slot's share, and a rank over its limit "
                 "(the estimate x 1.5, at most that share) is killed: its job fails with "
                 "OutOfMemory")
      ->type_name("SIZE|PCT")
      ->default_str("90%")
      ->envname("SHOAL_MEMORY_LIMIT");
  app.add_option("--cache-dir", options.cache_dir,
                 "where chunks of registry datasets are cached between jobs (default "
                 "WORK-DIR/cache)")
      ->type_name("DIR");
  double cache_max_gb = 50;
  app.add_option("--cache-max-gb", cache_max_gb,
                 "the chunk cache's budget in GB (10^9 bytes; decimals allowed): past it the least "
                 "recently used chunks that no running job needs are evicted")
      ->type_name("GB")
      ->default_str("50");
  bool no_gpu = false;
  app.add_flag("--no-gpu", no_gpu, "do not look for GPUs");
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return *code;
  options.detect_gpus = !no_gpu;
  if (!(cache_max_gb > 0) || !std::isfinite(cache_max_gb) || cache_max_gb * 1e9 >= 9.2e18) {
    std::fprintf(stderr, "shoal-worker: --cache-max-gb must be a number of GB above 0, got %g\n",
                 cache_max_gb);
    return 2;
  }
  options.cache_max_bytes = static_cast<int64_t>(cache_max_gb * 1e9);
  // Without --name: "<host>-<n>", locked for this process's life so that a second agent on this
  // host picks another name (two agents with one name would share one worker id).
  std::optional<WorkerNameLock> name_lock;
  if (options.name.empty()) {
    char host[256] = {0};
    if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
      std::snprintf(host, sizeof(host), "worker");
    }
    auto lock = WorkerNameLock::Acquire(host, WorkerNameLock::DefaultLockDir());
    if (!lock.ok()) {
      std::fprintf(stderr, "shoal-worker: cannot pick a worker name: %s; give one with --name\n",
                   lock.status().message().c_str());
      return 2;
    }
    name_lock.emplace(std::move(lock).value());
    options.name = name_lock->name();
  }
  if (!token_file.empty()) {
    auto text = ReadTokenFile(token_file);
    if (!text.ok()) {
      std::fprintf(stderr, "shoal-worker: --token-file: %s\n", text.status().message().c_str());
      return 2;
    }
    options.token = *text;
  }
  if (options.token.empty()) {
    std::fprintf(stderr,
                 "shoal-worker: a contributor token is required: --token-file FILE, --token or "
                 "$SHOAL_TOKEN (an admin creates one: shoal tokens create ACCOUNT --role "
                 "contributor)\n");
    return 2;
  }
  SetLogComponent("worker " + (options.name.empty() ? std::string("") : options.name));

  // Signals are taken by a dedicated thread so the agent can shut down cleanly.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Agent agent(options);
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    LOG_INFO << "signal " << sig << ": stopping ranks and leaving";
    agent.Stop();
  });
  signals.detach();
  Status st = agent.Run();
  if (!st.ok()) {
    std::fprintf(stderr, "shoal-worker: %s\n", st.message().c_str());
    return 2;
  }
  return 0;
}
