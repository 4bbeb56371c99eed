#include "scheduler/config.h"

#include <yaml-cpp/yaml.h>

#include <cassert>
#include <cmath>
#include <ostream>
#include <stdexcept>

#include "common/byte_size.h"
#include "common/duration.h"
#include "common/flags.h"
#include "common/parse_number.h"
#include "common/spec/job_spec.h"  // IsDnsLabel
#include "common/version.h"
#include "scheduler/audit/trust.h"
#include "scheduler/gpu_speeds.h"
#include "scheduler/policy/policy.h"

namespace shoal {

const std::vector<SchedulerSetting>& SchedulerSettings() {
  static const std::vector<SchedulerSetting> kSettings = {
      {"address", "--address", "ADDR", "127.0.0.1", "listen address"},
      {"port", "--port", "N", "8470",
       "listen port; 0 = ephemeral, written to STATE_DIR/scheduler.addr"},
      {"stateDir", "--state-dir", "DIR", "./shoal-state", "where the SQLite database lives"},
      {"workerTimeout", "--worker-timeout", "DURATION", "15s", "a worker silent this long is lost"},
      {"heartbeatWait", "--heartbeat-wait", "DURATION", "5s", "longest heartbeat long-poll"},
      {"silentAfterEnd", "--silent-after-end", "DURATION", "3s",
       "a retry goes ahead without ranks of the failed attempt whose workers sent no heartbeat "
       "request this long after it ended (a machine that vanished); 0 = it waits until "
       "workerTimeout"},
      {"scheduleInterval", "--schedule-interval", "DURATION", "1s", "periodic scheduling cycle"},
      {"maxBodyBytes", "--max-body-bytes", "N", "1048576", "larger request bodies get 413"},
      {"policy", "--policy", "NAME", "fifo",
       "fifo|priority|fairshare, optionally +backfill, +preempt, +elastic"},
      {"fairShareHalfLife", "--fair-share-half-life", "DURATION", "7d",
       "decay of the contribution ledger"},
      {"ledgerHistoryInterval", "--ledger-history-interval", "DURATION", "1h",
       "how often a snapshot of the ledger is kept for the dashboard's chart (0 = never)"},
      {"ledgerHistoryRetention", "--ledger-history-retention", "DURATION", "400d",
       "ledger snapshots older than this are deleted (0 = kept forever; at most 10 years)"},
      {"preemptMinRuntime", "--preempt-min-runtime", "DURATION", "10m",
       "+preempt spares jobs younger than this"},
      {"preemptMaxPerJob", "--preempt-max-per-job", "N", "5",
       "+preempt spares jobs already preempted N times (0 = no bound): the tail guard"},
      {"preemptMaxUnsaved", "--preempt-max-unsaved", "DURATION", "0",
       "+preempt spares jobs whose last checkpoint is older than this (0 = no bound): the cost "
       "guard"},
      {"lasLevels", "--las-levels", "DURATIONS", "1h,10h,100h",
       "+las: the GPU time a job has received at which it moves down a level (ascending, "
       "comma-separated)"},
      {"lasStarveFactor", "--las-starve-factor", "X", "2",
       "+las: a job that has waited X times as long as it has run goes back to the first level"},
      {"youngDaly", "--young-daly", "BOOL", "false",
       "each new attempt checkpoints every sqrt(2 x its last checkpoint's write time x its "
       "workers' MTBF), 1m..1d, instead of the spec's everySeconds (volatile pools)"},
      {"workerMtbfPrior", "--worker-mtbf-prior", "DURATION", "7d",
       "a worker's MTBF before any failure is seen (weighs as one failure)"},
      {"resizeMinInterval", "--resize-min-interval", "DURATION", "10m",
       "+elastic grows jobs older than this"},
      {"adminTokenFile", "--admin-token-file", "FILE", "",
       "on the first start, use the token in FILE as the admin token instead of printing a new "
       "one (e.g. a Kubernetes Secret)"},
      {"workerTokenFile", "--worker-token-file", "FILE", "",
       "on the first start, also make the token in FILE a contributor token of --worker-account, "
       "for pre-provisioned workers"},
      {"workerAccount", "--worker-account", "NAME", "cluster",
       "the account of --worker-token-file's token"},
      {"tlsCert", "--tls-cert", "FILE", "", "PEM certificate (chain) for HTTPS; needs --tls-key"},
      {"tlsKey", "--tls-key", "FILE", "", "PEM private key for HTTPS"},
      {"uiDir", "--ui-dir", "DIR", "",
       "the dashboard's assets, served at /ui/ (default: ui/ beside the executable, else "
       "../share/shoal/ui from it)"},
      {"queues", "--queues", "LIST", "default",
       "comma-separated queue names a job's spec.queue may take (a list in scheduler.yaml)"},
      {"maxConnections", "--max-connections", "N", "4096",
       "open API connections at most (0 = no cap); one more is closed at once"},
      {"maxConnectionsPerAddress", "--max-connections-per-address", "N", "512",
       "open API connections from one client address at most (0 = no cap); raise it behind a "
       "proxy, where every client shares one address"},
      {"maxActiveJobs", "--max-active-jobs", "N", "1000",
       "jobs one account may have pending, running or restarting at once (0 = no cap)"},
      {"maxSpecBytes", "--max-spec-bytes", "SIZE", "64KiB",
       "largest job spec accepted (at most 1MiB)"},
      {"jobLogBytes", "--job-log-bytes", "SIZE", "64MiB",
       "log kept per job; past it the oldest lines are dropped, with a marker (0 = no cap)"},
      {"checkpointQuota", "--checkpoint-quota", "SIZE", "50GiB",
       "checkpoint bytes one account may store in all; an upload past it gets 507 (0 = no cap)"},
      {"registryQuota", "--registry-quota", "SIZE", "100GiB",
       "dataset and model bytes one account may own in the registry; a push past it gets 507 "
       "(0 = no cap)"},
      {"registryUploadGrace", "--registry-upload-grace", "DURATION", "24h",
       "chunks that no dataset or model version references (a push never finished) are removed "
       "this long after they were last stored or mentioned by a push"},
      {"registryMasterKeyFile", "--registry-master-key-file", "FILE", "",
       "the master key (32 raw bytes or 64 hex digits) wrapping private datasets' keys; without "
       "it, private datasets and models are refused"},
      {"logRetention", "--log-retention", "DURATION", "30d",
       "a finished job's logs and metrics are deleted this long after it ends"},
      {"checkpointRetention", "--checkpoint-retention", "DURATION", "3d",
       "a finished job's checkpoints are deleted this long after it ends, unless its spec says "
       "checkpoint.keepAfterEnd"},
      {"newWorkerRanksPerJob", "--new-worker-ranks-per-job", "N", "1",
       "ranks of any one job of another account that a worker without a history (3 ranks of "
       "succeeded attempts) may hold (0 = no bound)"},
      {"gpuSpeeds", "--gpu-speeds", "LIST", "",
       "heterogeneous pools: TYPE=SPEED,... relative GPU speeds that seed heterogeneity-aware "
       "placement, refined by jobs' measured samples/s per GPU type (docs/simulator.md); empty = "
       "type-blind"},
      {"audits", "--audits", "BOOL", "false",
       "audit ranks' gradients against each other (docs/audits.md); off by default: audited "
       "cuda ranks have not run on a GPU yet, and very small models pay more than 5 %"},
      {"auditInitialRate", "--audit-initial-rate", "RATE", "0.1",
       "a new worker's chance per step that a rank of it is audited, in (0, 1]"},
      {"auditDecay", "--audit-decay", "FACTOR", "0.9",
       "each clean audit multiplies a worker's rate by this, in (0, 1]"},
      {"auditMinRate", "--audit-min-rate", "RATE", "0.02",
       "the floor of a worker's audit rate, in (0, auditInitialRate]"},
      {"auditScreenZ", "--audit-screen-z", "Z", "3.5",
       "a rank whose gradient norm is a robust z-score outlier above this is audited at once"},
      {"auditScreenMinDeviation", "--audit-screen-min-deviation", "FRACTION", "0.6",
       "...if its norm is also at least this fraction of the ranks' median off that median"},
      {"allowTestFaults", "--allow-test-faults", "BOOL", "false",
       "let workers started with fault injection (--test-cheat) register; for tests only"},
      {"visibility.metricsNames", "--visibility-metrics-names", "BOOL", "false",
       "true: unauthenticated /metrics labels job series with job and account names and the "
       "ledger per account (false: job ids only, the ledger as a pool total)"},
      {"visibility.workers", "--visibility-workers", "owner|all", "owner",
       "owner: GET /v1/workers shows others' workers without name, host, account or their jobs; "
       "all: everything to every token"},
      {"visibility.jobs", "--visibility-jobs", "owner|exists", "owner",
       "owner: another account's job answers 404 like a missing one; exists: 403"},
      {"visibility.accounts", "--visibility-accounts", "owner|all", "owner",
       "owner: GET /v1/accounts (the ledger) shows a non-admin only its own account; all: every "
       "account"},
  };
  return kSettings;
}

namespace {

Result<int64_t> ParseInt64(const std::string& s, const std::string& what) {
  int64_t v = 0;
  if (!ParseInteger(s, &v)) {
    return InvalidArgument(what + ": expected an integer, found \"" + s + "\"");
  }
  return v;
}

Result<bool> ParseBool(const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return InvalidArgument("expected true or false, found \"" + value.substr(0, 40) + "\"");
}

// A finite number; the range is the caller's to check.
Result<double> ParseDouble(const std::string& value, const std::string& what) {
  double v = 0;
  size_t used = 0;
  try {
    v = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (value.empty() || used != value.size() || !std::isfinite(v)) {
    return InvalidArgument(what + ": expected a number, found \"" + value.substr(0, 40) + "\"");
  }
  return v;
}

// A config duration in ms: common's grammar, up to a year (anything longer is a typo), with the
// config's own message.
Result<int64_t> ParseConfigDuration(const std::string& text) {
  Result<int64_t> ms = ParseDurationMs(text);
  if (!ms.ok() || *ms > int64_t{365} * 86400 * 1000) {
    return InvalidArgument("bad duration \"" + text + "\" (e.g. 500ms, 15s, 2m, 1h30m, 7d)");
  }
  return ms;
}

}  // namespace

Status SetSchedulerSetting(const std::string& key, const std::string& value, SchedulerConfig* c) {
  if (key == "address") {
    c->address = value;
  } else if (key == "port") {
    ASSIGN_OR_RETURN(int64_t port, ParseInt64(value, key));
    if (port < 0 || port > 65535) return InvalidArgument("port must be in 0..65535");
    c->port = static_cast<int>(port);
  } else if (key == "stateDir") {
    c->state_dir = value;
  } else if (key == "workerTimeout") {
    ASSIGN_OR_RETURN(c->worker_timeout_ms, ParseConfigDuration(value));
  } else if (key == "heartbeatWait") {
    ASSIGN_OR_RETURN(c->heartbeat_wait_ms, ParseConfigDuration(value));
  } else if (key == "silentAfterEnd") {
    ASSIGN_OR_RETURN(c->silent_after_end_ms, ParseConfigDuration(value));
  } else if (key == "scheduleInterval") {
    ASSIGN_OR_RETURN(c->schedule_interval_ms, ParseConfigDuration(value));
  } else if (key == "maxBodyBytes") {
    ASSIGN_OR_RETURN(c->max_body_bytes, ParseInt64(value, key));
  } else if (key == "policy") {
    c->policy = value;
  } else if (key == "preemptMinRuntime") {
    ASSIGN_OR_RETURN(c->preempt_min_runtime_ms, ParseConfigDuration(value));
  } else if (key == "preemptMaxPerJob") {
    ASSIGN_OR_RETURN(int64_t n, ParseInt64(value, key));
    if (n < 0 || n > 1000000) return InvalidArgument(key + " must be in 0..1000000");
    c->preempt_max_per_job = static_cast<int>(n);
  } else if (key == "preemptMaxUnsaved") {
    ASSIGN_OR_RETURN(c->preempt_max_unsaved_ms, ParseConfigDuration(value));
  } else if (key == "lasLevels") {
    // GPU time, so a duration each: "1h" is one GPU-hour, however many GPUs gave it.
    std::vector<double> levels;
    for (size_t begin = 0; begin <= value.size();) {
      const size_t comma = std::min(value.find(',', begin), value.size());
      ASSIGN_OR_RETURN(int64_t ms, ParseConfigDuration(value.substr(begin, comma - begin)));
      if (ms <= 0 || (!levels.empty() && ms / 1000.0 <= levels.back())) {
        return InvalidArgument(key + " must be one or more GPU times above 0, ascending");
      }
      if (levels.size() == 8) return InvalidArgument(key + " takes at most 8 levels");
      levels.push_back(static_cast<double>(ms) / 1000.0);
      begin = comma + 1;
    }
    c->las_levels_gpu_s = std::move(levels);
  } else if (key == "lasStarveFactor") {
    ASSIGN_OR_RETURN(double f, ParseDouble(value, key));
    if (!(f > 0 && f <= 1000)) return InvalidArgument(key + " must be in (0, 1000]");
    c->las_starve_factor = f;
  } else if (key == "youngDaly") {
    ASSIGN_OR_RETURN(c->young_daly, ParseBool(value));
  } else if (key == "workerMtbfPrior") {
    ASSIGN_OR_RETURN(c->worker_mtbf_prior_ms, ParseConfigDuration(value));
    if (c->worker_mtbf_prior_ms < 60'000) return InvalidArgument(key + " must be at least 1m");
  } else if (key == "resizeMinInterval") {
    ASSIGN_OR_RETURN(c->resize_min_interval_ms, ParseConfigDuration(value));
  } else if (key == "fairShareHalfLife") {
    ASSIGN_OR_RETURN(c->fair_share_half_life_ms, ParseConfigDuration(value));
  } else if (key == "ledgerHistoryInterval") {
    ASSIGN_OR_RETURN(c->ledger_history_interval_ms, ParseConfigDuration(value));
    if (c->ledger_history_interval_ms != 0 && c->ledger_history_interval_ms < 1000) {
      return InvalidArgument(key + " must be 0 (never) or at least 1s");
    }
  } else if (key == "ledgerHistoryRetention") {
    // Past the year other durations stop at: a year-on-year comparison needs a little more.
    Result<int64_t> ms = ParseDurationMs(value);
    if (!ms.ok() || *ms > int64_t{3650} * 86400 * 1000) {
      return InvalidArgument("bad duration \"" + value + "\" (e.g. 90d, 400d; at most 3650d)");
    }
    c->ledger_history_retention_ms = *ms;
  } else if (key == "adminTokenFile") {
    c->admin_token_file = value;
  } else if (key == "workerTokenFile") {
    c->worker_token_file = value;
  } else if (key == "workerAccount") {
    c->worker_account = value;
  } else if (key == "tlsCert") {
    c->tls_cert_file = value;
  } else if (key == "tlsKey") {
    c->tls_key_file = value;
  } else if (key == "uiDir") {
    c->ui_dir = value;
  } else if (key == "maxConnections" || key == "maxConnectionsPerAddress") {
    ASSIGN_OR_RETURN(int64_t n, ParseInt64(value, key));
    if (n < 0 || n > 1'000'000) return InvalidArgument(key + " must be in 0..1000000");
    (key == "maxConnections" ? c->max_connections : c->max_connections_per_address) = n;
  } else if (key == "maxActiveJobs") {
    ASSIGN_OR_RETURN(c->max_active_jobs, ParseInt64(value, key));
    if (c->max_active_jobs < 0) return InvalidArgument(key + " must be >= 0");
  } else if (key == "maxSpecBytes") {
    ASSIGN_OR_RETURN(c->max_spec_bytes, ParseByteSize(value));
    if (c->max_spec_bytes < 1024 || c->max_spec_bytes > (1 << 20)) {
      return InvalidArgument(key + " must be in 1KiB..1MiB");
    }
  } else if (key == "jobLogBytes") {
    ASSIGN_OR_RETURN(c->job_log_bytes, ParseByteSize(value));
    if (c->job_log_bytes != 0 && c->job_log_bytes < (64 << 10)) {
      return InvalidArgument(key + " must be 0 (no cap) or at least 64KiB");
    }
  } else if (key == "checkpointQuota") {
    ASSIGN_OR_RETURN(c->checkpoint_quota_bytes, ParseByteSize(value));
  } else if (key == "registryQuota") {
    ASSIGN_OR_RETURN(c->registry_quota_bytes, ParseByteSize(value));
  } else if (key == "registryUploadGrace") {
    ASSIGN_OR_RETURN(c->registry_upload_grace_ms, ParseConfigDuration(value));
    if (c->registry_upload_grace_ms < 1000) return InvalidArgument(key + " must be at least 1s");
  } else if (key == "registryMasterKeyFile") {
    c->registry_master_key_file = value;
  } else if (key == "newWorkerRanksPerJob") {
    ASSIGN_OR_RETURN(c->new_worker_ranks_per_job, ParseInt64(value, key));
    if (c->new_worker_ranks_per_job < 0 || c->new_worker_ranks_per_job > 4096) {
      return InvalidArgument(key + " must be in 0..4096");
    }
  } else if (key == "logRetention") {
    ASSIGN_OR_RETURN(c->log_retention_ms, ParseConfigDuration(value));
  } else if (key == "checkpointRetention") {
    ASSIGN_OR_RETURN(c->checkpoint_retention_ms, ParseConfigDuration(value));
  } else if (key == "audits") {
    ASSIGN_OR_RETURN(c->audits, ParseBool(value));
  } else if (key == "gpuSpeeds") {
    RETURN_IF_ERROR(ParseGpuSpeeds(value).status());
    c->gpu_speeds = value;
  } else if (key == "allowTestFaults") {
    ASSIGN_OR_RETURN(c->allow_test_faults, ParseBool(value));
  } else if (key == "auditInitialRate" || key == "auditDecay" || key == "auditMinRate") {
    ASSIGN_OR_RETURN(double v, ParseDouble(value, key));
    if (!(v > 0 && v <= 1)) return InvalidArgument(key + " must be in (0, 1]");
    (key == "auditInitialRate" ? c->audit_initial_rate
     : key == "auditDecay"     ? c->audit_decay
                               : c->audit_min_rate) = v;
  } else if (key == "auditScreenZ") {
    ASSIGN_OR_RETURN(double z, ParseDouble(value, key));
    if (z <= 0) return InvalidArgument(key + " must be above 0");
    c->audit_screen_z = z;  // only once valid: a refused value changes nothing
  } else if (key == "auditScreenMinDeviation") {
    ASSIGN_OR_RETURN(double d, ParseDouble(value, key));
    if (d < 0) return InvalidArgument(key + " must be >= 0");
    c->audit_screen_min_deviation = d;
  } else if (key == "visibility.metricsNames") {
    ASSIGN_OR_RETURN(c->visibility.metrics_names, ParseBool(value));
  } else if (key == "visibility.workers") {
    ASSIGN_OR_RETURN(c->visibility.workers, ParseWorkersVisibility(value));
  } else if (key == "visibility.jobs") {
    ASSIGN_OR_RETURN(c->visibility.jobs, ParseJobsVisibility(value));
  } else if (key == "visibility.accounts") {
    ASSIGN_OR_RETURN(c->visibility.accounts, ParseAccountsVisibility(value));
  } else if (key == "queues") {
    c->queues.clear();
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      std::string q = value.substr(start, end - start);
      if (!IsDnsLabel(q)) {
        return InvalidArgument("queue names are DNS labels (a-z, 0-9, '-'), found \"" + q + "\"");
      }
      c->queues.push_back(q);
      start = end + 1;
    }
  } else {
    std::vector<std::string> keys;
    std::string allowed;
    for (const SchedulerSetting& setting : SchedulerSettings()) {
      keys.push_back(setting.key);
      allowed += (allowed.empty() ? "" : ", ") + keys.back();
    }
    std::string best = flags::Suggest(key, keys);
    return InvalidArgument("unknown key \"" + key + "\"" +
                           (best.empty() ? "" : " (did you mean " + best + "?)") +
                           "; allowed: " + allowed);
  }
  return Status::Ok();
}

Status LoadSchedulerConfigFile(const std::string& path, SchedulerConfig* config) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return NotFound("cannot read config file " + path);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return InvalidArgument(path + ": expected a mapping of settings");
  // (key node, value node, full key): a table (visibility) is its keys with the table's name in
  // front, as the flags and SetSchedulerSetting name them (visibility.workers).
  struct Entry {
    YAML::Node key_node, value;
    std::string key;
  };
  std::vector<Entry> entries;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>("");
    if (key == "visibility" && kv.second.IsMap()) {
      for (const auto& sub : kv.second) {
        entries.push_back({sub.first, sub.second, key + "." + sub.first.as<std::string>("")});
      }
    } else {
      entries.push_back({kv.first, kv.second, key});
    }
  }
  for (const Entry& e : entries) {
    const std::string& key = e.key;
    std::string where = path + ":" + std::to_string(e.key_node.Mark().line + 1) + ":" +
                        std::to_string(e.key_node.Mark().column + 1);
    std::string value;
    if (key == "queues" && e.value.IsSequence()) {
      for (const auto& q : e.value) {
        if (!q.IsScalar()) return InvalidArgument(where + ": queues: expected a list of names");
        value += (value.empty() ? "" : ",") + q.Scalar();
      }
    } else if (!e.value.IsScalar()) {
      return InvalidArgument(where + ": " + key + ": expected a scalar");
    } else {
      value = e.value.Scalar();
    }
    Status st = SetSchedulerSetting(key, value, config);
    if (!st.ok()) return InvalidArgument(where + ": " + key + ": " + st.message());
  }
  return Status::Ok();
}

