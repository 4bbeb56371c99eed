#include "common/http_client.h"

#include <type_traits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "common/file_util.h"

namespace shoal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr int64_t kMaxCaFileBytes = 16 << 20;  // a whole system bundle is well under 1 MiB

// The settings every https call shares: built once per client because loading trust stores is
// the expensive part of a TLS client, and an SSL_CTX may create connections on several threads
// at once as long as nobody changes it.
Result<std::shared_ptr<ssl::context>> MakeClientContext(const TlsClientOptions& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  // A host without a system trust store can still trust ca_file: not an error by itself.
  ctx->set_default_verify_paths(ec);
  if (!tls.ca_file.empty()) {
    // Read first for a plain "no such file" rather than OpenSSL's error-queue text.
    Result<std::string> pem = ReadFileLimited(tls.ca_file, kMaxCaFileBytes);
    if (!pem.ok()) {
      return InvalidArgument("cannot read TLS CA file \"" + tls.ca_file +
                             "\": " + pem.status().message());
    }
    ctx->load_verify_file(tls.ca_file, ec);
    if (ec) {
      ERR_clear_error();
      return InvalidArgument("TLS CA file \"" + tls.ca_file +
                             "\" holds no usable PEM certificate: " + ec.message());
    }
  }
  ERR_clear_error();
  return ctx;
}

// SNI and host-name verification for one connection. OpenSSL's own check (rather than a verify
// callback) records a mismatch as the verify result, so the error can say what was wrong.
Status SetPeerName(SSL* ssl, std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  bool ok;
  if (!ec) {
    // An IP literal: matched against the certificate's IP SANs; never sent as SNI (RFC 6066).
    ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  } else {
    ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }
  if (!ok) {
    ERR_clear_error();
    return InvalidArgument("cannot use \"" + host + "\" as a TLS server name");
  }
  return Status::Ok();
}

struct Exchange {
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  beast::error_code ec;
  std::string phase = "resolve";
};

// Resolve, connect, (TLS handshake,) write, read: async operations on a private io_context give
// every phase a real deadline, which the synchronous Beast calls cannot. One deadline, set once,
// bounds all phases after the resolve.
template <typename Stream>
void RunExchange(asio::io_context& ioc, Stream& stream, const Url& url,
                 http::request<http::string_body>& req, std::chrono::milliseconds timeout,
                 Exchange& x) {
  constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp::resolver resolver(ioc);
  auto write_then_read = [&] {
    x.phase = "write";
    http::async_write(stream, req, [&](beast::error_code ec, size_t) {
      // A server may answer early (e.g. 413) and stop reading our body: still read its reply.
      if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset) {
        x.ec = ec;
        return;
      }
      x.phase = "read";
      // Beast reads at most the buffer's free capacity per call: room for 64 KiB reads, or a large
      // reply (a checkpoint download) would arrive in sub-KiB pieces.
      x.buffer.reserve(64 * 1024);
      http::async_read(stream, x.buffer, x.parser,
                       [&](beast::error_code ec, size_t) { x.ec = ec; });
    });
  };
  tcp_layer.expires_after(timeout);
  resolver.async_resolve(
      url.host, url.port, [&](beast::error_code ec, tcp::resolver::results_type rs) {
        if (ec) {
          x.ec = ec;
          return;
        }
        x.phase = "connect";
        tcp_layer.async_connect(rs, [&](beast::error_code ec, const tcp::endpoint&) {
          if (ec) {
            x.ec = ec;
            return;
          }
          if constexpr (kTls) {
            x.phase = "TLS handshake";
            stream.async_handshake(ssl::stream_base::client, [&](beast::error_code ec) {
              if (ec) {
                x.ec = ec;
                return;
              }
              write_then_read();
            });
          } else {
            write_then_read();
          }
        });
      });
  ioc.run();
  // No close_notify: the response is complete, and the server treats a bare close as the end.
  beast::error_code ignored;
  tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

