// A small synchronous HTTP/1.1 client (Boost.Beast) with a deadline on every request.
//
// Each call opens a fresh connection (loopback and LAN use; no keep-alive pool yet). Calls are
// independent, so one HttpClient may be used from several threads at once.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace shoal {

struct Url {
  std::string scheme;  // "http"
  std::string host;
  std::string port;
  std::string base_path;  // without a trailing '/', may be empty
};

// Parses "http://host[:port][/base]"; the port defaults to 80. Returns InvalidArgument for other
// schemes or malformed addresses.
Result<Url> ParseUrl(std::string_view url);

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
};

// Maps an HTTP status and shoal's JSON error body ({"error":{"code","message"}}) to a Status:
// 400→InvalidArgument, 401→Unauthenticated, 403→PermissionDenied, 404→NotFound,
// 409→FailedPrecondition, 413→ResourceExhausted, 503→Unavailable, other 5xx→Internal.
Status StatusFromHttp(const HttpResponse& response);

class HttpClient {
 public:
  // `base_url` like "http://127.0.0.1:8470". An invalid URL is reported by every call.
  explicit HttpClient(std::string base_url,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Sends `method target` (target is appended to the base path) with `body`. Returns the response
  // for any HTTP status; Unavailable when the server cannot be reached, DeadlineExceeded when the
  // whole exchange takes longer than `timeout` (0 = the client's default).
  Result<HttpResponse> Do(std::string_view method, std::string_view target,
                          std::string_view body = {},
                          std::string_view content_type = "application/json",
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
                          const std::map<std::string, std::string>& headers = {}) const;

  // Like Do, then parses the body of a 2xx answer as JSON (an empty body gives null). A non-2xx
  // answer becomes StatusFromHttp(); an unparsable body becomes Internal.
  Result<nlohmann::json> DoJson(std::string_view method, std::string_view target,
                                const nlohmann::json* body = nullptr,
                                std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const;

  const std::string& base_url() const { return base_url_; }
  // Adds a header sent with every request (e.g. the caller's identity). Not thread-safe: call
  // before sharing the client.
  void SetDefaultHeader(std::string name, std::string value) {
    default_headers_[std::move(name)] = std::move(value);
  }

 private:
  std::string base_url_;
  Result<Url> url_;
  std::chrono::milliseconds timeout_;
  std::map<std::string, std::string> default_headers_;
};

// Percent-encodes a path segment or query value.
std::string UrlEncode(std::string_view s);

}  // namespace shoal
