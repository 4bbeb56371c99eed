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
#include "common/version.h"
#include "common/log.h"

namespace shoal {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  for (std::string_view part : PathSegments(path)) parts.emplace_back(part);
  return parts;
}

template <typename T>
bool ParseInt(const std::string& s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

HttpReply JsonReply(int status, const json& body) {
  // `replace`: a stored string with invalid UTF-8 (a spec or a log line from before such input
  // was refused) comes out with U+FFFD instead of failing the whole reply, e.g. every heartbeat
  // of the workers that job is placed on.
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
          "application/json"};
}

HttpReply MethodNotAllowed(const HttpRequest& req) {
  return ErrorReply(405, "MethodNotAllowed", req.method + " is not allowed on " + req.path);
}

// Reads ?wait=ms, clamped to [0, Api::kMaxWaitMs]. Returns false on a malformed value.
bool WaitParam(const HttpRequest& req, int64_t cap, int64_t* wait_ms) {
  *wait_ms = 0;
  auto it = req.query.find("wait");
  if (it == req.query.end()) return true;
  if (!ParseInt(it->second, wait_ms) || *wait_ms < 0) return false;
  *wait_ms = std::min(*wait_ms, cap);
  return true;
}

Result<json> ParseJsonBody(const HttpRequest& req) {
  auto body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!body.is_object()) return InvalidArgument("request body must be a JSON object");
  return body;
}

// Authorization rules (docs/security.md §2), in one place. Each returns OK or PermissionDenied.
Status RequireRole(const Principal& p, std::initializer_list<Role> roles, std::string_view what) {
  for (Role r : roles) {
    if (p.role == r) return Status::Ok();
  }
  std::string allowed;
  for (Role r : roles) allowed += (allowed.empty() ? "" : " or ") + std::string(ToString(r));
  return PermissionDenied(std::string(what) + " needs a token with the role " + allowed +
                          " (this one is " + std::string(ToString(p.role)) + " of account \"" +
                          p.account + "\")");
}

// Users see and cancel their own account's jobs; admins every job.
Status RequireJobOwner(const Principal& p, const Job& job) {
  if (p.admin()) return Status::Ok();
  RETURN_IF_ERROR(RequireRole(p, {Role::kUser}, "this job route"));
  if (job.owner != p.account) {
    return PermissionDenied("job " + std::to_string(job.id) + " belongs to another account");
  }
  return Status::Ok();
}

// Contributors act only as their own account's workers; admins as any.
Status RequireWorkerOwner(const Principal& p, const Worker& w) {
  RETURN_IF_ERROR(RequireRole(p, {Role::kAdmin, Role::kContributor}, "acting as a worker"));
  if (!p.admin() && w.account != p.account) {
    return PermissionDenied("worker " + w.id + " belongs to another account");
  }
  return Status::Ok();
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json ToJson(const TokenInfo& t) {
  json j = {{"id", t.id},           {"account", t.account}, {"role", std::string(ToString(t.role))},
            {"label", t.label},     {"createdMs", t.created_ms}};
  if (t.revoked_ms != 0) j["revokedMs"] = t.revoked_ms;
  if (t.expires_ms != 0) j["expiresMs"] = t.expires_ms;
  if (t.last_used_ms != 0) j["lastUsedMs"] = t.last_used_ms;
  j["state"] = t.revoked_ms != 0 ? "revoked" : t.expired(WallMs()) ? "expired" : "valid";
  return j;
}

// A new token's expiry from the request body: "expiresIn" (a duration, common/duration.h) or
// "expiresAtMs" (Unix ms), not both; 0 when neither is given.
Result<int64_t> TokenExpiry(const json& b, int64_t now_ms) {
  constexpr int64_t kMaxMs = int64_t{100} * 366 * 86400 * 1000;  // a century: a typo, surely
  if (b.contains("expiresIn") && b.contains("expiresAtMs")) {
    return InvalidArgument("give either expiresIn or expiresAtMs, not both");
  }
  if (b.contains("expiresIn")) {
    if (!b["expiresIn"].is_string()) {
      return InvalidArgument("expiresIn must be a duration string such as \"30d\" or \"12h\"");
    }
    auto seconds = ParseDurationSeconds(b["expiresIn"].get<std::string>());
    if (!seconds.ok()) return InvalidArgument("expiresIn: " + seconds.status().message());
    if (*seconds <= 0 || *seconds > kMaxMs / 1000) {
      return InvalidArgument("expiresIn must be more than 0s and at most 36600d");
    }
    return now_ms + *seconds * 1000;
  }
  if (b.contains("expiresAtMs")) {
    if (!b["expiresAtMs"].is_number_integer() || b["expiresAtMs"].get<int64_t>() <= now_ms ||
        b["expiresAtMs"].get<int64_t>() > now_ms + kMaxMs) {
      return InvalidArgument("expiresAtMs must be a future time in Unix milliseconds");
    }
    return b["expiresAtMs"].get<int64_t>();
  }
  return int64_t{0};
}

using Clock = std::chrono::steady_clock;

// Runs f() on `pool` and resumes the calling coroutine on its own executor with the result.
template <typename F>
asio::awaitable<std::invoke_result_t<F>> RunOn(asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F>;
  // co_spawn wants a default-constructible result; Result<T> is not.
  std::optional<R> out = co_await asio::co_spawn(
      pool, [&]() -> asio::awaitable<std::optional<R>> { co_return f(); }, asio::use_awaitable);
  co_return std::move(*out);
}

}  // namespace

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
      }) {}

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
  auto principal =
      auth_->Authenticate(header == req.headers.end() ? std::string_view() : header->second);
  if (!principal.ok()) {
    const int64_t failures = address.empty() ? 1 : auth_limiter_.RecordFailure(address, now_ms);
    if (failures == 1 || failures == 10 || failures == 100 || failures % 1000 == 0) {
      LOG_WARN << "authentication failed from " << address << " (" << req.method << " "
               << req.path << "): " << principal.status().message() << "; " << failures
               << " failure(s) from it lately";
    }
    *refusal = ErrorReply(principal.status());
  }
  return principal;
}

