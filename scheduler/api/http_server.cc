#include "scheduler/api/http_server.h"

#include <array>
#include <cstdint>
#include <limits>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace shoal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

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

Status HttpServer::Start() {
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
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(ioc_, Accept(), asio::detached);
  return Status::Ok();
}

void HttpServer::Stop() {
  beast::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> HttpServer::Accept() {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      LOG_WARN << "accept: " << ec.message();
      continue;
    }
    asio::co_spawn(ioc_, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  std::string peer;
  {
    beast::error_code ec;
    auto ep = stream.socket().remote_endpoint(ec);
    if (!ec) peer = ep.address().to_string() + ":" + std::to_string(ep.port());
  }
  try {
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      stream.expires_after(options_.read_timeout);
      beast::error_code ec;
      // The header first: the body's limit and deadline may depend on the route (uploads).
      // Beast checks a Content-Length against the limit while parsing the header, so the header
      // is read without one and the route's limit is applied here.
      size_t body_limit = options_.max_body_bytes;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        if (options_.body_policy) {
          const auto& h = parser.get();
          BodyPolicy policy = options_.body_policy(
              std::string_view(h.method_string().data(), h.method_string().size()),
              std::string_view(h.target().data(), h.target().size()));
          body_limit = policy.max_bytes;
          stream.expires_after(policy.timeout);
        }
        if (parser.content_length() && *parser.content_length() > body_limit) {
          ec = http::error::body_limit;
        } else {
          parser.body_limit(body_limit);  // chunked bodies are checked as they arrive
          co_await http::async_read(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
        }
      }
      HttpReply reply;
      bool keep_alive = false;
      unsigned version = 11;
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::connection_reset || ec == asio::error::eof) {
        break;
      } else if (ec == http::error::body_limit) {
        reply = ErrorReply(413, "ResourceExhausted",
                           "request body exceeds " + std::to_string(body_limit) + " bytes");
      } else if (ec) {
        reply = ErrorReply(400, "InvalidArgument", "malformed HTTP request: " + ec.message());
      } else {
        auto& msg = parser.get();
        keep_alive = msg.keep_alive();
        version = msg.version();
        HttpRequest req;
        req.method = std::string(msg.method_string());
        SplitTarget(std::string_view(msg.target().data(), msg.target().size()), &req);
        for (const auto& field : msg) {
          std::string name(field.name_string());
          for (auto& c : name) c = static_cast<char>(std::tolower(c));
          req.headers[name] = std::string(field.value());
        }
        req.body = std::move(msg.body());
        req.peer = peer;
        // Long-polls may hold the request; the handler bounds its own waits.
        stream.expires_never();
        try {
          reply = co_await handler_(std::move(req));
        } catch (const std::exception& e) {
          LOG_ERROR << "handler threw: " << e.what();
          reply = ErrorReply(500, "Internal", std::string("internal error: ") + e.what());
        }
      }
      const bool unread_body = ec == http::error::body_limit;
      http::response<http::string_body> res{static_cast<http::status>(reply.status), version};
      res.set(http::field::server, "shoal-scheduler");
      res.set(http::field::content_type, reply.content_type);
      res.keep_alive(keep_alive);
      res.body() = std::move(reply.body);
      res.prepare_payload();
      stream.expires_after(options_.read_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && unread_body) {
        // Lingering close: closing with the client's body still unread would send a reset that
        // can destroy our 413 before the client reads it. Drain (bounded) after a half-close.
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream.expires_after(std::chrono::seconds(2));
        std::array<char, 16384> sink;
        size_t drained = 0;
        while (drained < (64u << 20)) {
          size_t n = co_await stream.async_read_some(asio::buffer(sink),
                                                     asio::redirect_error(asio::use_awaitable, ec));
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
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace shoal
