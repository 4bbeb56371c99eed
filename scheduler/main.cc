// shoal-scheduler: the central daemon (docs/design.md §2). See --help.
#include <unistd.h>

#include <utility>  // before Boost 1.74 asio coroutine headers, which use std::exchange unincluded

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/log.h"
#include "scheduler/api/api.h"
#include "scheduler/config.h"
#include "scheduler/gpu_speeds.h"
#include "scheduler/registry/registry.h"
#include "scheduler/state/state_dir_lock.h"

namespace asio = boost::asio;
using namespace shoal;

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Written atomically so that a reader never sees half an address.
Status WriteAddressFile(const std::string& dir, const std::string& url) {
  std::string tmp = dir + "/scheduler.addr.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << url << "\n";
    if (!out) return Unavailable("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), (dir + "/scheduler.addr").c_str()) != 0) {
    return Unavailable("cannot rename " + tmp);
  }
  return Status::Ok();
}

// Runs `tick` every `period` on `ioc` (waiting for each tick to finish) until the loop stops.
void RunEvery(asio::io_context& ioc, std::chrono::milliseconds period,
              std::function<asio::awaitable<void>()> tick) {
  asio::co_spawn(
      ioc,
      [&ioc, period, tick = std::move(tick)]() -> asio::awaitable<void> {
        asio::steady_timer timer(ioc);
        for (;;) {
          timer.expires_after(period);
          boost::system::error_code ec;
          co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;
          co_await tick();
        }
      },
      asio::detached);
}

// The dashboard's assets: --ui-dir, else ui/ beside this executable (a build), else
// ../share/shoal/ui from it (an install). A scheduler without them still serves the API; /ui/
// then says why there is no dashboard.
Api::UiOptions LoadUi(const SchedulerConfig& config) {
  Api::UiOptions ui;
  ui.secure_cookies = !config.tls_cert_file.empty();
  std::vector<std::string> dirs;
  if (!config.ui_dir.empty()) {
    dirs.push_back(config.ui_dir);
  } else {
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      dirs.push_back((exe.parent_path() / "ui").string());
      dirs.push_back((exe.parent_path() / ".." / "share" / "shoal" / "ui").string());
    }
  }
  for (const std::string& dir : dirs) {
    auto files = StaticFiles::Load(dir);
    if (files.ok()) {
      LOG_INFO << "dashboard at /ui/: " << files->size() << " files from " << dir;
      ui.files = std::move(*files);
      return ui;
    }
    ui.missing += (ui.missing.empty() ? "" : "; ") + files.status().message();
  }
  if (ui.missing.empty()) ui.missing = "no dashboard directory";
  LOG_WARN << "no dashboard: " << ui.missing << " (--ui-dir)";
  return ui;
}

}  // namespace

