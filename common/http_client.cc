#include "common/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace shoal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Result<Url> ParseUrl(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  if (url.substr(0, kHttp.size()) != kHttp) {
    if (url.find("://") != std::string_view::npos) {
      return InvalidArgument("unsupported URL scheme in \"" + std::string(url) +
                             "\" (only http:// is supported)");
    }
    return InvalidArgument("malformed URL \"" + std::string(url) + "\": expected http://host:port");
  }
  std::string_view rest = url.substr(kHttp.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Url out;
  out.scheme = "http";
  if (slash != std::string_view::npos) {
    out.base_path = std::string(rest.substr(slash));
    while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  }
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
  } else {
    out.host = std::string(authority);
    out.port = "80";
  }
  if (out.host.empty()) return InvalidArgument("URL \"" + std::string(url) + "\" has no host");
  if (out.port.empty() || out.port.size() > 5 ||
      out.port.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("URL \"" + std::string(url) + "\" has a bad port");
  }
  return out;
}

Status StatusFromHttp(const HttpResponse& response) {
  if (response.status >= 200 && response.status < 300) return Status::Ok();
  std::string message;
  auto parsed = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object()) {
    message = parsed["error"].value("message", "");
    std::string field = parsed["error"].value("field", "");
    if (!field.empty() && message.find(field) == std::string::npos) message = field + ": " + message;
  }
  if (message.empty()) message = response.body.substr(0, 200);
  message = "HTTP " + std::to_string(response.status) + ": " + message;
  switch (response.status) {
    case 400: return InvalidArgument(message);
    case 401: return Status(StatusCode::kUnauthenticated, message);
    case 403: return Status(StatusCode::kPermissionDenied, message);
    case 404: return NotFound(message);
    case 409: return FailedPrecondition(message);
    case 413: return ResourceExhausted(message);
    case 503: return Unavailable(message);
    default:
      if (response.status >= 400 && response.status < 500) return InvalidArgument(message);
      return Internal(message);
  }
}

HttpClient::HttpClient(std::string base_url, std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)), url_(ParseUrl(base_url_)), timeout_(timeout) {}

Result<HttpResponse> HttpClient::Do(std::string_view method, std::string_view target,
                                    std::string_view body, std::string_view content_type,
                                    std::chrono::milliseconds timeout,
                                    const std::map<std::string, std::string>& headers) const {
  if (!url_.ok()) return url_.status();
  const Url& url = *url_;
  if (timeout.count() <= 0) timeout = timeout_;

  http::request<http::string_body> req;
  req.method(http::string_to_verb(std::string(method)));
  if (req.method() == http::verb::unknown) {
    return InvalidArgument("unknown HTTP method " + std::string(method));
  }
  req.target(url.base_path + std::string(target));
  req.version(11);
  req.set(http::field::host, url.host + ":" + url.port);
  req.set(http::field::user_agent, "shoal/0.1");
  for (const auto& [k, v] : default_headers_) req.set(k, v);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.set(http::field::content_type, std::string(content_type));
    req.body() = std::string(body);
    req.prepare_payload();
  }

  // Async operations on a private io_context give every phase a real deadline, which the
  // synchronous Beast calls cannot.
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::error_code result_ec;
  std::string phase = "resolve";

  stream.expires_after(timeout);
  resolver.async_resolve(url.host, url.port, [&](beast::error_code ec, tcp::resolver::results_type rs) {
    if (ec) { result_ec = ec; return; }
    phase = "connect";
    stream.async_connect(rs, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) { result_ec = ec; return; }
      phase = "write";
      http::async_write(stream, req, [&](beast::error_code ec, size_t) {
        // A server may answer early (e.g. 413) and stop reading our body: still read its reply.
        if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset) {
          result_ec = ec;
          return;
        }
        phase = "read";
        http::async_read(stream, buffer, parser, [&](beast::error_code ec, size_t) {
          result_ec = ec;
        });
      });
    });
  });
  ioc.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  if (result_ec) {
    std::string what = std::string(method) + " " + base_url_ + std::string(target) + " (" +
                       phase + "): " + result_ec.message();
    if (result_ec == beast::error::timeout) return DeadlineExceeded(what);
    return Unavailable(what);
  }
  HttpResponse out;
  auto& res = parser.get();
  out.status = res.result_int();
  out.body = std::move(res.body());
  auto ct = res.find(http::field::content_type);
  if (ct != res.end()) out.content_type = std::string(ct->value());
  return out;
}

Result<nlohmann::json> HttpClient::DoJson(std::string_view method, std::string_view target,
                                          const nlohmann::json* body,
                                          std::chrono::milliseconds timeout) const {
  std::string payload = body != nullptr ? body->dump() : std::string();
  ASSIGN_OR_RETURN(HttpResponse response,
                   Do(method, target, payload, "application/json", timeout));
  RETURN_IF_ERROR(StatusFromHttp(response));
  if (response.body.empty()) return nlohmann::json();
  auto parsed = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Internal("server sent a body that is not JSON: " + response.body.substr(0, 200));
  }
  return parsed;
}

std::string UrlEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace shoal