bool Api::IsOpenRoute(std::string_view path) {
  return path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/v1/version";
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
    co_return HttpReply{200, std::move(text), "text/plain; version=0.0.4; charset=utf-8"};
  }
  HttpReply refusal;
  auto principal = AuthenticateRequest(req, &refusal);
  if (!principal.ok()) co_return refusal;
  HttpReply reply = co_await Route(req, *principal);
  // Whatever the reply says (a started rank in a heartbeat answer, a cancelled job) is stored
  // before it leaves; usually nothing is left to write here (the posted pass wrote it).
  (void)scheduler_->SaveChanges();
  co_return reply;
}

asio::awaitable<HttpReply> Api::Route(const HttpRequest& req, const Principal& p) {
  std::vector<std::string> parts = SplitPath(req.path);
  if (parts.size() >= 2 && parts[0] == "v1" && parts[1] == "jobs") {
    co_return co_await Jobs(req, parts, p);
  }
  if (parts.size() >= 2 && parts[0] == "v1" && parts[1] == "workers") {
    co_return co_await Workers(req, parts, p);
  }
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "accounts") {
    if (req.method == "GET") co_return ListAccounts(p);
    if (req.method == "POST") co_return CreateAccount(req, p);
    co_return MethodNotAllowed(req);
  }
  if (parts.size() >= 2 && parts.size() <= 3 && parts[0] == "v1" && parts[1] == "tokens") {
    co_return Tokens(req, parts, p);
  }
  co_return ErrorReply(404, "NotFound", "no route for " + req.method + " " + req.path);
}

HttpReply Api::ListAccounts(const Principal& p) {
  // The fair-share factors the policy would use now: every ledger account, plus the projects of
  // queued and running jobs (which may not have used anything yet).
  Snapshot snap;
  for (const LedgerEntry& e : scheduler_->LedgerEntries()) {
    snap.accounts.push_back({e.account, e.contributed, e.used});
  }
  for (const auto& account : auth_->accounts()) {
    const std::string& name = account.first;
    if (std::none_of(snap.accounts.begin(), snap.accounts.end(),
                     [&](const auto& a) { return a.name == name; })) {
      snap.accounts.push_back({name, 0, 0});
    }
  }
  for (const Job* j : scheduler_->ListJobs(std::nullopt, "")) {
    if (j->state == JobState::kPending || j->state == JobState::kRestarting ||
        j->state == JobState::kRunning) {
      SnapshotJob sj;
      sj.account = j->owner;
      snap.queue.push_back(sj);
    }
  }
  json out = json::array();
  // The factors are computed over every account either way; only the rows shown differ.
  const bool all = p.admin() || visibility_.accounts == Visibility::Accounts::kAll;
  int hidden = 0;
  for (const FairShare& f : FairShareFactors(snap)) {
    if (!all && f.account != p.account) {
      ++hidden;
      continue;
    }
    double contributed = 0, used = 0;
    for (const auto& a : snap.accounts) {
      if (a.name == f.account) {
        contributed = a.contributed_gpu_s;
        used = a.used_gpu_s;
      }
    }
    out.push_back({{"name", f.account},
                   {"contributedGpuSeconds", contributed},
                   {"usedGpuSeconds", used},
                   {"balanceGpuSeconds", contributed - used},
                   {"share", f.share},
                   {"usage", f.usage},
                   {"fairShareFactor", f.factor},
                   {"registered", auth_->HasAccount(f.account)}});
  }
  json reply = {{"accounts", out},
                {"halfLifeSeconds", scheduler_->options().fair_share_half_life_s},
                {"policy", PolicyName(scheduler_->options().policy)}};
  if (!all) reply["otherAccounts"] = hidden;
  return JsonReply(200, reply);
}

// POST /v1/accounts {"name": N}: admin only.
HttpReply Api::CreateAccount(const HttpRequest& req, const Principal& p) {
  Status allowed = RequireRole(p, {Role::kAdmin}, "creating accounts");
  if (!allowed.ok()) return ErrorReply(allowed);
  auto body = ParseJsonBody(req);
  if (!body.ok()) return ErrorReply(body.status());
  if (!body->contains("name") || !(*body)["name"].is_string()) {
    return ErrorReply(400, "InvalidArgument", "body needs a string \"name\"", "name");
  }
  const std::string name = (*body)["name"];
  Status st = auth_->CreateAccount(name);
  if (!st.ok()) return ErrorReply(st, "name");
  LOG_INFO << "account " << name << " created by " << p.account;
  return JsonReply(201, json{{"name", name}});
}