int main(int argc, char** argv) {
  SetLogComponent("scheduler");
  SchedulerConfig config;
  bool check_only = false;
  if (std::optional<int> code = ParseSchedulerFlags(std::vector<std::string>(argv + 1, argv + argc),
                                                    &config, &check_only, std::cout, std::cerr)) {
    return *code;
  }
  Status st = ValidateSchedulerConfig(config);
  if (!st.ok()) {
    std::fprintf(stderr, "shoal-scheduler: %s\n", st.message().c_str());
    return 2;
  }
  if (check_only) {
    std::printf("configuration ok\n");
    return 0;
  }

  // Before anything reads the state: a second scheduler on this dir stops here.
  auto state_lock = StateDirLock::Acquire(config.state_dir);
  if (!state_lock.ok()) {
    std::fprintf(stderr, "shoal-scheduler: %s\n", state_lock.status().message().c_str());
    return 1;
  }
  auto store = Store::Open(config.state_dir);
  if (!store.ok()) {
    LOG_ERROR << store.status().ToString();
    return 1;
  }
  SchedulerOptions options;
  options.worker_timeout_ms = config.worker_timeout_ms;
  options.young_daly = config.young_daly;
  options.worker_mtbf_prior_ms = config.worker_mtbf_prior_ms;
  options.heartbeat_wait_ms = config.heartbeat_wait_ms;
  options.silent_after_end_ms = config.silent_after_end_ms;
  options.policy = *ParsePolicyName(config.policy);  // validated with the config
  options.policy.preempt_min_runtime_ms = config.preempt_min_runtime_ms;
  options.policy.preempt_max_per_job = config.preempt_max_per_job;
  options.policy.preempt_max_unsaved_ms = config.preempt_max_unsaved_ms;
  options.policy.las_thresholds_gpu_s = config.las_levels_gpu_s;
  options.policy.las_starve_factor = config.las_starve_factor;
  options.policy.resize_min_interval_ms = config.resize_min_interval_ms;
  options.fair_share_half_life_s = static_cast<double>(config.fair_share_half_life_ms) / 1000.0;
  options.ledger_history_interval_ms = config.ledger_history_interval_ms;
  options.ledger_history_retention_ms = config.ledger_history_retention_ms;
  options.queues = config.queues;
  options.quotas.max_active_jobs = config.max_active_jobs;
  options.quotas.max_spec_bytes = config.max_spec_bytes;
  options.quotas.job_log_bytes = config.job_log_bytes;
  options.quotas.checkpoint_quota_bytes = config.checkpoint_quota_bytes;
  options.quotas.log_retention_ms = config.log_retention_ms;
  options.quotas.checkpoint_retention_ms = config.checkpoint_retention_ms;
  options.new_worker_ranks_per_job = static_cast<int>(config.new_worker_ranks_per_job);
  options.audits = config.audits;
  options.trust = TrustPolicyOf(config);  // validated with the config
  options.allow_test_faults = config.allow_test_faults;
  options.gpu_speeds = *ParseGpuSpeeds(config.gpu_speeds);  // validated with the config
  auto scheduler = Scheduler::Open(store->get(), options, WallMs);
  if (!scheduler.ok()) {
    LOG_ERROR << scheduler.status().ToString();
    return 1;
  }

  auto auth = Auth::Load(store->get(), WallMs);
  if (!auth.ok()) {
    LOG_ERROR << auth.status().ToString();
    return 1;
  }
  // The first start's tokens from files ("" = none given); false after printing why not.
  auto read_token = [](const char* flag, const std::string& path, std::string* out) {
    if (path.empty()) return true;
    auto text = ReadTokenFile(path);
    if (!text.ok()) {
      std::fprintf(stderr, "shoal-scheduler: %s: %s\n", flag, text.status().message().c_str());
      return false;
    }
    *out = *text;
    return true;
  };
  std::string provided_token, worker_token;
  if (!read_token("--admin-token-file", config.admin_token_file, &provided_token) ||
      !read_token("--worker-token-file", config.worker_token_file, &worker_token)) {
    return 2;
  }
  auto admin_token = (*auth)->Bootstrap(provided_token, worker_token, config.worker_account);
  if (!admin_token.ok()) {
    std::fprintf(stderr, "shoal-scheduler: %s\n", admin_token.status().message().c_str());
    return 2;
  }
  if (!admin_token->empty() && provided_token.empty()) {
    // The only time this token is shown: only its hash is stored.
    std::fprintf(stderr,
                 "shoal-scheduler: first start: created the admin token (shown only this once, "
                 "store it safely):\n\n  %s\n\n  export SHOAL_TOKEN=<that token>; then e.g. "
                 "shoal accounts create alice && shoal tokens create alice --role user\n\n",
                 admin_token->c_str());
  } else if (!admin_token->empty()) {
    LOG_INFO << "first start: the admin token is the one in " << config.admin_token_file;
  }

  asio::io_context ioc(1);
  Notifier notifier;
  RendezvousKv kv;
  (*scheduler)->SetOnChange([&] { notifier.NotifyAll(); });
  // Requests that arrive together share one scheduling pass (run after the handlers queued now).
  (*scheduler)->SetSchedulePoster([&] {
    asio::post(ioc, [&] { (*scheduler)->RunPendingSchedule(); });
  });
  auto checkpoints = CheckpointStore::Open(config.state_dir + "/checkpoints");
  if (!checkpoints.ok()) {
    LOG_ERROR << checkpoints.status().ToString();
    return 1;
  }
  // Before the Api, so that it outlives the Api's log thread.
  auto history_reader = Store::OpenReader(config.state_dir);
  if (!history_reader.ok()) {
    LOG_ERROR << history_reader.status().ToString();
    return 1;
  }
  RegistryOptions registry_options;
  registry_options.dir = config.state_dir + "/registry";
  registry_options.master_key_file = config.registry_master_key_file;
  registry_options.quota_bytes = config.registry_quota_bytes;
  registry_options.upload_grace_ms = config.registry_upload_grace_ms;
  auto registry = Registry::Open(registry_options);
  if (!registry.ok()) {
    LOG_ERROR << "registry: " << registry.status().ToString();
    return 1;
  }
  Api api(scheduler->get(), auth->get(), &kv, &notifier);
  api.SetCheckpointStore(checkpoints->get());
  api.SetRegistry(registry->get());
  api.SetHistoryReader(history_reader->get());
  api.SetVisibility(config.visibility);
  api.SetUi(LoadUi(config));
  HttpServerOptions http;
  http.address = config.address;
  http.port = static_cast<uint16_t>(config.port);
  http.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  http.max_connections = static_cast<size_t>(config.max_connections);
  http.max_connections_per_address = static_cast<size_t>(config.max_connections_per_address);
  http.body_policy = [&](const HttpRequest& head) {
    return api.BodyPolicyFor(head, http.max_body_bytes, http.read_timeout);
  };
  if (!config.tls_cert_file.empty()) {
    http.tls = TlsServerOptions{config.tls_cert_file, config.tls_key_file};
  }
  HttpServer server(ioc, http, [&](HttpRequest req) { return api.Handle(std::move(req)); });
  st = server.Start();
  if (!st.ok()) {
    LOG_ERROR << st.ToString();
    return 1;
  }
  const std::string url = std::string(server.tls() ? "https://" : "http://") + config.address +
                          ":" + std::to_string(server.port());
  st = WriteAddressFile(config.state_dir, url);
  if (!st.ok()) LOG_WARN << st.ToString();
  LOG_INFO << "listening on " << url << " (state " << config.state_dir << ", worker timeout "
           << config.worker_timeout_ms << " ms)";

  // The periodic cycle finds lost workers and starts jobs that became placeable.
  RunEvery(ioc, std::chrono::milliseconds(config.schedule_interval_ms),
           [&]() -> asio::awaitable<void> {
             (*scheduler)->RunCycle();
             api.ExpireCheckpoints();
             co_return;
           });
  // Registry upkeep, off the scheduling cycle: the models that jobs publish when they succeed
  // (spec.output.model), and collecting the chunks of pushes that never finished.
  RunEvery(ioc, std::chrono::seconds(1), [&]() -> asio::awaitable<void> {
    co_await api.PublishOutputs();
    co_await api.SweepRegistry();
  });
  // Tokens' last-used times are kept in memory as requests authenticate; this timer stores them,
  // each at most about once a minute (Auth::PersistLastUsed), and shutdown stores the rest.
  RunEvery(ioc, std::chrono::seconds(10), [&]() -> asio::awaitable<void> {
    if (auto n = (*auth)->PersistLastUsed(); !n.ok()) {
      LOG_WARN << "storing tokens' last-used times: " << n.status().ToString();
    }
    co_return;
  });

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    LOG_INFO << "signal " << sig << ": shutting down";
    server.Stop();
    ioc.stop();
  });
  ioc.run();
  if (auto n = (*auth)->PersistLastUsed(/*all=*/true); !n.ok()) {
    LOG_WARN << "storing tokens' last-used times: " << n.status().ToString();
  }
  LOG_INFO << "stopped";
  return 0;
}
