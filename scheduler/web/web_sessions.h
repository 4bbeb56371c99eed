// WebSessions: the dashboard's logins (docs/dashboard.md). A person pastes a token once; the
// scheduler answers with a session cookie (HttpOnly, SameSite=Strict, Secure under TLS) whose
// value is a random session id, and the browser sends that cookie instead of the token. Every
// request made with the cookie is authenticated with the session's token again (Auth), so a
// revoked token ends its sessions at once; requests that change anything must also carry the
// session's CSRF token (X-CSRF-Token), which the page reads from the login reply.
//
// Sessions live in memory: a scheduler restart logs everyone out (they log in again). Ids and
// CSRF tokens are 256-bit random strings (OpenSSL's RAND_bytes). Not thread-safe: used on the
// API's event loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace shoal {

struct WebSession {
  std::string token;  // the bearer token the person logged in with
  std::string csrf;   // what X-CSRF-Token must say on POST, PUT, PATCH and DELETE
  int64_t expires_ms = 0;
};

class WebSessions {
 public:
  // A session ends `lifetime_ms` after its login; at most `max_sessions` are kept (the one
  // closest to its end goes first). `clock_ms` gives Unix milliseconds.
  static constexpr int64_t kDefaultLifetimeMs = int64_t{12} * 3600 * 1000;
  static constexpr size_t kDefaultMaxSessions = 10000;
  explicit WebSessions(std::function<int64_t()> clock_ms,
                       int64_t lifetime_ms = kDefaultLifetimeMs,
                       size_t max_sessions = kDefaultMaxSessions);

  // A new session for `token` (already authenticated by the caller); returns its id.
  std::string Create(std::string token);
  // The live session with this id, or nullptr (unknown or ended; an ended one is forgotten).
  // The pointer is valid until the next non-const call.
  const WebSession* Find(std::string_view id);
  void Remove(std::string_view id);
  size_t size() const { return sessions_.size(); }

 private:
  std::function<int64_t()> clock_ms_;
  int64_t lifetime_ms_;
  size_t max_sessions_;
  std::map<std::string, WebSession, std::less<>> sessions_;
};

// The value of cookie `name` in a Cookie header ("a=1; shoal_session=abc"), or "".
std::string CookieValue(std::string_view cookie_header, std::string_view name);

// 64 lower-case hex digits of fresh randomness (256 bits).
std::string RandomHex256();

}  // namespace shoal