// GET /v1/tokens[?account=A]; POST /v1/tokens {"account","role","label"} (admin; the reply
// carries the token, the only time it is shown); DELETE /v1/tokens/{id} (admin, or the token's
// own account).
HttpReply Api::Tokens(const HttpRequest& req, const std::vector<std::string>& parts,
                      const Principal& p) {
  // Tokens are managed by admins and by an account's people; a contributor token (a worker's
  // credential, on a stranger's machine) may neither list nor revoke them.
  if (Status allowed = RequireRole(p, {Role::kAdmin, Role::kUser}, "managing tokens");
      !allowed.ok()) {
    return ErrorReply(allowed);
  }
  if (parts.size() == 2 && req.method == "GET") {
    std::string account;
    if (auto it = req.query.find("account"); it != req.query.end()) account = it->second;
    if (!p.admin()) {
      if (!account.empty() && account != p.account) {
        return ErrorReply(403, "PermissionDenied", "only an admin may list another account's tokens");
      }
      account = p.account;
    }
    json out = json::array();
    for (const TokenInfo& t : auth_->Tokens(account)) out.push_back(ToJson(t));
    return JsonReply(200, json{{"tokens", out}});
  }
  if (parts.size() == 2 && req.method == "POST") {
    Status allowed = RequireRole(p, {Role::kAdmin}, "creating tokens");
    if (!allowed.ok()) return ErrorReply(allowed);
    auto body = ParseJsonBody(req);
    if (!body.ok()) return ErrorReply(body.status());
    const json& b = *body;
    if (!b.contains("account") || !b["account"].is_string()) {
      return ErrorReply(400, "InvalidArgument", "body needs a string \"account\"", "account");
    }
    if (!b.contains("role") || !b["role"].is_string()) {
      return ErrorReply(400, "InvalidArgument",
                        "body needs \"role\": admin, user or contributor", "role");
    }
    if (b.contains("label") && !b["label"].is_string()) {
      return ErrorReply(400, "InvalidArgument", "\"label\" must be a string", "label");
    }
    auto role = ParseRole(b["role"].get<std::string>());
    if (!role.ok()) return ErrorReply(role.status(), "role");
    auto expires = TokenExpiry(b, WallMs());
    if (!expires.ok()) {
      return ErrorReply(expires.status(), b.contains("expiresIn") ? "expiresIn" : "expiresAtMs");
    }
    auto created = auth_->CreateToken(b["account"], *role, b.value("label", ""), *expires);
    if (!created.ok()) return ErrorReply(created.status());
    LOG_INFO << "token " << created->first.id << " (" << ToString(*role) << ") for account "
             << created->first.account << " created by " << p.account;
    json out = ToJson(created->first);
    out["token"] = created->second;
    return JsonReply(201, out);
  }
  if (parts.size() == 3 && req.method == "DELETE") {
    int64_t id = 0;
    if (!ParseInt(parts[2], &id) || id <= 0) {
      return ErrorReply(400, "InvalidArgument", "token id must be a positive integer", "id");
    }
    const TokenInfo* t = auth_->FindToken(id);
    if (t == nullptr) return ErrorReply(404, "NotFound", "token " + parts[2] + " not found");
    if (!p.admin() && t->account != p.account) {
      return ErrorReply(403, "PermissionDenied", "token " + parts[2] + " belongs to another account");
    }
    auto revoked = auth_->Revoke(id);
    if (!revoked.ok()) return ErrorReply(revoked.status());
    LOG_INFO << "token " << id << " of account " << revoked->account << " revoked by "
             << p.account;
    return JsonReply(200, ToJson(*revoked));
  }
  return MethodNotAllowed(req);
}

