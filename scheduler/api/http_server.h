// HttpServer: an HTTP/1.1 server on Boost.Beast with C++20 coroutines.
//
// One coroutine per connection; requests on a connection are served in order (keep-alive). The
// handler is an awaitable function from request to reply so that long-polls can wait without
// blocking the loop. Every read has a deadline; bodies over the limit get 413 and header/parse
// errors 400, without reaching the handler. Runs entirely on the io_context it is given; not
// thread-safe beyond that (use a single-threaded io_context).
//
// With HttpServerOptions::tls set, every connection is HTTPS (TLS 1.2 or newer) and is served by
// the same request loop as plain HTTP; the TLS handshake runs under read_timeout, and a connection
// whose handshake fails (a plain-HTTP client, a client that rejects the certificate) is closed
// without affecting any other.
#pragma once

#include <chrono>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace shoal {

// A request body the server wrote to a file as it arrived (BodyPolicy::spool_dir), never holding
// it in memory. The file is removed with the last reference, unless the handler took it (moved it
// into place and cleared `path`).
struct SpooledBody {
  std::string path;
  int64_t bytes = 0;
  std::string sha256;  // lower-case hex SHA-256 of the body, computed as it arrived
  SpooledBody() = default;
  SpooledBody(const SpooledBody&) = delete;
  SpooledBody& operator=(const SpooledBody&) = delete;
  ~SpooledBody();
};

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // decoded path without the query, e.g. "/v1/jobs/3"
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // empty when the body was spooled
  std::shared_ptr<SpooledBody> spooled;        // the body, when the route's policy spooled it
  std::string peer;                            // "127.0.0.1:51234"
};

struct HttpReply {
  // A constructor rather than an aggregate, so that {status, body, type} needs no headers.
  HttpReply(int status_in = 200, std::string body_in = "",
            std::string content_type_in = "application/json",
            std::map<std::string, std::string> headers_in = {})
      : status(status_in),
        body(std::move(body_in)),
        content_type(std::move(content_type_in)),
        headers(std::move(headers_in)) {}
  int status;
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;  // extra response headers (e.g. Retry-After)
};

using HttpHandler = std::function<boost::asio::awaitable<HttpReply>(HttpRequest)>;

// How large a request body may be and how long reading it may take, per route; or, with
// `reject`, the answer to send at once without reading the body (e.g. a 401 to an upload with
// no valid token: a stranger's body is never read into memory).
struct BodyPolicy {
  BodyPolicy(size_t max_bytes_in = 1 << 20,
             std::chrono::seconds timeout_in = std::chrono::seconds(30),
             std::optional<HttpReply> reject_in = std::nullopt, std::string spool_dir_in = "")
      : max_bytes(max_bytes_in),
        timeout(timeout_in),
        reject(std::move(reject_in)),
        spool_dir(std::move(spool_dir_in)) {}
  size_t max_bytes;
  std::chrono::seconds timeout;
  std::optional<HttpReply> reject;
  // Non-empty: the body is streamed into a new file in this directory and hashed on the way
  // (HttpRequest::spooled), for bodies too large to hold in memory (checkpoints).
  std::string spool_dir;
};

// The server's identity for HTTPS. Both files are PEM; the key must not be passphrase-protected.
struct TlsServerOptions {
  std::string cert_file;  // the server certificate first, then any intermediates
  std::string key_file;   // the private key of the first certificate in cert_file
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8470;                   // 0 = an ephemeral port (see HttpServer::port())
  size_t max_body_bytes = 1 << 20;        // larger bodies get 413
  std::chrono::seconds read_timeout{30};  // per request, headers and body
  // If set, decides from the request's head (everything but the body, which is empty) once the
  // header is read: the body limit and deadline (e.g. checkpoint uploads are allowed more than
  // max_body_bytes) or a reply without reading the body; else the two above.
  std::function<BodyPolicy(const HttpRequest& head)> body_policy;
  // If set, serve HTTPS only (no plain HTTP on the same port); else plain HTTP.
  std::optional<TlsServerOptions> tls;
  // Open connections at most, in all and from one client address (0 = no cap): one more is
  // closed at once (logged at most every 10 s), so that no single client can hold every
  // descriptor. Behind a proxy every client shares its address: raise the second.
  size_t max_connections = 4096;
  size_t max_connections_per_address = 512;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, HttpServerOptions options, HttpHandler handler);
  ~HttpServer();

  // Loads the TLS certificate and key (when options.tls is set), binds and starts accepting.
  // Returns InvalidArgument, naming the file, if the certificate or key cannot be read or parsed
  // or they do not belong together; Unavailable if the address cannot be bound. Call once.
  Status Start();
  // The bound port (after Start).
  uint16_t port() const { return port_; }
  // Whether connections are served over TLS (options.tls was set).
  bool tls() const { return options_.tls.has_value(); }
  // Stops accepting; open connections finish their current request.
  void Stop();

 private:
  boost::asio::awaitable<void> Accept();
  boost::asio::awaitable<void> Serve(boost::asio::ip::tcp::socket socket);
  // The request loop shared by plain and TLS connections (Stream: beast::tcp_stream or
  // beast::ssl_stream<beast::tcp_stream>); defined in the .cc file.
  template <typename Stream>
  boost::asio::awaitable<void> ServeRequests(Stream& stream, const std::string& peer);

  boost::asio::io_context& ioc_;
  HttpServerOptions options_;
  HttpHandler handler_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // Open connections, in all and per client address (the caps of HttpServerOptions). Shared
  // with the connections' coroutines, whose frames may outlive the server at shutdown.
  struct ConnectionCounts {
    size_t total = 0;
    std::map<std::string, size_t> by_address;
    std::chrono::steady_clock::time_point last_warning{};
  };
  std::shared_ptr<ConnectionCounts> counts_ = std::make_shared<ConnectionCounts>();
  std::unique_ptr<boost::asio::ssl::context> ssl_context_;  // set by Start() when options_.tls
  uint16_t port_ = 0;
};

// JSON error reply of docs/api.md §3: {"error": {"code", "message", "field"}}.
HttpReply ErrorReply(int status, const std::string& code, const std::string& message,
                     const std::string& field = "");
// Maps a Status to its HTTP status and error reply.
HttpReply ErrorReply(const Status& status, const std::string& field = "");

// The non-empty '/'-separated segments of a request path ("/v1/jobs/3/" -> v1, jobs, 3); views
// into `path`.
std::vector<std::string_view> PathSegments(std::string_view path);

}  // namespace shoal