std::optional<int> ParseSchedulerFlags(std::vector<std::string> args, SchedulerConfig* config,
                                       bool* check_only, std::ostream& out, std::ostream& err) {
  CLI::App app("shoal-scheduler: the central daemon of a shoal pool.");
  flags::Configure(app, "shoal-scheduler");
  app.footer(flags::Wrap(
      "Durations: 500ms, 15s, 2m, 1h, 7d, or a number of seconds. Every flag but --config and "
      "--check-config is also a key of the --config file (--worker-timeout is workerTimeout); "
      "flags override the file.\n\n" +
      VersionLine("shoal-scheduler")));
  std::string config_file;
  app.add_option("--config", config_file,
                 "YAML configuration (see configs/scheduler.yaml); flags override it")
      ->type_name("FILE");
  app.add_flag("--check-config", *check_only, "validate the configuration and exit (0 ok, 2 bad)");
  // Values are kept as text here and applied after the file; each is checked as it is parsed so
  // that a bad one is reported like any other flag error.
  const std::vector<SchedulerSetting>& settings = SchedulerSettings();
  std::vector<std::string> values(settings.size());
  std::vector<CLI::Option*> options;
  for (size_t i = 0; i < settings.size(); ++i) {
    const SchedulerSetting& s = settings[i];
    std::string key = s.key;
    options.push_back(app.add_option(s.flag, values[i], s.help)
                          ->type_name(s.value_name)
                          ->default_str(s.default_text)
                          ->check(CLI::Validator(
                              [key](std::string& value) {
                                SchedulerConfig scratch;
                                Status st = SetSchedulerSetting(key, value, &scratch);
                                if (st.ok()) return std::string();
                                // The flag is named by the caller; "port: ..." would name it twice.
                                const std::string& m = st.message();
                                return m.rfind(key + ": ", 0) == 0 ? m.substr(key.size() + 2) : m;
                              },
                              "")));
  }
  if (std::optional<int> code = flags::Parse(app, std::move(args), out, err)) return code;
  if (!config_file.empty()) {
    Status st = LoadSchedulerConfigFile(config_file, config);
    if (!st.ok()) {
      err << "shoal-scheduler: " << st.message() << std::endl;
      return flags::kUsageExitCode;
    }
  }
  for (size_t i = 0; i < settings.size(); ++i) {
    if (options[i]->count() == 0) continue;
    Status st = SetSchedulerSetting(settings[i].key, values[i], config);
    assert(st.ok() && "checked while parsing");
    (void)st;
  }
  return std::nullopt;
}

