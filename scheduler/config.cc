#include "scheduler/config.h"

#include "common/job_spec.h"  // IsDnsLabel

#include "scheduler/policy/policy.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstring>

namespace shoal {

const char kSchedulerUsage[] = R"(usage: shoal-scheduler [flags]

  --config FILE           YAML configuration (see configs/scheduler.yaml); flags override it
  --address ADDR          listen address (default 127.0.0.1)
  --port N                listen port (default 8470; 0 = ephemeral, written to STATE_DIR/scheduler.addr)
  --state-dir DIR         where the SQLite database lives (default ./shoal-state)
  --worker-timeout DUR    a worker silent this long is lost (default 15s)
  --heartbeat-wait DUR    longest heartbeat long-poll (default 5s)
  --schedule-interval DUR periodic scheduling cycle (default 1s)
  --max-body-bytes N      larger request bodies get 413 (default 1048576)
  --policy NAME           fifo|priority|fairshare[+backfill][+preempt][+elastic] (default fifo)
  --fair-share-half-life DUR       decay of the contribution ledger (default 7d)
  --preempt-min-runtime DUR        +preempt spares jobs younger than this (default 10m)
  --resize-min-interval DUR        +elastic grows jobs older than this (default 10m)
  --admin-token-file FILE on the first start, use the token in FILE as the admin token instead
                          of printing a new one (e.g. a Kubernetes Secret)
  --worker-token-file FILE  on the first start, also make the token in FILE a contributor token
                          of --worker-account (default "cluster"), for pre-provisioned workers
  --worker-account NAME   the account of --worker-token-file's token
  --tls-cert FILE         PEM certificate (chain) for HTTPS; needs --tls-key
  --tls-key FILE          PEM private key for HTTPS
  --check-config          validate the configuration and exit (0 ok, 2 bad)
  --help                  this text
Durations: 500ms, 15s, 2m, 1h, 7d, or a number of seconds.
)";

Result<int64_t> ParseDurationMs(const std::string& text) {
  struct Unit {
    const char* suffix;
    double ms;
  };
  static const Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  std::string number = text;
  double scale = 1000;
  for (const Unit& u : kUnits) {
    size_t n = std::strlen(u.suffix);
    if (text.size() > n && text.compare(text.size() - n, n, u.suffix) == 0 &&
        (std::isdigit(static_cast<unsigned char>(text[text.size() - n - 1])) ||
         text[text.size() - n - 1] == '.')) {
      number = text.substr(0, text.size() - n);
      scale = u.ms;
      break;
    }
  }
  double value = 0;
  auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || p != number.data() + number.size() || !std::isfinite(value) ||
      value < 0 || value * scale > 365.0 * 86400 * 1000) {
    return InvalidArgument("bad duration \"" + text + "\" (e.g. 500ms, 15s, 2m, 1h, 7d)");
  }
  return static_cast<int64_t>(value * scale);
}

namespace {

Result<int64_t> ParseInt64(const std::string& s, const std::string& what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return InvalidArgument(what + ": expected an integer, found \"" + s + "\"");
  }
  return v;
}