asio::awaitable<HttpReply> Api::Jobs(const HttpRequest& req, const std::vector<std::string>& parts,
                                     const Principal& p) {
  if (parts.size() == 2) {
    if (req.method != "POST" && req.method != "GET") co_return MethodNotAllowed(req);
    Status allowed = RequireRole(p, {Role::kAdmin, Role::kUser},
                                 req.method == "POST" ? "submitting jobs" : "listing jobs");
    if (!allowed.ok()) co_return ErrorReply(allowed);
    if (req.method == "POST") co_return co_await Submit(req, p);
    co_return ListJobs(req, p);
  }
  int64_t id = 0;
  if (!ParseInt(parts[2], &id) || id <= 0) {
    co_return ErrorReply(400, "InvalidArgument", "job id must be a positive integer", "id");
  }
  const Job* job = scheduler_->FindJob(id);
  if (job == nullptr || !JobVisibleTo(p, *job)) {
    co_return ErrorReply(404, "NotFound", "job " + parts[2] + " not found");
  }
  // A job's checkpoints are also read by the workers that run it (to resume), and its rendezvous
  // KV is used only by them: those routes check their callers themselves.
  const bool worker_route = parts.size() >= 4 && (parts[3] == "checkpoints" || parts[3] == "attempts");
  if (!worker_route) {
    Status allowed = RequireJobOwner(p, *job);
    if (!allowed.ok()) co_return ErrorReply(allowed);
  }
  if (parts.size() == 3) {
    if (req.method == "GET") {
      json detail = ToJson(*job, /*detail=*/true);
      if (checkpoints_ != nullptr) {
        json list = json::array();
        for (const auto& c : checkpoints_->List(id)) list.push_back(ToJson(c));
        detail["checkpoints"] = std::move(list);
      }
      co_return JsonReply(200, detail);
    }
    if (req.method == "DELETE") {
      auto cancelled = scheduler_->Cancel(id);
      if (!cancelled.ok()) co_return ErrorReply(cancelled.status());
      kv_->DropJob(id);
      co_return JsonReply(200, ToJson(**cancelled, /*detail=*/false));
    }
    co_return MethodNotAllowed(req);
  }
  if (parts.size() == 4 && parts[3] == "logs" && req.method == "GET") co_return co_await Logs(req, id);
  if (parts.size() == 4 && parts[3] == "metrics" && req.method == "GET") {
    auto read = [store = log_reader_ != nullptr ? log_reader_ : scheduler_->store(), id] {
      auto points = store->ReadMetrics(id, 100000);
      if (!points.ok()) return ErrorReply(points.status());
      return JsonReply(200, json{{"job", id}, {"points", *points}});
    };
    // Not a conditional expression: GCC 12 miscompiles a co_await inside one.
    if (log_reader_ == nullptr) co_return read();
    co_return co_await RunOn(log_io_, read);
  }
  if (parts[3] == "checkpoints" && parts.size() <= 5) {
    co_return co_await Checkpoints(req, *job, parts, p);
  }
  if (parts.size() >= 7 && parts[3] == "attempts" && parts[5] == "kv") {
    int attempt = 0;
    if (!ParseInt(parts[4], &attempt) || attempt <= 0) {
      co_return ErrorReply(400, "InvalidArgument", "attempt must be a positive integer");
    }
    std::string key = parts[6];
    for (size_t i = 7; i < parts.size(); ++i) key += "/" + parts[i];
    if (!p.admin() && !(p.role == Role::kContributor &&
                        scheduler_->AccountRunsAttempt(p.account, id, attempt))) {
      co_return ErrorReply(403, "PermissionDenied",
                           "only the workers of job " + parts[2] + " attempt " + parts[4] +
                               " may use its rendezvous store");
    }
    co_return co_await Kv(req, id, attempt, key);
  }
  co_return ErrorReply(404, "NotFound", "no route for " + req.method + " " + req.path);
}

asio::awaitable<HttpReply> Api::Submit(const HttpRequest& req, const Principal& p) {
  std::string field;
  // Validated here, at once (a bad spec never waits for a commit); stored with the other
  // submissions of this round in one transaction, and acknowledged only after it committed.
  std::string key;
  if (auto it = req.headers.find("idempotency-key"); it != req.headers.end()) {
    key = it->second;
    const bool printable = std::all_of(key.begin(), key.end(), [](char ch) {
      return ch > ' ' && ch < 127;
    });
    if (key.empty() || key.size() > 128 || !printable) {
      co_return ErrorReply(400, "InvalidArgument",
                           "Idempotency-Key must be 1..128 printable ASCII characters",
                           "Idempotency-Key");
    }
  }
  // A retry must repeat the request: the same key with another body is a client bug (or two
  // clients sharing a key), answered 409 rather than with a job that is not the one asked for.
  if (const Job* prior = key.empty() ? nullptr : scheduler_->FindJobByKey(p.account, key);
      prior != nullptr && prior->spec_text != req.body) {
    co_return ErrorReply(409, "AlreadyExists",
                         "Idempotency-Key \"" + key + "\" was used for job " +
                             std::to_string(prior->id) + " with a different body",
                         "Idempotency-Key");
  }
  auto job = scheduler_->PrepareSubmission(req.body, p.account, &field);
  if (!job.ok() && field == "maxActiveJobs") {
    // Not the request's fault (413): the account must wait for its jobs, as with a rate limit.
    co_return ErrorReply(429, "ResourceExhausted", job.status().message(), field);
  }
  if (!job.ok()) co_return ErrorReply(job.status(), field);
  job->idempotency_key = key;
  auto stored = co_await submissions_.Add(std::move(job).value());
  if (!stored.ok()) co_return ErrorReply(stored.status());
  json reply = {{"id", (*stored)->id},
                {"name", (*stored)->spec.metadata.name},
                {"state", ToString((*stored)->state)}};
  // Accepted either way (workers may still join), but the submitter hears it now rather than
  // finding the job PENDING(Constraint) later.
  if (std::string warning = scheduler_->GangWarning(**stored); !warning.empty()) {
    reply["warnings"] = json::array({warning});
  }
  co_return JsonReply(201, reply);
}

