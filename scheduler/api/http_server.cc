#include "scheduler/api/http_server.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/file_util.h"
#include "common/sha256.h"
#include "common/log.h"

namespace shoal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr int64_t kMaxPemBytes = 1 << 20;

// Reads a PEM file for the TLS context; any failure is the operator's configuration, so
// InvalidArgument naming the file.
Result<std::string> ReadPem(const std::string& what, const std::string& path) {
  if (path.empty()) return InvalidArgument("TLS " + what + " file not set");
  Result<std::string> pem = ReadFileLimited(path, kMaxPemBytes);
  if (!pem.ok()) {
    return InvalidArgument("cannot read TLS " + what + " file \"" + path +
                           "\": " + pem.status().message());
  }
  return pem;
}

Result<std::unique_ptr<ssl::context>> MakeServerContext(const TlsServerOptions& tls) {
  ASSIGN_OR_RETURN(std::string cert_pem, ReadPem("certificate", tls.cert_file));
  ASSIGN_OR_RETURN(std::string key_pem, ReadPem("private key", tls.key_file));
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // An encrypted key must fail here, not make OpenSSL prompt for a passphrase on the terminal.
  ctx->set_password_callback(
      [](std::size_t, ssl::context::password_purpose) { return std::string(); });
  beast::error_code ec;
  ctx->use_certificate_chain(asio::buffer(cert_pem), ec);
  if (ec) {
    ERR_clear_error();
    return InvalidArgument("cannot load TLS certificate file \"" + tls.cert_file +
                           "\": " + ec.message() + " (expected PEM certificates)");
  }
  ctx->use_private_key(asio::buffer(key_pem), ssl::context::pem, ec);
  if (ec) {
    const bool mismatch =
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
    ERR_clear_error();
    if (mismatch) {
      return InvalidArgument("TLS private key file \"" + tls.key_file +
                             "\" does not match the certificate in \"" + tls.cert_file + "\"");
    }
    return InvalidArgument("cannot load TLS private key file \"" + tls.key_file +
                           "\": " + ec.message() + " (expected an unencrypted PEM key)");
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return InvalidArgument("TLS private key file \"" + tls.key_file +
                           "\" does not match the certificate in \"" + tls.cert_file + "\"");
  }
  return ctx;
}

// The peer went away or the transport (TCP or TLS) failed: there is nobody to answer.
bool ConnectionGone(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout ||
         ec == asio::error::connection_reset || ec == asio::error::eof ||
         ec == ssl::error::stream_truncated || ec.category() == asio::error::get_ssl_category();
}

int FromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && FromHex(s[i + 1]) >= 0 && FromHex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(FromHex(s[i + 1]) * 16 + FromHex(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void SplitTarget(std::string_view target, HttpRequest* req) {
  size_t q = target.find('?');
  req->path = PercentDecode(target.substr(0, q), false);
  if (q == std::string_view::npos) return;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    size_t eq = kv.find('=');
    std::string key = PercentDecode(kv.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1), true);
    if (!key.empty()) req->query[key] = value;
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
}

}  // namespace