audit::TrustPolicy TrustPolicyOf(const SchedulerConfig& c) {
  return {c.audit_initial_rate, c.audit_decay, c.audit_min_rate, c.audit_screen_z,
          c.audit_screen_min_deviation};
}

Status ValidateSchedulerConfig(const SchedulerConfig& c) {
  if (c.fair_share_half_life_ms < 60'000) {
    return InvalidArgument("fairShareHalfLife must be at least 1m");
  }
  if (auto p = ParsePolicyName(c.policy); !p.ok()) {
    return InvalidArgument("policy: " + p.status().message());
  }
  if (c.state_dir.empty()) return InvalidArgument("stateDir must not be empty");
  if (!IsDnsLabel(c.worker_account)) {
    return InvalidArgument("workerAccount must be a DNS label (a-z, 0-9, '-'), got \"" +
                           c.worker_account + "\"");
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return InvalidArgument("tlsCert and tlsKey go together: give both or neither");
  }
  if (c.worker_timeout_ms < 1000) return InvalidArgument("workerTimeout must be at least 1s");
  if (c.heartbeat_wait_ms * 2 > c.worker_timeout_ms) {
    return InvalidArgument("heartbeatWait must be at most half of workerTimeout");
  }
  if (c.schedule_interval_ms < 10) return InvalidArgument("scheduleInterval must be >= 10ms");
  if (c.max_body_bytes < 1024 || c.max_body_bytes > (256 << 20)) {
    return InvalidArgument("maxBodyBytes must be in 1024..268435456");
  }
  // Also when audits are off: a bad policy should not wait for the day they are turned on.
  return audit::ValidateTrustPolicy(TrustPolicyOf(c));
}

}  // namespace shoal
