// The dashboard's routes (docs/dashboard.md): its assets at /ui/ and its login at
// /ui/api/session. Both are answered before the API's token check: the assets hold no data, and
// the login is where a token becomes a session.
#include <chrono>

#include "scheduler/api/api.h"
#include "scheduler/api/api_internal.h"

namespace shoal {

using namespace api_internal;  // NOLINT(build/namespaces): the Api's shared helpers

namespace {

constexpr const char* kSessionCookie = "shoal_session";

// A strict policy: the page's own scripts and styles only, no inline script, no framing.
void AddPageHeaders(HttpReply* r) {
  r->headers["Content-Security-Policy"] =
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
      "frame-ancestors 'none'; form-action 'self'";
  r->headers["X-Content-Type-Options"] = "nosniff";
  r->headers["X-Frame-Options"] = "DENY";
  r->headers["Referrer-Policy"] = "no-referrer";
  r->headers["Cache-Control"] = "no-cache";
}

}  // namespace

const WebSession* Api::SessionOf(const HttpRequest& req) {
  auto cookie = req.headers.find("cookie");
  if (cookie == req.headers.end()) return nullptr;
  const std::string id = CookieValue(cookie->second, kSessionCookie);
  return id.empty() ? nullptr : sessions_.Find(id);
}

std::string Api::SessionCookie(const std::string& value, int64_t max_age_s) const {
  return std::string(kSessionCookie) + "=" + value +
         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s) +
         (ui_.secure_cookies ? "; Secure" : "");
}

Result<Principal> Api::AuthenticateToken(const HttpRequest& req, const std::string& token,
                                         HttpReply* refusal) {
  HttpRequest as_bearer;
  as_bearer.method = "GET";
  as_bearer.path = req.path;
  as_bearer.peer = req.peer;  // failures count against the caller's address
  as_bearer.headers["authorization"] = "Bearer " + token;
  return AuthenticateRequest(as_bearer, refusal);
}

HttpReply Api::Ui(const HttpRequest& req, RouteId route, const std::vector<std::string>& params) {
  HttpReply reply = route == RouteId::kUiSession ? UiSession(req) : UiAsset(req, params);
  AddPageHeaders(&reply);
  return reply;
}

HttpReply Api::UiAsset(const HttpRequest& req, const std::vector<std::string>& params) {
  if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed(req);
  if (ui_.files.empty()) {
    return ErrorReply(404, "NotFound", "this scheduler serves no dashboard: " + ui_.missing);
  }
  // "/ui" and "/ui/" are the page; the page's links are relative to /ui/.
  if (params.empty() && req.path != "/ui/") {
    return HttpReply{308, "", "text/plain", {{"Location", "/ui/"}}};
  }
  const StaticFile* file = ui_.files.Find(params.empty() ? "" : params[0]);
  if (file == nullptr) return ErrorReply(404, "NotFound", "no dashboard file " + req.path);
  return HttpReply{200, req.method == "HEAD" ? "" : file->body, file->content_type};
}

HttpReply Api::UiSession(const HttpRequest& req) {
  if (req.method == "POST") {
    // {"token": "..."}: checked like an Authorization header (and rate-limited the same way).
    auto body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
      return ErrorReply(400, "InvalidArgument", "expected {\"token\": \"...\"}", "token");
    }
    const std::string token = body["token"].get<std::string>();
    HttpReply refusal;
    auto principal = AuthenticateToken(req, token, &refusal);
    if (!principal.ok()) return refusal;
    const std::string id = sessions_.Create(token);
    const WebSession* session = sessions_.Find(id);
    HttpReply reply = JsonReply(200, json{{"account", principal->account},
                                          {"role", ToString(principal->role)},
                                          {"csrf", session->csrf}});
    reply.headers["Set-Cookie"] = SessionCookie(id, WebSessions::kDefaultLifetimeMs / 1000);
    return reply;
  }
  if (req.method != "GET" && req.method != "DELETE") return MethodNotAllowed(req);
  const WebSession* session = SessionOf(req);
  if (session == nullptr) {
    return ErrorReply(401, "Unauthenticated", "no dashboard session: log in with a token");
  }
  if (req.method == "DELETE") {
    auto csrf = req.headers.find("x-csrf-token");
    if (csrf == req.headers.end() || csrf->second != session->csrf) {
      return ErrorReply(403, "PermissionDenied", "missing or wrong X-CSRF-Token");
    }
    sessions_.Remove(CookieValue(req.headers.at("cookie"), kSessionCookie));
    HttpReply reply = JsonReply(200, json::object());
    reply.headers["Set-Cookie"] = SessionCookie("", 0);
    return reply;
  }
  // GET: who the session is (a page opened again), with its CSRF token; its token is checked
  // again, so a revoked one ends the session here too.
  HttpReply refusal;
  auto principal = AuthenticateToken(req, session->token, &refusal);
  if (!principal.ok()) return refusal;
  return JsonReply(200, json{{"account", principal->account},
                             {"role", ToString(principal->role)},
                             {"csrf", session->csrf}});
}

}  // namespace shoal
