#include "scheduler/api/api.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <type_traits>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/log.h"
#include "common/version.h"
#include "scheduler/api/api_internal.h"
#include "scheduler/api/routes.h"

namespace shoal {

namespace asio = boost::asio;
using api_internal::Clock;
using api_internal::IsMutatingMethod;
using api_internal::JsonReply;
using api_internal::MethodNotAllowed;
using api_internal::SplitPath;
using nlohmann::json;

Api::Api(Scheduler* scheduler, Auth* auth, RendezvousKv* kv, Notifier* notifier)
    : scheduler_(scheduler),
      auth_(auth),
      kv_(kv),
      notifier_(notifier),
      submissions_([scheduler](std::vector<Job> jobs) {
        const size_t n = jobs.size();
        auto stored = scheduler->SubmitPrepared(std::move(jobs));
        std::vector<Result<const Job*>> out;
        out.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          if (stored.ok()) {
            out.emplace_back((*stored)[i]);
          } else {
            out.emplace_back(stored.status());  // the whole batch: nothing of it was stored
          }
        }
        return out;
      }),
      registrations_([scheduler](std::vector<WorkerRegistration> regs) {
        return scheduler->RegisterWorkers(regs);
      }) {
  scheduler_->SetOnJobSucceeded([this](const Job& job) { OnJobSucceeded(job); });
}

asio::awaitable<HttpReply> Api::Handle(HttpRequest req) {
  const auto start = Clock::now();
  HttpReply reply = co_await Authenticated(req);
  api_metrics_.Observe(req.method, req.path, reply.status,
                       std::chrono::duration<double>(Clock::now() - start).count());
  co_return reply;
}

Result<Principal> Api::AuthenticateRequest(const HttpRequest& req, HttpReply* refusal) {
  // "1.2.3.4:5678" or "::1:5678": the address is everything before the last ':'.
  const std::string address = req.peer.substr(0, req.peer.rfind(':'));
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  // (No peer: a request made in-process, by a test or the fuzzer; nothing to limit.)
  if (const int64_t wait_s = address.empty() ? 0 : auth_limiter_.RetryAfterSeconds(address, now_ms);
      wait_s > 0) {
    *refusal = ErrorReply(429, "ResourceExhausted",
                          "too many failed authentications from " + address + "; retry in " +
                              std::to_string(wait_s) + " s");
    refusal->headers["Retry-After"] = std::to_string(wait_s);
    return ResourceExhausted("rate-limited");
  }
  auto header = req.headers.find("authorization");
  std::string from_session;  // "Bearer <token>" of the dashboard session the cookie names
  if (header == req.headers.end()) {
    if (const WebSession* session = SessionOf(req)) {
      // SameSite=Strict keeps other sites' requests from carrying the cookie; the CSRF token
      // is the second lock, for anything that changes state.
      auto csrf = req.headers.find("x-csrf-token");
      if (IsMutatingMethod(req.method) &&
          (csrf == req.headers.end() || csrf->second != session->csrf)) {
        *refusal = ErrorReply(403, "PermissionDenied",
                              "a dashboard session must send its X-CSRF-Token with " + req.method);
        return PermissionDenied("missing or wrong CSRF token");
      }
      from_session = "Bearer " + session->token;
    }
  }
  auto principal =
      auth_->Authenticate(header != req.headers.end() ? std::string_view(header->second)
                                                      : std::string_view(from_session));
  if (!principal.ok()) {
    const int64_t failures = address.empty() ? 1 : auth_limiter_.RecordFailure(address, now_ms);
    if (failures == 1 || failures == 10 || failures == 100 || failures % 1000 == 0) {
      LOG_WARN << "authentication failed from " << address << " (" << req.method << " " << req.path
               << "): " << principal.status().message() << "; " << failures
               << " failure(s) from it lately";
    }
    *refusal = ErrorReply(principal.status());
  }
  return principal;
}

bool Api::IsOpenRoute(std::string_view path) {
  const RouteMatch match = MatchRoute(path);
  return match.route != nullptr && match.route->open;
}