BodyPolicy Api::BodyPolicyFor(const HttpRequest& head, size_t default_limit,
                              std::chrono::seconds default_timeout) {
  const BodyPolicy normal{default_limit, default_timeout, std::nullopt};
  if (IsOpenRoute(head.path)) return normal;
  // Who it is comes first, before a byte of the body is held: an unauthenticated stranger may
  // hold a connection, never memory.
  HttpReply refusal;
  auto principal = AuthenticateRequest(head, &refusal);
  if (!principal.ok()) return {0, default_timeout, std::move(refusal)};
  const std::vector<std::string> parts = SplitPath(head.path);
  if (head.method == "POST" && parts.size() == 2 && parts[0] == "v1" && parts[1] == "jobs") {
    // A job spec: a larger one is refused before it is read (413), not stored.
    const int64_t spec_limit = scheduler_->options().quotas.max_spec_bytes;
    if (spec_limit > 0 && static_cast<size_t>(spec_limit) < default_limit) {
      return {static_cast<size_t>(spec_limit), default_timeout, std::nullopt};
    }
    return normal;
  }
  // PUT /v1/jobs/{id}/checkpoints/{step}?attempt=A&worker=W: the only large bodies, allowed only
  // to the one writer of that checkpoint.
  if (head.method != "PUT" || parts.size() != 5 || parts[0] != "v1" || parts[1] != "jobs" ||
      parts[3] != "checkpoints") {
    return normal;
  }
  int64_t id = 0;
  const Job* job = ParseInt(parts[2], &id) ? scheduler_->FindJob(id) : nullptr;
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
  if (auto it = head.headers.find("content-length");
      it != head.headers.end() && ParseInt(it->second, &length) && ParseInt(parts[4], &step)) {
    HttpReply over = CheckCheckpointQuota(*job, step, length);
    if (over.status != 0) return {0, default_timeout, std::move(over)};
  }
  // Streamed to disk as it arrives (hashed on the way): an upload never sits in memory.
  return {kMaxCheckpointBytes, std::chrono::minutes(30), std::nullopt, checkpoints_->spool_dir()};
}

HttpReply Api::CheckCheckpointQuota(const Job& job, int64_t step, int64_t bytes) {
  const int64_t quota = scheduler_->options().quotas.checkpoint_quota_bytes;
  if (quota <= 0 || checkpoints_ == nullptr) return HttpReply{0, "", ""};
  int64_t used = 0;  // by the owner's other jobs
  for (const auto& [id, n] : checkpoints_->BytesByJob()) {
    const Job* other = scheduler_->FindJob(id);
    if (id != job.id && other != nullptr && other->owner == job.owner) used += n;
  }
  const int64_t after =
      used + checkpoints_->BytesAfterPut(job.id, step, bytes, job.spec.checkpoint.keep);
  if (after <= quota) return HttpReply{0, "", ""};
  auto gib = [](int64_t b) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f GiB", static_cast<double>(b) / (int64_t{1} << 30));
    return std::string(text);
  };
  const std::string why = "account " + job.owner + "'s checkpoints would take " + gib(after) +
                          ", over its quota of " + gib(quota) +
                          " (checkpointQuota); delete ended jobs' checkpoints (shoal checkpoints "
                          "rm JOB) or keep fewer (spec.checkpoint.keep)";
  scheduler_->RecordCheckpointRefused(job.id, why);
  return ErrorReply(507, "ResourceExhausted", why);
}

void Api::ExpireCheckpoints() {
  if (checkpoints_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_checkpoint_expiry_) return;
  next_checkpoint_expiry_ = now + std::chrono::minutes(1);
  std::vector<int64_t> expired;
  for (const auto& [id, bytes] : checkpoints_->BytesByJob()) {
    if (scheduler_->CheckpointsExpired(id)) expired.push_back(id);
  }
  if (expired.empty()) return;
  asio::post(checkpoint_io_, [store = checkpoints_, expired] {
    for (int64_t id : expired) store->RemoveJob(id);
    LOG_INFO << "deleted the checkpoints of " << expired.size()
             << " jobs past their retention (checkpointRetention)";
  });
}

// GET  /v1/jobs/{id}/checkpoints[?beforeAttempt=N]   the stored checkpoints (oldest first)
// GET  /v1/jobs/{id}/checkpoints/{step}              one checkpoint's bytes (safetensors)
// PUT  /v1/jobs/{id}/checkpoints/{step}?attempt=A&worker=W   rank 0's worker stores one;
//      header X-Shoal-Sha256 = SHA-256 of the body (verified before anything is stored)
asio::awaitable<HttpReply> Api::Checkpoints(const HttpRequest& req, const Job& job,
                                            const std::vector<std::string>& parts,
                                            const Principal& p) {
  if (checkpoints_ == nullptr) {
    co_return ErrorReply(503, "Unavailable", "this scheduler stores no checkpoints");
  }
  HttpReply checked = CheckCheckpointRequest(req, job, parts, p);
  if (checked.status != 0) co_return checked;
  const int64_t job_id = job.id;
  const int keep = job.spec.checkpoint.keep;
  if (parts.size() == 4) {  // DELETE (checked above; the list was answered there)
    co_await RunOn(checkpoint_io_, [&] {
      checkpoints_->RemoveJob(job_id);
      return 0;
    });
    LOG_INFO << "job " << job_id << ": checkpoints deleted by " << p.account;
    co_return JsonReply(200, json{{"job", job_id}, {"checkpoints", json::array()}});
  }
  int64_t step = 0, attempt = 0;
  ParseInt(parts[4], &step);
  // Reading, verifying and fsyncing a checkpoint takes seconds for a large model: on the
  // checkpoint I/O thread, so that heartbeats and submissions are answered meanwhile. That one
  // thread does every checkpoint read and write, in order.
  if (req.method == "GET") {
    auto bytes =
        co_await RunOn(checkpoint_io_, [&] { return checkpoints_->Read(job_id, step); });
    if (!bytes.ok()) co_return ErrorReply(bytes.status());
    co_return HttpReply{200, std::move(*bytes), "application/octet-stream"};
  }
  ParseInt(req.query.at("attempt"), &attempt);
  const std::shared_ptr<SpooledBody> spooled = req.spooled;  // set by the daemon's body policy
  const int64_t size = spooled ? spooled->bytes : static_cast<int64_t>(req.body.size());
  if (HttpReply over = CheckCheckpointQuota(job, step, size); over.status != 0) co_return over;
  const std::string sha = req.headers.at("x-shoal-sha256");
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  auto stored = co_await RunOn(checkpoint_io_, [&] {
    if (spooled) {
      return checkpoints_->PutFile(job_id, static_cast<int>(attempt), step, &spooled->path,
                                   spooled->bytes, spooled->sha256, sha, keep, now_ms);
    }
    return checkpoints_->Put(job_id, static_cast<int>(attempt), step, req.body, sha, keep, now_ms);
  });
  if (!stored.ok()) co_return ErrorReply(stored.status());
  LOG_INFO << "job " << job_id << " attempt " << attempt << ": checkpoint at step " << step
           << " stored (" << stored->bytes << " bytes)";
  scheduler_->RecordCheckpoint(job_id, static_cast<int>(attempt), step, stored->bytes);
  co_return JsonReply(201, ToJson(*stored));
}