// Sets one configuration key from its textual value; shared by the file and the flags.
Status SetKey(const std::string& key, const std::string& value, SchedulerConfig* c) {
  if (key == "address") {
    c->address = value;
  } else if (key == "port") {
    ASSIGN_OR_RETURN(int64_t port, ParseInt64(value, key));
    if (port < 0 || port > 65535) return InvalidArgument("port must be in 0..65535");
    c->port = static_cast<int>(port);
  } else if (key == "stateDir") {
    c->state_dir = value;
  } else if (key == "workerTimeout") {
    ASSIGN_OR_RETURN(c->worker_timeout_ms, ParseDurationMs(value));
  } else if (key == "heartbeatWait") {
    ASSIGN_OR_RETURN(c->heartbeat_wait_ms, ParseDurationMs(value));
  } else if (key == "scheduleInterval") {
    ASSIGN_OR_RETURN(c->schedule_interval_ms, ParseDurationMs(value));
  } else if (key == "maxBodyBytes") {
    ASSIGN_OR_RETURN(c->max_body_bytes, ParseInt64(value, key));
  } else if (key == "policy") {
    c->policy = value;
  } else if (key == "preemptMinRuntime") {
    ASSIGN_OR_RETURN(c->preempt_min_runtime_ms, ParseDurationMs(value));
  } else if (key == "resizeMinInterval") {
    ASSIGN_OR_RETURN(c->resize_min_interval_ms, ParseDurationMs(value));
  } else if (key == "fairShareHalfLife") {
    ASSIGN_OR_RETURN(c->fair_share_half_life_ms, ParseDurationMs(value));
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
    return InvalidArgument("unknown key \"" + key +
                           "\"; allowed: address, port, stateDir, workerTimeout, heartbeatWait, "
                           "scheduleInterval, maxBodyBytes, policy, fairShareHalfLife, "
                           "preemptMinRuntime, resizeMinInterval, adminTokenFile, workerTokenFile, workerAccount, "
                           "tlsCert, tlsKey, queues");
  }
  return Status::Ok();
}

}  // namespace

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
  for (const auto& kv : root) {
    std::string where = path + ":" + std::to_string(kv.first.Mark().line + 1) + ":" +
                        std::to_string(kv.first.Mark().column + 1);
    std::string key = kv.first.as<std::string>("");
    std::string value;
    if (key == "queues" && kv.second.IsSequence()) {
      for (const auto& q : kv.second) {
        if (!q.IsScalar()) return InvalidArgument(where + ": queues: expected a list of names");
        value += (value.empty() ? "" : ",") + q.Scalar();
      }
    } else if (!kv.second.IsScalar()) {
      return InvalidArgument(where + ": " + key + ": expected a scalar");
    } else {
      value = kv.second.Scalar();
    }
    Status st = SetKey(key, value, config);
    if (!st.ok()) return InvalidArgument(where + ": " + key + ": " + st.message());
  }
  return Status::Ok();
}

Status ParseSchedulerFlags(int argc, char** argv, SchedulerConfig* config, bool* check_only,
                           bool* show_help) {
  static const std::pair<const char*, const char*> kFlags[] = {
      {"--address", "address"},
      {"--port", "port"},
      {"--state-dir", "stateDir"},
      {"--worker-timeout", "workerTimeout"},
      {"--heartbeat-wait", "heartbeatWait"},
      {"--schedule-interval", "scheduleInterval"},
      {"--max-body-bytes", "maxBodyBytes"},
      {"--policy", "policy"},
      {"--fair-share-half-life", "fairShareHalfLife"},
      {"--preempt-min-runtime", "preemptMinRuntime"},
      {"--resize-min-interval", "resizeMinInterval"},
      {"--admin-token-file", "adminTokenFile"},
      {"--worker-token-file", "workerTokenFile"},
      {"--worker-account", "workerAccount"},
      {"--tls-cert", "tlsCert"},
      {"--tls-key", "tlsKey"},
  };
  // The config file goes first so that flags override it wherever they appear.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0) {
      if (i + 1 >= argc) return InvalidArgument("--config needs a file");
      RETURN_IF_ERROR(LoadSchedulerConfigFile(argv[i + 1], config));
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--check-config") {
      *check_only = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      *show_help = true;
      continue;
    }
    std::string value;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else {
      if (i + 1 >= argc) return InvalidArgument(arg + " needs a value");
      value = argv[++i];
    }
    if (arg == "--config") continue;
    const char* key = nullptr;
    for (const auto& [flag, k] : kFlags) {
      if (arg == flag) key = k;
    }
    if (key == nullptr) return InvalidArgument("unknown flag " + arg + " (see --help)");
    Status st = SetKey(key, value, config);
    if (!st.ok()) return InvalidArgument(arg + ": " + st.message());
  }
  return Status::Ok();
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
  return Status::Ok();
}

}  // namespace shoal
