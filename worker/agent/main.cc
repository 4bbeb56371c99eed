// shoal-worker: joins a shoal pool and runs the trainer ranks assigned to it. See --help.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "common/file_util.h"
#include "common/log.h"
#include "worker/agent/agent.h"

using namespace shoal;

namespace {

const char kUsage[] = R"(usage: shoal-worker [flags]

  --scheduler URL        scheduler address (default $SHOAL_SCHEDULER, else http://127.0.0.1:8470)
  --name NAME            unique worker name (default: the host name)
  --token TOKEN          contributor token of the account this worker earns for (default
                         $SHOAL_TOKEN; prefer --token-file: argv is visible to other users)
  --token-file FILE      read the token from FILE (e.g. a mounted Kubernetes Secret)
  --ca-file FILE         also trust this CA for an https:// scheduler (default $SHOAL_CA_FILE)
  --account NAME         account credited with this worker's GPU time (default: the token's;
                         only an admin token may name another)
  --slots N              ranks run at once (default: one per GPU, or 1 without GPUs)
  --threads-per-rank N   compute threads per rank (default: cpus / slots)
  --trainer PATH         shoal-train executable (default: next to shoal-worker)
  --work-dir DIR         per-rank run directories (default /tmp/shoal-worker-NAME)
  --data-root DIR        jobs may read data only under DIR (repeatable; default
                         /usr/share/datasets, where Debian's dataset packages install)
  --no-gpu               do not look for GPUs
  --help                 this text
)";

bool ParseInt(const char* s, int* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < 0 || v > 1 << 20) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  AgentOptions options;
  if (const char* env = std::getenv("SHOAL_SCHEDULER")) options.scheduler_url = env;
  if (const char* env = std::getenv("SHOAL_TOKEN")) options.token = env;
  if (const char* env = std::getenv("SHOAL_CA_FILE")) options.ca_file = env;
  std::string token_file;
  bool data_root_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "shoal-worker: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--scheduler") {
      options.scheduler_url = value();
    } else if (arg == "--name") {
      options.name = value();
    } else if (arg == "--token") {
      options.token = value();
    } else if (arg == "--token-file") {
      token_file = value();
    } else if (arg == "--ca-file") {
      options.ca_file = value();
    } else if (arg == "--account") {
      options.account = value();
    } else if (arg == "--slots" || arg == "--threads-per-rank") {
      int* target = arg == "--slots" ? &options.slots : &options.threads_per_rank;
      const char* v = value();
      if (!ParseInt(v, target)) {
        std::fprintf(stderr, "shoal-worker: %s: expected a non-negative integer, got \"%s\"\n",
                     arg.c_str(), v);
        return 2;
      }
    } else if (arg == "--trainer") {
      options.trainer_path = value();
    } else if (arg == "--work-dir") {
      options.work_dir = value();
    } else if (arg == "--data-root") {
      if (!data_root_given) options.data_roots.clear();
      data_root_given = true;
      options.data_roots.push_back(value());
    } else if (arg == "--no-gpu") {
      options.detect_gpus = false;
    } else {
      std::fprintf(stderr, "shoal-worker: unknown flag %s (see --help)\n", arg.c_str());
      return 2;
    }
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