// Checks a checkpoint request on the event loop (parameters and who may do it); answers it when
// it needs no checkpoint I/O (the list). Returns status 0 when the caller should go on.
HttpReply Api::CheckCheckpointRequest(const HttpRequest& req, const Job& job,
                                      const std::vector<std::string>& parts,
                                      const Principal& p) {
  auto query_int = [&](const char* key, int64_t* out) {
    auto it = req.query.find(key);
    return it == req.query.end() || (ParseInt(it->second, out) && *out >= 0);
  };
  if (req.method == "GET" && !(p.role == Role::kContributor &&
                               scheduler_->AccountRunsAttempt(p.account, job.id, 0))) {
    Status allowed = RequireJobOwner(p, job);  // else: the job's owner (to download the model)
    if (!allowed.ok()) return ErrorReply(allowed);
  }
  if (parts.size() == 4 && req.method == "DELETE") {
    // The owner frees the quota a job's checkpoints take, once the job has ended.
    Status allowed = RequireJobOwner(p, job);
    if (!allowed.ok()) return ErrorReply(allowed);
    if (!IsTerminal(job.state)) {
      return ErrorReply(409, "FailedPrecondition",
                        "job " + std::to_string(job.id) + " is " + ToString(job.state) +
                            ": its checkpoints can be deleted once it has ended");
    }
    return HttpReply{0, "", ""};  // deleted off the loop
  }
  if (parts.size() == 4) {
    if (req.method != "GET") return MethodNotAllowed(req);
    int64_t before = 0;
    if (!query_int("beforeAttempt", &before)) {
      return ErrorReply(400, "InvalidArgument", "beforeAttempt must be a non-negative integer",
                        "beforeAttempt");
    }
    json list = json::array();
    for (const auto& c : checkpoints_->List(job.id)) {
      if (before == 0 || c.attempt < before) list.push_back(ToJson(c));
    }
    return JsonReply(200, json{{"job", job.id}, {"checkpoints", std::move(list)}});
  }
  int64_t step = 0;
  if (!ParseInt(parts[4], &step) || step < 0) {
    return ErrorReply(400, "InvalidArgument", "step must be a non-negative integer", "step");
  }
  if (req.method == "GET") return HttpReply{0, "", ""};  // read off the loop
  if (req.method != "PUT") return MethodNotAllowed(req);
  // Who may write comes first: a refused caller learns nothing about its request's other faults.
  auto worker = req.query.find("worker");
  if (worker == req.query.end() || worker->second.empty()) {
    return ErrorReply(400, "InvalidArgument", "worker is required", "worker");
  }
  const Worker* writer = scheduler_->FindWorker(worker->second);
  if (writer == nullptr) return ErrorReply(404, "NotFound", "worker " + worker->second + " not found");
  Status allowed = RequireWorkerOwner(p, *writer);
  if (!allowed.ok()) return ErrorReply(allowed);
  int64_t attempt = 0;
  if (!query_int("attempt", &attempt) || attempt < 1 || attempt > (1 << 30)) {
    return ErrorReply(400, "InvalidArgument", "attempt must be a positive integer", "attempt");
  }
  allowed = scheduler_->CheckCheckpointWriter(job.id, static_cast<int>(attempt), worker->second);
  if (!allowed.ok()) return ErrorReply(allowed);
  auto sha = req.headers.find("x-shoal-sha256");
  if (sha == req.headers.end() || sha->second.size() != 64) {
    return ErrorReply(400, "InvalidArgument", "header X-Shoal-Sha256 (64 hex digits) is required",
                      "X-Shoal-Sha256");
  }
  return HttpReply{0, "", ""};  // stored off the loop
}