HttpReply ErrorReply(int status, const std::string& code, const std::string& message,
                     const std::string& field) {
  nlohmann::json err = {{"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  // Messages may quote the request (a path, a key) and so invalid UTF-8: replaced, never thrown.
  return {status,
          nlohmann::json{{"error", err}}.dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace) +
              "\n",
          "application/json"};
}

std::vector<std::string_view> PathSegments(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

HttpReply ErrorReply(const Status& status, const std::string& field) {
  int http_status = 500;
  switch (status.code()) {
    case StatusCode::kInvalidArgument: http_status = 400; break;
    case StatusCode::kUnauthenticated: http_status = 401; break;
    case StatusCode::kPermissionDenied: http_status = 403; break;
    case StatusCode::kNotFound: http_status = 404; break;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition: http_status = 409; break;
    case StatusCode::kResourceExhausted: http_status = 413; break;
    case StatusCode::kUnavailable: http_status = 503; break;
    case StatusCode::kDeadlineExceeded: http_status = 504; break;
    default: http_status = 500;
  }
  return ErrorReply(http_status, StatusCodeName(status.code()), status.message(), field);
}

HttpServer::HttpServer(asio::io_context& ioc, HttpServerOptions options, HttpHandler handler)
    : ioc_(ioc), options_(std::move(options)), handler_(std::move(handler)), acceptor_(ioc) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Start() {
  if (options_.tls) {
    ASSIGN_OR_RETURN(ssl_context_, MakeServerContext(*options_.tls));
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.address, ec);
  if (ec) return InvalidArgument("bad listen address " + options_.address + ": " + ec.message());
  tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unavailable("cannot listen on " + options_.address + ":" +
                       std::to_string(options_.port) + ": " + ec.message());
  }
  // So that the synchronous accept with which Accept() sheds a connection never blocks the loop.
  if (!ec) acceptor_.non_blocking(true, ec);
  if (ec) return Unavailable("cannot make the listening socket non-blocking: " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(ioc_, Accept(), asio::detached);
  return Status::Ok();
}

void HttpServer::Stop() {
  beast::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> HttpServer::Accept() {
  // Out of descriptors (EMFILE/ENFILE), accept fails at once for as long as the backlog holds a
  // connection: retrying at once spun a core and wrote the same warning thousands of times a
  // second. So: a reserve descriptor, given up to accept one waiting connection and close it at
  // once (its client gets an immediate close rather than an endless wait, and the backlog
  // drains), a growing pause between retries, and the warning at most every 10 s with a count.
  int reserve = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto backoff = std::chrono::milliseconds(0);
  int64_t failures = 0;
  auto last_warning = std::chrono::steady_clock::time_point{};
  asio::steady_timer pause(ioc_);
  for (;;) {
    beast::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      backoff = std::chrono::milliseconds(0);
      if (reserve < 0) reserve = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      asio::co_spawn(ioc_, Serve(std::move(socket)), asio::detached);
      continue;
    }
    if (!acceptor_.is_open()) break;
    ++failures;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_warning >= std::chrono::seconds(10)) {
      LOG_WARN << "accept: " << ec.message() << " (" << failures
               << " failures since the last warning; pausing up to 1 s between tries)";
      last_warning = now;
      failures = 0;
    }
    const bool out_of_fds = ec == asio::error::no_descriptors ||
                            ec.value() == ENFILE || ec.value() == EMFILE;
    if (out_of_fds && reserve >= 0) {
      ::close(reserve);
      reserve = -1;
      beast::error_code shed_ec;
      tcp::socket shed = acceptor_.accept(shed_ec);  // non-blocking: would_block if none waits
      if (!shed_ec) shed.close(shed_ec);
      reserve = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    backoff = std::min(std::max(backoff * 2, std::chrono::milliseconds(10)),
                       std::chrono::milliseconds(1000));
    pause.expires_after(backoff);
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (reserve >= 0) ::close(reserve);
}

asio::awaitable<void> HttpServer::Serve(tcp::socket socket) {
  std::string peer, address;
  {
    beast::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) {
      address = ep.address().to_string();
      peer = address + ":" + std::to_string(ep.port());
    }
  }
  // The caps: counted for the connection's life (this coroutine's frame).
  std::shared_ptr<ConnectionCounts> counts = counts_;
  size_t& from_address = counts->by_address[address];
  if ((options_.max_connections > 0 && counts->total >= options_.max_connections) ||
      (options_.max_connections_per_address > 0 &&
       from_address >= options_.max_connections_per_address)) {
    const auto now = std::chrono::steady_clock::now();
    if (now - counts->last_warning >= std::chrono::seconds(10)) {
      LOG_WARN << "refusing a connection from " << address << ": " << counts->total
               << " open in all, " << from_address << " from it (caps "
               << options_.max_connections << " and " << options_.max_connections_per_address
               << ")";
      counts->last_warning = now;
    }
    if (from_address == 0) counts->by_address.erase(address);
    beast::error_code ignored;
    socket.close(ignored);
    co_return;
  }
  ++counts->total;
  ++from_address;
  struct Release {
    std::shared_ptr<ConnectionCounts> counts;
    std::string address;
    ~Release() {
      --counts->total;
      auto it = counts->by_address.find(address);
      if (it != counts->by_address.end() && --it->second == 0) counts->by_address.erase(it);
    }
  } release{counts, address};
  if (!ssl_context_) {
    beast::tcp_stream stream(std::move(socket));
    co_await ServeRequests(stream, peer);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *ssl_context_);
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
  co_await stream.async_handshake(ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    // Plain HTTP on the TLS port, a client that rejects our certificate, a port scanner: only
    // this connection is affected. The socket closes with `stream`.
    ERR_clear_error();
    LOG_INFO << "TLS handshake with " << peer << " failed: " << ec.message();
    co_return;
  }
  co_await ServeRequests(stream, peer);
  // close_notify, bounded: a peer that never answers ours costs at most a second.
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  ERR_clear_error();
}

SpooledBody::~SpooledBody() {
  if (!path.empty()) ::unlink(path.c_str());
}

namespace {

// Reads the body that follows `header_parser`'s header into a new file in `dir`, hashing it on
// the way, in 256 KiB pieces: an upload of any size costs the scheduler that much memory. On a
// network error sets *ec; on a disk error sets *disk_error (the body is then partly unread).
// Either way returns nullptr, and the partial file is gone.
template <typename Stream>
asio::awaitable<std::shared_ptr<SpooledBody>> SpoolBody(
    Stream& stream, beast::flat_buffer& buffer,
    http::request_parser<http::string_body>& header_parser, size_t limit, const std::string& dir,
    beast::error_code* ec, std::string* disk_error) {
  http::request_parser<http::buffer_body> parser(std::move(header_parser));
  parser.body_limit(limit);
  auto out = std::make_shared<SpooledBody>();
  std::string name = dir + "/upload-XXXXXX";
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) {
    *disk_error = "cannot create a file in " + dir + ": " + std::strerror(errno);
    co_return nullptr;
  }
  out->path = name;
  Sha256 sha;
  std::vector<char> chunk(256 << 10);
  buffer.reserve(buffer.size() + 64 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, *ec));
    if (*ec == http::error::need_buffer) *ec = {};
    if (*ec) break;
    const size_t n = chunk.size() - parser.get().body().size;
    for (size_t done = 0; done < n;) {
      const ssize_t w = ::write(fd, chunk.data() + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        *disk_error = "cannot write the upload to " + dir + ": " + std::strerror(errno);
        break;
      }
      done += static_cast<size_t>(w);
    }
    if (!disk_error->empty()) break;
    sha.Update(std::string_view(chunk.data(), n));
    out->bytes += static_cast<int64_t>(n);
  }
  ::close(fd);
  if (*ec || !disk_error->empty()) co_return nullptr;
  out->sha256 = sha.HexDigest();
  co_return out;
}

}  // namespace

