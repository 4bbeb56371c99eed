// A small synchronous HTTP/1.1 client (Boost.Beast) with a deadline on every request.
//
// Each call opens a fresh connection (loopback and LAN use; no keep-alive pool yet). Calls are
// independent, so one HttpClient may be used from several threads at once.
//
// An https:// base URL makes every call HTTPS (TLS 1.2 or newer): the server's certificate must
// chain to a CA of the system's default trust store or of TlsClientOptions::ca_file, and must name
// the URL's host (a DNS name, or an IP address for an IP literal).
//
// Proxies come from the environment as curl reads it (ProxyEnv): http:// requests go to the proxy
// with the absolute URL as the request target; https:// requests open a CONNECT tunnel through it
// and speak TLS with the server itself (which the certificate check still names). NO_PROXY
// exempts hosts.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace shoal {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::string port;
  std::string base_path;  // without a trailing '/', may be empty
};

// Parses "http://host[:port][/base]" or "https://host[:port][/base]"; the port defaults to 80 and
// 443. Returns InvalidArgument for other schemes or malformed addresses.
Result<Url> ParseUrl(std::string_view url);

// The proxy settings of the environment, as curl reads them.
struct ProxyEnv {
  std::string http_proxy;   // http_proxy, else HTTP_PROXY: for http:// URLs
  std::string https_proxy;  // https_proxy, else HTTPS_PROXY: for https:// URLs
  std::string no_proxy;     // no_proxy, else NO_PROXY
  static ProxyEnv FromEnvironment();
};

// A proxy to go through: "http://[user:password@]host[:port]" (the port defaults to 1080, as in
// curl; a proxy URL without a scheme is http://).
struct Proxy {
  Url url;
  std::string authorization;  // "Basic ..." for the Proxy-Authorization header; "" = none
};

// Whether NO_PROXY-style `no_proxy` exempts `host` (curl's rules): a comma-separated list of host
// names or addresses, each matching that host and, for names, its subdomains ("example.com" and
// ".example.com" both match "a.example.com" and "example.com"); "*" matches every host. Case-
// insensitive; blanks around entries are ignored; a ":port" on an entry is ignored. Nothing is
// exempt by default, not even localhost.
bool NoProxyMatches(std::string_view no_proxy, std::string_view host);

// The proxy for requests to `target` under `env`: std::nullopt for a direct connection (no proxy
// set for the scheme, or NO_PROXY matches). InvalidArgument for a proxy URL that does not parse
// or is not http:// (TLS to the proxy itself is not supported).
Result<std::optional<Proxy>> ProxyFor(const Url& target, const ProxyEnv& env);

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string retry_after;  // the Retry-After header of a 429/503 ("" when absent)
  // Every response header, the names lower-cased (a repeated header keeps its last value).
  std::map<std::string, std::string> headers;
};

// Maps an HTTP status and shoal's JSON error body ({"error":{"code","message"}}) to a Status:
// 400→InvalidArgument, 401→Unauthenticated, 403→PermissionDenied, 404→NotFound,
// 409→FailedPrecondition, 413→ResourceExhausted, 503→Unavailable, other 5xx→Internal.
Status StatusFromHttp(const HttpResponse& response);

// How an https:// client verifies the server. Ignored for http:// URLs.
struct TlsClientOptions {
  // PEM file of CA certificates trusted in addition to the system's default trust store (e.g. the
  // private CA that signed the scheduler's certificate). Empty = the system store only.
  std::string ca_file;
};

class HttpClient {
 public:
  // `base_url` like "http://127.0.0.1:8470" or "https://scheduler.example:8470". An invalid URL,
  // for https an unreadable or unparsable `tls.ca_file`, or an unusable proxy setting of the
  // environment (ProxyEnv::FromEnvironment, read here) is reported by config_status() and by
  // every call (as InvalidArgument naming the URL, file or variable).
  explicit HttpClient(std::string base_url,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10),
                      TlsClientOptions tls = {});

  // Sends `method target` (target is appended to the base path) with `body`. Returns the response
  // for any HTTP status; Unavailable when the server cannot be reached or, for https, the TLS
  // handshake fails (the message says so, and whether the server's certificate could not be
  // verified); DeadlineExceeded when the whole exchange (connect, TLS handshake, request and
  // response) takes longer than `timeout` (0 = the client's default).
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
  // OK when calls can be attempted: the URL parses and, for https, the TLS settings (CA file)
  // load. Otherwise the InvalidArgument every call would return.
  Status config_status() const;
  // Adds a header sent with every request (e.g. the caller's identity). Not thread-safe: call
  // before sharing the client.
  void SetDefaultHeader(std::string name, std::string value) {
    default_headers_[std::move(name)] = std::move(value);
  }
  // Replaces the TLS settings (see the constructor); returns config_status(). Not thread-safe:
  // call before sharing the client.
  Status SetTlsOptions(TlsClientOptions tls);
  // Largest response body accepted (default 64 MiB; a larger one fails the call with
  // ResourceExhausted). Not thread-safe: call before sharing the client.
  void SetMaxResponseBytes(uint64_t bytes) { max_response_bytes_ = bytes; }
  // Replaces the proxy settings read from the environment at construction; returns
  // config_status(). Not thread-safe: call before sharing the client.
  Status SetProxyEnv(const ProxyEnv& env);

 private:
  std::string base_url_;
  Result<Url> url_;
  std::chrono::milliseconds timeout_;
  std::map<std::string, std::string> default_headers_;
  TlsClientOptions tls_;
  uint64_t max_response_bytes_ = uint64_t{64} << 20;
  // For https: the verification settings shared (read-only) by all calls and copies of the
  // client, or why they could not be loaded.
  std::shared_ptr<boost::asio::ssl::context> ssl_context_;
  Status tls_status_;
  // The proxy for base_url_ (ProxyFor), or why the proxy settings are unusable.
  Result<std::optional<Proxy>> proxy_ = std::optional<Proxy>();
};

// Percent-encodes a path segment or query value.
std::string UrlEncode(std::string_view s);

}  // namespace shoal