HttpReply Api::ListJobs(const HttpRequest& req, const Principal& p) {
  std::optional<JobState> state;
  if (auto it = req.query.find("state"); it != req.query.end() && !it->second.empty()) {
    auto parsed = ParseJobState(it->second);
    if (!parsed.ok()) return ErrorReply(parsed.status(), "state");
    state = *parsed;
  }
  std::string owner, name;
  if (auto it = req.query.find("owner"); it != req.query.end()) owner = it->second;
  if (auto it = req.query.find("name"); it != req.query.end()) name = it->second;
  if (!p.admin()) {
    if (!owner.empty() && owner != p.account) {
      return ErrorReply(403, "PermissionDenied", "only an admin may list another account's jobs");
    }
    owner = p.account;
  }
  json jobs = json::array();
  for (const Job* j : scheduler_->ListJobs(state, owner, name)) jobs.push_back(ToJson(*j, false));
  return JsonReply(200, json{{"jobs", jobs}});
}

asio::awaitable<HttpReply> Api::Logs(const HttpRequest& req, int64_t job_id) {
  int64_t after = 0, wait_ms = 0, max_bytes = kDefaultLogBytes;
  int rank = -1, limit = 1000;
  if (auto it = req.query.find("after"); it != req.query.end() && !ParseInt(it->second, &after)) {
    co_return ErrorReply(400, "InvalidArgument", "after must be an integer", "after");
  }
  if (auto it = req.query.find("rank"); it != req.query.end() &&
                                        (!ParseInt(it->second, &rank) || rank < 0)) {
    co_return ErrorReply(400, "InvalidArgument", "rank must be a non-negative integer", "rank");
  }
  if (auto it = req.query.find("limit"); it != req.query.end() &&
                                         (!ParseInt(it->second, &limit) || limit <= 0)) {
    co_return ErrorReply(400, "InvalidArgument", "limit must be a positive integer", "limit");
  }
  limit = std::min(limit, kMaxLogLines);
  if (auto it = req.query.find("maxBytes");
      it != req.query.end() && (!ParseInt(it->second, &max_bytes) || max_bytes <= 0)) {
    co_return ErrorReply(400, "InvalidArgument", "maxBytes must be a positive integer", "maxBytes");
  }
  max_bytes = std::min(max_bytes, kMaxLogBytes);
  int tail = -1;
  // tail=N: start N lines before the end (`shoal logs --tail N`); later polls go on with after=.
  if (auto it = req.query.find("tail"); it != req.query.end()) {
    if (!ParseInt(it->second, &tail) || tail < 0 || tail > kMaxLogLines) {
      co_return ErrorReply(400, "InvalidArgument", "tail must be an integer in 0..10000", "tail");
    }
    if (req.query.count("after") > 0) {
      co_return ErrorReply(400, "InvalidArgument", "give either after or tail, not both", "tail");
    }
  }
  if (!WaitParam(req, kMaxWaitMs, &wait_ms)) {
    co_return ErrorReply(400, "InvalidArgument", "wait must be a non-negative integer (ms)", "wait");
  }
  // The reads run on log_io_ (their own connection) when there is one: a client paging through
  // a large log costs the event loop nothing but the reply's bytes.
  Store* store = log_reader_ != nullptr ? log_reader_ : scheduler_->store();
  auto read = [&](auto f) -> asio::awaitable<decltype(f())> {
    if (log_reader_ != nullptr) co_return co_await RunOn(log_io_, f);
    co_return f();
  };
  if (tail >= 0) {
    auto start = co_await read([&] { return store->LogSeqBeforeLast(job_id, rank, tail); });
    if (!start.ok()) co_return ErrorReply(start.status());
    after = *start;  // tail=0: the newest line's seq, so only new lines follow
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    // Whether the job had ended before the read: then every line it wrote is in the read.
    const Job* job = scheduler_->FindJob(job_id);
    const bool done = job == nullptr || IsTerminal(job->state);
    struct Page {
      Status status;
      size_t lines = 0;
      bool full = false;  // stopped at limit or max_bytes: more may follow
      int64_t next = 0;
      std::string body;  // the reply's JSON but "done"
    };
    Page page = co_await read([&] {
      Page out;
      auto lines = store->ReadLogs(job_id, after, rank, limit, max_bytes);
      if (!lines.ok()) {
        out.status = lines.status();
        return out;
      }
      json arr = json::array();
      int64_t bytes = 0;
      out.next = after;
      for (const auto& l : *lines) {
        arr.push_back({{"seq", l.seq},
                       {"attempt", l.attempt},
                       {"rank", l.rank},
                       {"tsMs", l.ts_ms},
                       {"line", l.line}});
        out.next = l.seq;
        bytes += static_cast<int64_t>(l.line.size());
      }
      out.lines = lines->size();
      out.full = static_cast<int>(lines->size()) >= limit || bytes >= max_bytes;
      out.body = json{{"lines", std::move(arr)}, {"next", out.next}}.dump(
          -1, ' ', false, json::error_handler_t::replace);
      return out;
    });
    if (!page.status.ok()) co_return ErrorReply(page.status);
    if (page.lines > 0 || done || Clock::now() >= deadline) {
      // done: the job has finished and every stored line has been sent.
      page.body.pop_back();  // the closing brace: "done" goes in without parsing it again
      page.body += std::string(",\"done\":") + (done && !page.full ? "true" : "false") + "}";
      co_return HttpReply{200, std::move(page.body), "application/json"};
    }
    co_await notifier_->WaitFor(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now()));
  }
}

