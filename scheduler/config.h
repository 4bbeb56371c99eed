// Scheduler configuration: configs/scheduler.yaml, overridden by command-line flags.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "scheduler/audit/trust.h"
#include "scheduler/visibility.h"

namespace shoal {

struct SchedulerConfig {
  std::string address = "127.0.0.1";  // listen address
  int port = 8470;  // 0 = ephemeral (the bound port goes to stateDir/scheduler.addr)
  std::string state_dir = "./shoal-state";
  int64_t worker_timeout_ms = 15000;    // workerTimeout: silent this long → lost
  int64_t heartbeat_wait_ms = 5000;     // heartbeatWait: longest heartbeat long-poll
  // silentAfterEnd: a retry goes ahead without ranks whose workers sent no heartbeat request
  // this long after their attempt ended (0 = it waits for them until workerTimeout)
  int64_t silent_after_end_ms = 3000;
  int64_t schedule_interval_ms = 1000;  // scheduleInterval: periodic scheduling cycle
  int64_t max_body_bytes = 1 << 20;     // maxBodyBytes: larger request bodies get 413
  std::string policy = "fifo";          // fifo | priority | fairshare, optionally +backfill
  int64_t fair_share_half_life_ms = 7 * 86400 * 1000LL;  // fairShareHalfLife: ledger decay
  // ledgerHistoryInterval: how often the ledger is appended to its history (the dashboard's
  // chart; 0 = never); ledgerHistoryRetention: how long that history is kept (0 = forever).
  int64_t ledger_history_interval_ms = 3600 * 1000LL;
  int64_t ledger_history_retention_ms = 400 * 86400 * 1000LL;
  int64_t preempt_min_runtime_ms = 10 * 60 * 1000;  // preemptMinRuntime: +preempt spares younger
  int preempt_max_per_job = 5;  // preemptMaxPerJob: +preempt's tail guard (0 = no bound)
  int64_t preempt_max_unsaved_ms = 0;  // preemptMaxUnsaved: +preempt's cost guard (0 = no bound)
  // lasLevels / lasStarveFactor: +las's levels (GPU-seconds received) and starvation guard.
  std::vector<double> las_levels_gpu_s = {3600, 36000, 360000};
  double las_starve_factor = 2;
  bool young_daly = false;             // youngDaly: Young/Daly checkpoint intervals per attempt
  int64_t worker_mtbf_prior_ms = int64_t{7} * 86400 * 1000;  // workerMtbfPrior
  int64_t resize_min_interval_ms = 10 * 60 * 1000;  // resizeMinInterval: +elastic grows older
  // adminTokenFile: on the first start, the admin token is the one in this file (e.g. a mounted
  // Kubernetes Secret) instead of a random one printed once. Ignored once any token exists.
  std::string admin_token_file;
  // workerTokenFile / workerAccount: on the first start, the token in this file also becomes a
  // contributor token of workerAccount (for workers started from a shared Secret).
  std::string worker_token_file;
  std::string worker_account = "cluster";
  // tlsCert / tlsKey: PEM certificate chain and private key; when set the API speaks only HTTPS.
  std::string tls_cert_file;
  std::string tls_key_file;
  // uiDir: the dashboard's assets, served at /ui/ (docs/dashboard.md). "" = the build's or the
  // package's: ui/ beside the executable, else ../share/shoal/ui from it.
  std::string ui_dir;
  // queues: the names a job's spec.queue may take (others are refused at submission). In the
  // file a list or "a,b"; each a DNS label.
  std::vector<std::string> queues = {"default"};
  // maxConnections / maxConnectionsPerAddress: open API connections at most, in all and from one
  // client address (0 = no cap); behind a proxy every client shares its address.
  int64_t max_connections = 4096;
  int64_t max_connections_per_address = 512;
  // What one account or job may hold (0 = no cap). maxActiveJobs: an account's jobs not yet
  // finished (pending, running, restarting); maxSpecBytes: one job spec; jobLogBytes: one job's
  // stored log (the oldest lines go first, with a marker line); checkpointQuota: an account's
  // stored checkpoints, in all.
  int64_t max_active_jobs = 1000;
  int64_t max_spec_bytes = 64 << 10;
  int64_t job_log_bytes = 64 << 20;
  int64_t checkpoint_quota_bytes = int64_t{50} << 30;
  // The dataset registry (docs/registry.md). registryQuota: bytes of dataset and model versions
  // one account may own (0 = no cap); registryMasterKeyFile: the master key that wraps private
  // artifacts' data keys (32 raw bytes or 64 hex digits; e.g. a Kubernetes Secret). Without it,
  // private datasets are refused.
  int64_t registry_quota_bytes = int64_t{100} << 30;
  std::string registry_master_key_file;
  // registryUploadGrace: how long chunks that no version references are kept after they were
  // last stored or mentioned by a push (a push never finished); then the sweep removes them.
  int64_t registry_upload_grace_ms = int64_t{24} * 3600 * 1000;
  // How long a finished job's logs and metrics (logRetention) and checkpoints
  // (checkpointRetention; not those of spec.checkpoint.keepAfterEnd) are kept after it ends.
  int64_t log_retention_ms = 30 * 86400 * 1000LL;
  int64_t checkpoint_retention_ms = 3 * 86400 * 1000LL;
  // newWorkerRanksPerJob: a worker with fewer than 3 ranks of succeeded attempts behind it holds at
  // most this many ranks of any one job of another account (0 = no bound).
  int64_t new_worker_ranks_per_job = 1;
  // Audits of ranks' gradients (docs/audits.md). audits: off by default while they cost more than
  // the 5 % goal (bench/README.md "audits"); cpu and cuda jobs. auditInitialRate /
  // auditDecay / auditMinRate / auditScreenZ / auditScreenMinDeviation: the trust policy
  // (scheduler/audit/trust.h). allowTestFaults: let workers with
  // fault injection (--test-cheat) register; for tests only.
  bool audits = false;
  double audit_initial_rate = 0.1;
  double audit_decay = 0.9;
  double audit_min_rate = 0.02;
  double audit_screen_z = 3.5;
  double audit_screen_min_deviation = 0.6;
  bool allow_test_faults = false;
  // gpuSpeeds: "H100=2.6,A100=1,...", relative speeds per GPU type that seed heterogeneity-aware
  // placement (scheduler/gpu_speeds.h); "" = type-blind placement.
  std::string gpu_speeds;
  // visibility (a table in the file: metricsNames, workers, jobs, accounts; --visibility-*): what
  // callers see of other accounts. Defaults: names only to their owners and admins.
  Visibility visibility;