asio::awaitable<HttpReply> Api::Authenticated(const HttpRequest& req) {
  // Probes and metrics are open (kubelets, load balancers and Prometheus carry no token; the
  // metrics hold no secret); everything else needs one.
  if (req.path == "/healthz") co_return HttpReply{200, "ok\n", "text/plain"};
  if (req.path == "/readyz") co_return HttpReply{200, "ready\n", "text/plain"};
  // Open like the probes: the CLI compares it with its own build before it sends a token.
  if (req.path == "/v1/version") {
    if (req.method != "GET") co_return MethodNotAllowed(req);
    co_return JsonReply(200, json{{"version", Version()}, {"commit", GitCommit()}});
  }
  if (req.path == "/metrics") {
    if (req.method != "GET") co_return MethodNotAllowed(req);
    // Names (accounts, jobs) only where configured public, or to an admin's scrape; a token that
    // is sent is checked like any other (a bad one is 401, not quietly the public view).
    bool names = visibility_.metrics_names;
    if (!names && req.headers.count("authorization") > 0) {
      HttpReply refusal;
      auto principal = AuthenticateRequest(req, &refusal);
      if (!principal.ok()) co_return refusal;
      names = principal->admin();
    }
    std::string text = RenderMetrics(*scheduler_, names);
    api_metrics_.Render(&text);
    RenderRegistryMetrics(names, &text);
    co_return HttpReply{200, std::move(text), "text/plain; version=0.0.4; charset=utf-8"};
  }
  // Matched once here for the dashboard's routes and for Route.
  const RouteMatch match = MatchRoute(req.path);
  if (match.route != nullptr &&
      (match.route->id == RouteId::kUi || match.route->id == RouteId::kUiSession)) {
    co_return Ui(req, match.route->id, match.params);
  }
  HttpReply refusal;
  auto principal = AuthenticateRequest(req, &refusal);
  if (!principal.ok()) co_return refusal;
  HttpReply reply = co_await Route(req, match, *principal);
  // Whatever the reply says (a started rank in a heartbeat answer, a cancelled job) is stored
  // before it leaves; usually nothing is left to write here (the posted pass wrote it).
  (void)scheduler_->SaveChanges();
  co_return reply;
}

asio::awaitable<HttpReply> Api::Route(const HttpRequest& req, const RouteMatch& match,
                                      const Principal& p) {
  if (match.route == nullptr) {
    co_return ErrorReply(404, "NotFound", "no route for " + req.method + " " + req.path);
  }
  std::vector<std::string> parts = SplitPath(req.path);
  switch (match.route->id) {
    case RouteId::kJobs:
    case RouteId::kJob:
    case RouteId::kJobLogs:
    case RouteId::kJobMetrics:
    case RouteId::kJobCheckpoints:
    case RouteId::kJobCheckpoint:
    case RouteId::kJobKv:
    case RouteId::kJobPublish:
      co_return co_await Jobs(req, parts, p);
    case RouteId::kWorkers:
    case RouteId::kWorkerRegister:
    case RouteId::kWorker:
    case RouteId::kWorkerHeartbeat:
    case RouteId::kWorkerEvents:
    case RouteId::kWorkerClear:
      co_return co_await Workers(req, parts, p);
    case RouteId::kAccounts:
      if (req.method == "GET") co_return ListAccounts(p);
      if (req.method == "POST") co_return CreateAccount(req, p);
      co_return MethodNotAllowed(req);
    case RouteId::kAccountsHistory:
      if (req.method != "GET") co_return MethodNotAllowed(req);
      co_return co_await AccountsHistory(req, p);
    case RouteId::kTokens:
    case RouteId::kToken:
      co_return Tokens(req, parts, p);
    case RouteId::kWhoami:
      if (req.method != "GET") co_return MethodNotAllowed(req);
      co_return JsonReply(
          200, json{{"account", p.account}, {"role", ToString(p.role)}, {"tokenId", p.token_id}});
    case RouteId::kTrace:
      if (req.method != "GET") co_return MethodNotAllowed(req);
      co_return Trace(req, p);
    case RouteId::kRegistry:
    case RouteId::kRegistryArtifact:
    case RouteId::kRegistrySub:
    case RouteId::kRegistryItem:
      co_return co_await Registry(req, parts, p);
    case RouteId::kHealthz:
    case RouteId::kReadyz:
    case RouteId::kMetrics:
    case RouteId::kVersion:
    case RouteId::kUi:
    case RouteId::kUiSession:
      break;  // answered before authentication (Authenticated)
  }
  co_return ErrorReply(404, "NotFound", "no route for " + req.method + " " + req.path);
}