asio::awaitable<HttpReply> Api::Kv(const HttpRequest& req, int64_t job_id, int attempt,
                                   const std::string& key) {
  const Job* job = scheduler_->FindJob(job_id);
  const Attempt* current = job->current_attempt();
  if (current == nullptr || current->number != attempt ||
      current->state != AttemptState::kRunning) {
    co_return ErrorReply(409, "FailedPrecondition",
                         "attempt " + std::to_string(attempt) + " of job " +
                             std::to_string(job_id) + " is not running");
  }
  if (req.method == "PUT") {
    kv_->DropJob(job_id, attempt);  // keys of earlier attempts are dead
    Status st = kv_->Set(job_id, attempt, key, req.body);
    if (!st.ok()) co_return ErrorReply(st, "key");
    notifier_->NotifyAll();
    co_return JsonReply(200, json::object());
  }
  if (req.method != "GET") co_return MethodNotAllowed(req);
  int64_t wait_ms = 0;
  if (!WaitParam(req, kMaxWaitMs, &wait_ms)) {
    co_return ErrorReply(400, "InvalidArgument", "wait must be a non-negative integer (ms)", "wait");
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    if (auto value = kv_->Get(job_id, attempt, key)) {
      co_return HttpReply{200, std::move(*value), "application/octet-stream"};
    }
    if (Clock::now() >= deadline) break;
    co_await notifier_->WaitFor(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now()));
  }
  co_return ErrorReply(404, "NotFound", "kv key \"" + key + "\" is not set");
}

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
    Status st = scheduler_->ApplyEvents(parts[2], (*body)["events"]);
    if (!st.ok()) co_return ErrorReply(st, "events");
    // Jobs that just ended no longer need their rendezvous keys.
    for (const auto& ev : (*body)["events"]) {
      const Job* job = scheduler_->FindJob(ev["job"].get<int64_t>());
      if (job != nullptr && IsTerminal(job->state)) kv_->DropJob(job->id);
    }
    co_return JsonReply(200, json{{"accepted", (*body)["events"].size()}});
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
    // A worker earns for its token's account; only an admin may register one for another.
    reg.account = body->value("account", p.account);
    if (reg.account != p.account && !p.admin()) {
      co_return ErrorReply(403, "PermissionDenied",
                           "this token registers workers for account \"" + p.account +
                               "\", not \"" + reg.account.substr(0, 80) + "\"",
                           "account");
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
  // Committed with the other registrations of this round (one transaction; answered after it).
  auto w = co_await registrations_.Add(std::move(reg));
  if (!w.ok()) co_return ErrorReply(w.status());
  co_return JsonReply(200, json{{"id", (*w)->id},
                             {"heartbeatWaitMs", scheduler_->options().heartbeat_wait_ms}});
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

json Api::WorkerJson(const Worker& w, const Principal& p, const std::vector<const Job*>& jobs,
                     const std::vector<bool>& visible) {
  // In full to admins, to the worker's account, or to everyone when so configured; else
  // anonymised: what placement needs (capacity, GPUs, state, the caller's own ranks there) and
  // not whose machine it is (name, host, account) or what else it runs.
  const bool full =
      p.admin() || w.account == p.account || visibility_.workers == Visibility::Workers::kAll;
  json j = ToJson(w);
  if (!full) {
    j.erase("name");
    j.erase("host");
    j.erase("account");
    j["anonymous"] = true;
  }
  int used = 0;
  json ranks = json::array();
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job* job = jobs[i];
    const bool shown = full || visible[i];
    for (const auto& a : job->attempts) {
      for (const auto& r : a.ranks) {
        if (r.worker_id == w.id && r.state != RankState::kExited) {
          ++used;
          if (!shown) continue;
          ranks.push_back({{"job", job->id},
                           {"attempt", a.number},
                           {"rank", r.rank},
                           {"state", ToString(r.state)}});
        }
      }
    }
  }
  j["usedSlots"] = used;
  j["ranks"] = ranks;
  return j;
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
  int64_t wait_ms = 0;
  if (!WaitParam(req, scheduler_->options().heartbeat_wait_ms, &wait_ms)) {
    co_return ErrorReply(400, "InvalidArgument", "wait must be a non-negative integer (ms)", "wait");
  }
  Status st = scheduler_->Heartbeat(worker_id, running);
  if (!st.ok()) co_return ErrorReply(st);
  auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  while (!scheduler_->AssignmentsDiffer(worker_id, running) && Clock::now() < deadline) {
    co_await notifier_->WaitFor(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now()));
    if (scheduler_->FindWorker(worker_id) == nullptr) break;
  }
  // Holding the poll counts as contact: refresh the deadline before answering.
  st = scheduler_->Heartbeat(worker_id, running);
  if (!st.ok()) co_return ErrorReply(st);
  co_return JsonReply(200, json{{"assignments", scheduler_->Assignments(worker_id)},
                                {"heartbeatWaitMs", scheduler_->options().heartbeat_wait_ms}});
}

}  // namespace shoal