  bool operator==(const SchedulerConfig&) const = default;
};

// One setting: its key in scheduler.yaml and its flag, defined once for the file, the flags and
// --help. `default_text` parses (as the key's value) to SchedulerConfig{}'s value; a test keeps
// the two in step.
struct SchedulerSetting {
  const char* key;           // "workerTimeout"
  const char* flag;          // "--worker-timeout"
  const char* value_name;    // "DURATION", shown in --help
  const char* default_text;  // "15s"; "" for none
  const char* help;
};
// Every setting, in --help order.
const std::vector<SchedulerSetting>& SchedulerSettings();

// Applies the YAML file at `path` on top of `config`. Unknown keys and bad values are
// InvalidArgument naming the file, line and key.
Status LoadSchedulerConfigFile(const std::string& path, SchedulerConfig* config);

// Sets one setting from its textual value, as the file and the flags give it. InvalidArgument
// for an unknown key (with a suggestion) or a bad value.
Status SetSchedulerSetting(const std::string& key, const std::string& value,
                           SchedulerConfig* config);

// Parses the command line (args without argv[0]; see common/flags.h) into *config: first the
// YAML file named by --config, then every flag given, so that flags override the file wherever
// they stand. Sets *check_only for --check-config. Returns std::nullopt when the scheduler should
// go on; otherwise the exit code main returns, after printing --help or --version to `out` (0) or
// the error to `err` (2: a bad flag or value, or a bad --config file).
std::optional<int> ParseSchedulerFlags(std::vector<std::string> args, SchedulerConfig* config,
                                       bool* check_only, std::ostream& out, std::ostream& err);

// The trust policy of audits the config sets.
audit::TrustPolicy TrustPolicyOf(const SchedulerConfig& config);

// Checks cross-field rules (heartbeat wait well under the worker timeout, ranges).
Status ValidateSchedulerConfig(const SchedulerConfig& config);

}  // namespace shoal
