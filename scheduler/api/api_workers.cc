// The worker routes of the Api: registration, heartbeats (long-polls), events and the worker
// list (what each caller may see of others' workers).
// Part of the Api class (scheduler/api/api.h); the files share api_internal.h.
#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/version.h"
#include "common/wire/assignment.h"
#include "common/wire/cache_report.h"
#include "common/wire/gpu_samples.h"
#include "common/wire/worker_event.h"
#include "common/wire/worker_view.h"
#include "scheduler/api/api.h"
#include "scheduler/api/api_internal.h"

namespace shoal {

namespace asio = boost::asio;
using nlohmann::json;
using api_internal::Clock;
using api_internal::JsonReply;
using api_internal::MethodNotAllowed;
using api_internal::WaitParam;
using api_internal::ParseJsonBody;
using api_internal::RequireRole;
using api_internal::RequireWorkerOwner;
using api_internal::ToJson;

asio::awaitable<HttpReply> Api::Workers(const HttpRequest& req,
                                        const std::vector<std::string>& parts,
                                        const Principal& p) {
  if (parts.size() == 2) {
    if (req.method == "GET") co_return ListWorkers(p);
    co_return MethodNotAllowed(req);
  }
  if (parts.size() == 3 && parts[2] == "register") {
    if (req.method != "POST") co_return MethodNotAllowed(req);
    Status allowed = RequireRole(p, {Role::kAdmin, Role::kContributor}, "registering a worker");
    if (!allowed.ok()) co_return ErrorReply(allowed);
    co_return co_await Register(req, p);
  }
  if (parts.size() == 4 && parts[3] == "clear") {
    // Clearing a quarantine (docs/audits.md): an admin's decision, never the worker owner's.
    if (req.method != "POST") co_return MethodNotAllowed(req);
    Status allowed = RequireRole(p, {Role::kAdmin}, "clearing a worker's quarantine");
    if (!allowed.ok()) co_return ErrorReply(allowed);
    Status st = scheduler_->ClearQuarantine(parts[2]);
    if (!st.ok()) co_return ErrorReply(st);
    const auto jobs = scheduler_->ListJobs(std::nullopt, "");
    std::vector<bool> visible(jobs.size(), true);
    co_return JsonReply(200, WorkerJson(*scheduler_->FindWorker(parts[2]), p, jobs, visible));
  }
  if (parts.size() == 4 && req.method == "POST") {
    // Heartbeats and events: only as one's own worker.
    const Worker* w = scheduler_->FindWorker(parts[2]);
    if (w == nullptr) {
      co_return ErrorReply(404, "NotFound", "worker " + parts[2] + " is not registered");
    }
    Status allowed = RequireWorkerOwner(p, *w);
    if (!allowed.ok()) co_return ErrorReply(allowed);
  }
  if (parts.size() == 4 && req.method == "POST" && parts[3] == "heartbeat") {
    co_return co_await Heartbeat(req, parts[2]);
  }
  if (parts.size() == 4 && req.method == "POST" && parts[3] == "events") {
    auto body = ParseJsonBody(req);
    if (!body.ok()) co_return ErrorReply(body.status());
    if (!body->contains("events")) {
      co_return ErrorReply(400, "InvalidArgument", "body needs \"events\"", "events");
    }
    auto events = wire::WorkerEventsFromJson((*body)["events"]);
    if (!events.ok()) co_return ErrorReply(events.status(), "events");
    Status st = scheduler_->ApplyEvents(parts[2], *events);
    if (!st.ok()) co_return ErrorReply(st, "events");
    // Jobs that just ended no longer need their rendezvous keys.
    for (const auto& ev : *events) {
      const Job* job = scheduler_->FindJob(ev.job);
      if (job != nullptr && IsTerminal(job->state)) kv_->DropJob(job->id);
    }
    co_return JsonReply(200, json{{"accepted", events->size()}});
  }
  if (parts.size() == 3 && req.method == "GET") {
    const Worker* w = scheduler_->FindWorker(parts[2]);
    if (w == nullptr) co_return ErrorReply(404, "NotFound", "worker " + parts[2] + " not found");
    const auto jobs = scheduler_->ListJobs(std::nullopt, "");
    std::vector<bool> visible;
    for (const Job* job : jobs) visible.push_back(JobVisibleTo(p, *job));
    co_return JsonReply(200, WorkerJson(*w, p, jobs, visible));
  }
  co_return ErrorReply(404, "NotFound", "no route for " + req.method + " " + req.path);
}

asio::awaitable<HttpReply> Api::Register(const HttpRequest& req, const Principal& p) {
  auto body = ParseJsonBody(req);
  if (!body.ok()) co_return ErrorReply(body.status());
  WorkerRegistration reg;
  try {
    reg.name = body->value("name", "");
    reg.host = body->value("host", "");
    reg.instance = body->value("instance", "");
    reg.machine = body->value("machine", "");
    // A worker earns for its token's account; only an admin may register one for another.
    reg.account = body->value("account", p.account);
    if (reg.account != p.account && !p.admin()) {
      co_return ErrorReply(403, "PermissionDenied",
                           "this token registers workers for account \"" + p.account +
                               "\", not \"" + reg.account.substr(0, 80) + "\"",
                           "account");
    }
    // A worker built to cheat for tests of audits (shoal-worker --test-cheat) is only welcome
    // where the operator asked for it.
    if (body->contains("testFaults") && !scheduler_->options().allow_test_faults) {
      co_return ErrorReply(403, "PermissionDenied",
                           "this worker injects test faults (--test-cheat) and this scheduler "
                           "does not allow them (allowTestFaults)",
                           "testFaults");
    }
    reg.slots = body->value("slots", 1);
    reg.cpus = body->value("cpus", 0);
    // Memory admission (docs/design.md §9): absent from older agents = 0, unknown.
    reg.memory_total_bytes = body->value("memoryBytes", int64_t{0});
    reg.memory_lent_bytes = body->value("memoryLentBytes", int64_t{0});
    if (body->contains("gpus")) {
      if (!(*body)["gpus"].is_array() || (*body)["gpus"].size() > 64) {
        co_return ErrorReply(400, "InvalidArgument", "gpus must be an array of at most 64",
                             "gpus");
      }
      for (const auto& g : (*body)["gpus"]) {
        auto info = GpuInfoFromJson(g);
        if (!info.ok()) co_return ErrorReply(info.status(), "gpus");
        reg.gpus.push_back(*info);
      }
    }
  } catch (const json::exception& e) {
    co_return ErrorReply(400, "InvalidArgument", std::string("bad registration: ") + e.what());
  }
  if (reg.host.size() > 253) co_return ErrorReply(400, "InvalidArgument", "host too long", "host");
  if (reg.instance.size() > 64) {
    co_return ErrorReply(400, "InvalidArgument", "instance too long", "instance");
  }
  if (reg.machine.size() > 64) {
    co_return ErrorReply(400, "InvalidArgument", "machine too long", "machine");
  }
  // Committed with the other registrations of this round (one transaction; answered after it).
  auto w = co_await registrations_.Add(std::move(reg));
  if (!w.ok()) co_return ErrorReply(w.status());
  co_return JsonReply(200, json{{"id", (*w)->id},
                             {"heartbeatWaitMs", scheduler_->options().heartbeat_wait_ms}});
}

json Api::WorkerJson(const Worker& w, const Principal& p, const std::vector<const Job*>& jobs,
                     const std::vector<bool>& visible) {
  // In full to admins, to the worker's account, or to everyone when so configured; else
  // anonymised: what placement needs (capacity, GPUs, state, the caller's own ranks there) and
  // not whose machine it is (name, host, account) or what else it runs.
  const bool full =
      p.admin() || w.account == p.account || visibility_.workers == Visibility::Workers::kAll;
  wire::WorkerView view = WorkerViewOf(w);
  view.audit_rate = scheduler_->AuditRate(w);
  if (!full) {
    view.name.reset();
    view.host.reset();
    view.account.reset();
    view.quarantine.reset();  // names jobs and steps of whoever's job caught it
    view.anonymous = true;
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job* job = jobs[i];
    const bool shown = full || visible[i];
    for (const auto& a : job->attempts) {
      for (const auto& r : a.ranks) {
        if (r.worker_id == w.id && r.state != RankState::kExited) {
          ++view.used_slots;
          if (!shown) continue;
          view.ranks.push_back({job->id, a.number, r.rank, ToString(r.state)});
        }
      }
    }
  }
  return wire::ToJson(view);
}

HttpReply Api::ListWorkers(const Principal& p) {
  json out = json::array();
  const auto jobs = scheduler_->ListJobs(std::nullopt, "");
  // Once per job, not per worker and job.
  std::vector<bool> visible;
  for (const Job* job : jobs) visible.push_back(JobVisibleTo(p, *job));
  for (const Worker* w : scheduler_->ListWorkers()) out.push_back(WorkerJson(*w, p, jobs, visible));
  return JsonReply(200, json{{"workers", out}});
}

asio::awaitable<HttpReply> Api::Heartbeat(const HttpRequest& req, const std::string& worker_id) {
  auto body = ParseJsonBody(req);
  if (!body.ok()) co_return ErrorReply(body.status());
  std::vector<RankKey> running;
  if (body->contains("running")) {
    const json& r = (*body)["running"];
    if (!r.is_array() || r.size() > 4096) {
      co_return ErrorReply(400, "InvalidArgument", "running must be an array", "running");
    }
    for (const auto& item : r) {
      if (!item.is_object() || !item.contains("job") || !item["job"].is_number_integer() ||
          !item.contains("attempt") || !item["attempt"].is_number_integer() ||
          !item.contains("rank") || !item["rank"].is_number_integer()) {
        co_return ErrorReply(400, "InvalidArgument",
                             "running[] items need integer job, attempt and rank", "running");
      }
      running.push_back({item["job"].get<int64_t>(), item["attempt"].get<int>(),
                         item["rank"].get<int>()});
    }
  }
  // What its chunk cache holds (absent from agents before placement by cached chunks).
  auto cache = wire::ParseCacheReport(*body);
  if (!cache.ok()) {
    const bool cached = cache.status().message().rfind("cached", 0) == 0;
    co_return ErrorReply(cache.status(), cached ? "cached" : "cache");
  }
  // Its GPUs' NVML samples (absent without NVML, and from older agents).
  auto gpu_samples = wire::ParseGpuSamples(*body);
  if (!gpu_samples.ok()) co_return ErrorReply(gpu_samples.status(), "gpuSamples");
  int64_t wait_ms = 0;
  if (!WaitParam(req, scheduler_->options().heartbeat_wait_ms, &wait_ms)) {
    co_return ErrorReply(400, "InvalidArgument", "wait must be a non-negative integer (ms)", "wait");
  }
  Status st = scheduler_->Heartbeat(worker_id, running);
  if (!st.ok()) co_return ErrorReply(st);
  if (body->contains("cached") || body->contains("cache")) {
    st = scheduler_->RecordCache(worker_id, std::move(cache).value());
    if (!st.ok()) co_return ErrorReply(st);
  }
  if (gpu_samples->has_value()) {
    st = scheduler_->RecordGpuSamples(worker_id, std::move(**gpu_samples));
    if (!st.ok()) co_return ErrorReply(st);
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  while (!scheduler_->AssignmentsDiffer(worker_id, running) && Clock::now() < deadline) {
    co_await notifier_->WaitFor(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now()));
    if (scheduler_->FindWorker(worker_id) == nullptr) break;
  }
  // Holding the poll counts as contact: refresh the deadline before answering.
  st = scheduler_->Heartbeat(worker_id, running, /*new_request=*/false);
  if (!st.ok()) co_return ErrorReply(st);
  json assignments = json::array();
  for (auto& a : scheduler_->Assignments(worker_id)) {
    // The attempt's read capability: what lets this worker fetch the pinned versions, and only
    // while the attempt runs (docs/registry.md).
    if (!a.pins.empty() && registry_ != nullptr) {
      a.read_capability = registry_->Capability(a.job, a.attempt);
    }
    assignments.push_back(wire::ToJson(a));
  }
  co_return JsonReply(200, json{{"assignments", std::move(assignments)},
                                {"heartbeatWaitMs", scheduler_->options().heartbeat_wait_ms}});
}

}  // namespace shoal