BodyPolicy Api::BodyPolicyFor(const HttpRequest& head, size_t default_limit,
                              std::chrono::seconds default_timeout) {
  const BodyPolicy normal{default_limit, default_timeout, std::nullopt};
  const RouteMatch route = MatchRoute(head.path);
  if (route.route != nullptr && route.route->open) return normal;
  // Who it is comes first, before a byte of the body is held: an unauthenticated stranger may
  // hold a connection, never memory.
  HttpReply refusal;
  auto principal = AuthenticateRequest(head, &refusal);
  if (!principal.ok()) return {0, default_timeout, std::move(refusal)};
  const BodyKind body = route.route != nullptr ? route.route->body : BodyKind::kDefault;
  if (head.method == "POST" && body == BodyKind::kJobSpec) {
    // A job spec: a larger one is refused before it is read (413), not stored.
    const int64_t spec_limit = scheduler_->options().quotas.max_spec_bytes;
    if (spec_limit > 0 && static_cast<size_t>(spec_limit) < default_limit) {
      return {static_cast<size_t>(spec_limit), default_timeout, std::nullopt};
    }
    return normal;
  }
  // A registry chunk or manifest: large, and only for the artifact's owner (the rest of the
  // checks come with the request).
  if (body == BodyKind::kRegistry && (head.method == "PUT" || head.method == "POST")) {
    const std::vector<std::string> parts = SplitPath(head.path);
    if (!principal->admin() &&
        !(principal->role == Role::kUser && parts[2] == principal->account)) {
      return {0, default_timeout,
              ErrorReply(403, "PermissionDenied",
                         "only account " + parts[2].substr(0, 80) +
                             " (with a user token) or an "
                             "admin may upload to it")};
    }
    return {kMaxRegistryBodyBytes, std::chrono::minutes(10), std::nullopt};
  }
  // PUT /v1/jobs/{id}/checkpoints/{step}?attempt=A&worker=W: the only large bodies, allowed only
  // to the one writer of that checkpoint.
  if (head.method != "PUT" || body != BodyKind::kCheckpoint) return normal;
  const std::vector<std::string> parts = SplitPath(head.path);
  int64_t id = 0;
  const Job* job = ParseInteger(parts[2], &id) ? scheduler_->FindJob(id) : nullptr;
  if (job == nullptr || !JobVisibleTo(*principal, *job)) {
    return {0, default_timeout, ErrorReply(404, "NotFound", "job " + parts[2] + " not found")};
  }
  if (checkpoints_ == nullptr) {
    return {0, default_timeout,
            ErrorReply(503, "Unavailable", "this scheduler stores no checkpoints")};
  }
  HttpReply checked = CheckCheckpointRequest(head, *job, parts, *principal);
  if (checked.status != 0) return {0, default_timeout, std::move(checked)};
  // A declared length over the quota is refused before the body is read (a chunked body is
  // checked once it is in).
  int64_t length = 0, step = 0;
  if (auto it = head.headers.find("content-length"); it != head.headers.end() &&
                                                     ParseInteger(it->second, &length) &&
                                                     ParseInteger(parts[4], &step)) {
    HttpReply over = CheckCheckpointQuota(*job, step, length);
    if (over.status != 0) return {0, default_timeout, std::move(over)};
  }
  // Streamed to disk as it arrives (hashed on the way): an upload never sits in memory.
  return {kMaxCheckpointBytes, std::chrono::minutes(30), std::nullopt, checkpoints_->spool_dir()};
}

bool Api::JobVisibleTo(const Principal& p, const Job& job) const {
  if (visibility_.jobs == Visibility::Jobs::kExists) return true;
  // Its account's people (any role), admins, and the contributors whose workers run or ran a
  // rank of it (they hold its spec anyway) know the job exists; to anyone else it does not. (A
  // rank of an ended attempt counts, so that its trainer's late rendezvous call still hears 409
  // "not running", not a 404 it would take for "key not set yet".)
  if (p.admin() || job.owner == p.account) return true;
  if (p.role != Role::kContributor) return false;
  for (const auto& a : job.attempts) {
    for (const auto& r : a.ranks) {
      const Worker* w = scheduler_->FindWorker(r.worker_id);
      if (w != nullptr && w->account == p.account) return true;
    }
  }
  return false;
}

}  // namespace shoal
