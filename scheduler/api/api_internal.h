// What the files of the Api class (api.cc and api_{accounts,jobs,checkpoints,workers}.cc) share:
// path and parameter parsing, JSON replies, the role and ownership checks, and running work on a
// thread pool from a coroutine. Internal to scheduler/api/; not an API.
#pragma once

#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "common/parse_number.h"
#include "common/status.h"
#include "scheduler/api/http_server.h"
#include "scheduler/auth.h"
#include "scheduler/api/views.h"
#include "scheduler/state/codec.h"
#include "scheduler/state/records.h"

namespace shoal::api_internal {

namespace asio = boost::asio;
using nlohmann::json;

inline std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  for (std::string_view part : PathSegments(path)) parts.emplace_back(part);
  return parts;
}

inline HttpReply JsonReply(int status, const json& body) {
  // `replace`: a stored string with invalid UTF-8 (a spec or a log line from before such input
  // was refused) comes out with U+FFFD instead of failing the whole reply, e.g. every heartbeat
  // of the workers that job is placed on.
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
          "application/json"};
}

// At most max_points of a job's progress points for a chart (GET /v1/jobs/{id}/metrics?maxPoints):
// evenly spaced ones (the first and the last among them), plus the epoch ends and evaluations
// (points with testLoss) while those are at most half of max_points. max_points <= 0: all.
json DownsamplePoints(std::vector<json> points, int64_t max_points);

// POST, PUT, PATCH and DELETE: the methods a dashboard session must send its CSRF token with.
inline bool IsMutatingMethod(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

inline HttpReply MethodNotAllowed(const HttpRequest& req) {
  return ErrorReply(405, "MethodNotAllowed", req.method + " is not allowed on " + req.path);
}

// Reads ?wait=ms, clamped to [0, Api::kMaxWaitMs]. Returns false on a malformed value.
inline bool WaitParam(const HttpRequest& req, int64_t cap, int64_t* wait_ms) {
  *wait_ms = 0;
  auto it = req.query.find("wait");
  if (it == req.query.end()) return true;
  if (!ParseInteger(it->second, wait_ms) || *wait_ms < 0) return false;
  *wait_ms = std::min(*wait_ms, cap);
  return true;
}

inline Result<json> ParseJsonBody(const HttpRequest& req) {
  auto body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!body.is_object()) return InvalidArgument("request body must be a JSON object");
  return body;
}

// Authorization rules (docs/security.md §2), in one place. Each returns OK or PermissionDenied.
inline Status RequireRole(const Principal& p, std::initializer_list<Role> roles, std::string_view what) {
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
inline Status RequireJobOwner(const Principal& p, const Job& job) {
  if (p.admin()) return Status::Ok();
  RETURN_IF_ERROR(RequireRole(p, {Role::kUser}, "this job route"));
  if (job.owner != p.account) {
    return PermissionDenied("job " + std::to_string(job.id) + " belongs to another account");
  }
  return Status::Ok();
}

// Contributors act only as their own account's workers; admins as any.
inline Status RequireWorkerOwner(const Principal& p, const Worker& w) {
  RETURN_IF_ERROR(RequireRole(p, {Role::kAdmin, Role::kContributor}, "acting as a worker"));
  if (!p.admin() && w.account != p.account) {
    return PermissionDenied("worker " + w.id + " belongs to another account");
  }
  return Status::Ok();
}

inline int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline json ToJson(const TokenInfo& t) {
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
inline Result<int64_t> TokenExpiry(const json& b, int64_t now_ms) {
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

}  // namespace shoal::api_internal