// The Status of a failed TLS handshake: a certificate that failed verification gets its own
// message, since that is a configuration problem the caller has to fix, not a network blip.
Status HandshakeError(SSL* ssl, const std::string& what, const beast::error_code& ec) {
  const long verify = SSL_get_verify_result(ssl);
  ERR_clear_error();
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    return Unavailable(what + ": the scheduler's TLS certificate could not be verified: it is " +
                       "not issued for this host (" + X509_verify_cert_error_string(verify) +
                       "); use a host name or address the certificate names");
  }
  if (verify != X509_V_OK) {
    return Unavailable(what + ": the scheduler's TLS certificate could not be verified (" +
                       X509_verify_cert_error_string(verify) +
                       "); if a private CA signed it, pass that CA's PEM file as the CA file " +
                       "(TLS ca_file option)");
  }
  if (ec == beast::error::timeout) return DeadlineExceeded(what + ": " + ec.message());
  return Unavailable(what + ": " + ec.message() +
                     " (is the server speaking TLS on this port? try http://)");
}

}  // namespace

Result<Url> ParseUrl(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  Url out;
  std::string_view rest;
  if (url.substr(0, kHttp.size()) == kHttp) {
    out.scheme = "http";
    rest = url.substr(kHttp.size());
  } else if (url.substr(0, kHttps.size()) == kHttps) {
    out.scheme = "https";
    rest = url.substr(kHttps.size());
  } else if (url.find("://") != std::string_view::npos) {
    return InvalidArgument("unsupported URL scheme in \"" + std::string(url) +
                           "\" (only http:// and https:// are supported)");
  } else {
    return InvalidArgument("malformed URL \"" + std::string(url) +
                           "\": expected http://host:port or https://host:port");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
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
    out.port = out.scheme == "https" ? "443" : "80";
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

HttpClient::HttpClient(std::string base_url, std::chrono::milliseconds timeout,
                       TlsClientOptions tls)
    : base_url_(std::move(base_url)), url_(ParseUrl(base_url_)), timeout_(timeout) {
  (void)SetTlsOptions(std::move(tls));  // kept in tls_status_, reported by every call
}

Status HttpClient::SetTlsOptions(TlsClientOptions tls) {
  tls_ = std::move(tls);
  ssl_context_.reset();
  tls_status_ = Status::Ok();
  if (url_.ok() && url_->scheme == "https") {
    Result<std::shared_ptr<ssl::context>> ctx = MakeClientContext(tls_);
    if (ctx.ok()) {
      ssl_context_ = std::move(*ctx);
    } else {
      tls_status_ = ctx.status();
    }
  }
  return config_status();
}

Status HttpClient::config_status() const {
  if (!url_.ok()) return url_.status();
  return tls_status_;
}

Result<HttpResponse> HttpClient::Do(std::string_view method, std::string_view target,
                                    std::string_view body, std::string_view content_type,
                                    std::chrono::milliseconds timeout,
                                    const std::map<std::string, std::string>& headers) const {
  RETURN_IF_ERROR(config_status());
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

  asio::io_context ioc;
  Exchange x;
  x.parser.body_limit(max_response_bytes_);
  const std::string what = std::string(method) + " " + base_url_ + std::string(target);
  if (url.scheme == "https") {
    beast::ssl_stream<beast::tcp_stream> stream(ioc, *ssl_context_);
    RETURN_IF_ERROR(SetPeerName(stream.native_handle(), url.host));
    RunExchange(ioc, stream, url, req, timeout, x);
    if (x.ec && x.phase == "TLS handshake") {
      return HandshakeError(stream.native_handle(), what + " (TLS handshake)", x.ec);
    }
    ERR_clear_error();
  } else {
    beast::tcp_stream stream(ioc);
    RunExchange(ioc, stream, url, req, timeout, x);
  }

  if (x.ec) {
    std::string message = what + " (" + x.phase + "): " + x.ec.message();
    if (x.ec == beast::error::timeout) return DeadlineExceeded(message);
    if (x.ec == http::error::body_limit) {
      return ResourceExhausted(message + " (over " + std::to_string(max_response_bytes_) +
                               " bytes)");
    }
    return Unavailable(message);
  }
  HttpResponse out;
  auto& res = x.parser.get();
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