template <typename Stream>
asio::awaitable<void> HttpServer::ServeRequests(Stream& stream, const std::string& peer) {
  // The TCP layer carries the deadlines and the half-close of a lingering close, under TLS too.
  auto& tcp_layer = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  try {
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      tcp_layer.expires_after(options_.read_timeout);
      beast::error_code ec;
      // The header first: the body's limit and deadline may depend on the route (uploads).
      // Beast checks a Content-Length against the limit while parsing the header, so the header
      // is read without one and the route's limit is applied here.
      size_t body_limit = options_.max_body_bytes;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      HttpRequest req;
      std::optional<HttpReply> rejected;
      std::string disk_error;  // a spooled body could not be written
      bool spooling = false;
      bool header_keep_alive = false;  // what the request asked for
      unsigned version = 11;
      if (!ec) {
        header_keep_alive = parser.get().keep_alive();
        version = parser.get().version();
        const auto& h = parser.get();
        req.method = std::string(h.method_string());
        SplitTarget(std::string_view(h.target().data(), h.target().size()), &req);
        for (const auto& field : h) {
          std::string name(field.name_string());
          for (auto& c : name) c = static_cast<char>(std::tolower(c));
          req.headers[name] = std::string(field.value());
        }
        req.peer = peer;
        std::string spool_dir;
        if (options_.body_policy) {
          BodyPolicy policy = options_.body_policy(req);
          body_limit = policy.max_bytes;
          tcp_layer.expires_after(policy.timeout);
          rejected = std::move(policy.reject);
          spool_dir = std::move(policy.spool_dir);
        }
        if (rejected) {
          // Answered from the head alone: the body, if any, is drained below, never stored.
        } else if (parser.content_length() && *parser.content_length() > body_limit) {
          ec = http::error::body_limit;
        } else if (!spool_dir.empty()) {
          spooling = true;
          req.spooled =
              co_await SpoolBody(stream, buffer, parser, body_limit, spool_dir, &ec, &disk_error);
        } else {
          parser.body_limit(body_limit);  // chunked bodies are checked as they arrive
          // Beast reads at most the buffer's free capacity per call (512 bytes at least); after a
          // header that is a few hundred bytes, so a large body would arrive in tiny reads (a
          // 0.5 GiB upload took 6 s of this thread's time). Give it room for 64 KiB reads.
          if (!parser.content_length() || *parser.content_length() > 4096) {
            buffer.reserve(buffer.size() + 64 * 1024);
          }
          co_await http::async_read(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
        }
      }
      HttpReply reply;
      bool keep_alive = false;  // only after a request served whole
      if (ConnectionGone(ec)) {
        break;
      } else if (!disk_error.empty()) {
        LOG_ERROR << disk_error;
        reply = ErrorReply(507, "Unavailable", disk_error);
      } else if (rejected) {
        reply = std::move(*rejected);
      } else if (ec == http::error::body_limit) {
        reply = ErrorReply(413, "ResourceExhausted",
                           "request body exceeds " + std::to_string(body_limit) + " bytes");
      } else if (ec) {
        reply = ErrorReply(400, "InvalidArgument", "malformed HTTP request: " + ec.message());
      } else {
        keep_alive = header_keep_alive;
        if (!spooling) req.body = std::move(parser.get().body());
        // Long-polls may hold the request; the handler bounds its own waits.
        tcp_layer.expires_never();
        try {
          reply = co_await handler_(std::move(req));
        } catch (const std::exception& e) {
          LOG_ERROR << "handler threw: " << e.what();
          reply = ErrorReply(500, "Internal", std::string("internal error: ") + e.what());
        }
      }
      const bool unread_body = ec == http::error::body_limit || !disk_error.empty() ||
                               (rejected && !ec && !parser.is_done());
      http::response<http::string_body> res{static_cast<http::status>(reply.status), version};
      res.set(http::field::server, "shoal-scheduler");
      res.set(http::field::content_type, reply.content_type);
      for (const auto& [name, value] : reply.headers) res.set(name, value);
      res.keep_alive(keep_alive);
      res.body() = std::move(reply.body);
      res.prepare_payload();
      tcp_layer.expires_after(options_.read_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && unread_body) {
        // Lingering close: closing with the client's body still unread would send a reset that
        // can destroy our 413 before the client reads it. Drain (bounded) after a half-close.
        // Under TLS the drained bytes are records nobody needs to decrypt: read below TLS.
        tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ec);
        tcp_layer.expires_after(std::chrono::seconds(2));
        std::array<char, 16384> sink;
        size_t drained = 0;
        while (drained < (64u << 20)) {
          size_t n = co_await tcp_layer.async_read_some(
              asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
          if (ec) break;
          drained += n;
        }
        break;
      }
      if (ec || !keep_alive) break;
    }
  } catch (const std::exception& e) {
    LOG_WARN << "connection from " << peer << ": " << e.what();
  }
}

}  // namespace shoal
