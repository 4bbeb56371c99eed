#include "common/http_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
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
  bool via_proxy = false;  // connecting to a proxy rather than to the server
  int connect_status = 0;  // the proxy's answer to CONNECT (0 = none)
};

// Resolve, connect, (TLS handshake,) write, read: async operations on a private io_context give
// every phase a real deadline, which the synchronous Beast calls cannot. One deadline, set once,
// bounds all phases after the resolve.
//
// `connect_to` is the server, or the proxy when there is one. With a `tunnel` (host:port), the
// connection first asks the proxy to CONNECT there (with `proxy_authorization`, if any), and
// the TLS handshake and the request then go through that tunnel.
template <typename Stream>
void RunExchange(asio::io_context& ioc, Stream& stream, const Url& connect_to,
                 const std::string& tunnel, const std::string& proxy_authorization,
                 http::request<http::string_body>& req, std::chrono::milliseconds timeout,
                 Exchange& x) {
  constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp::resolver resolver(ioc);
  http::request<http::empty_body> connect_req;
  http::response_parser<http::empty_body> connect_parser;
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
  if (x.via_proxy) x.phase = "resolve proxy";
  resolver.async_resolve(
      connect_to.host, connect_to.port, [&](beast::error_code ec, tcp::resolver::results_type rs) {
        if (ec) {
          x.ec = ec;
          return;
        }
        x.phase = x.via_proxy ? "connect to proxy" : "connect";
        tcp_layer.async_connect(rs, [&](beast::error_code ec, const tcp::endpoint&) {
          if (ec) {
            x.ec = ec;
            return;
          }
          auto after_tunnel = [&] {
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
          };
          if (tunnel.empty()) {
            after_tunnel();
            return;
          }
          x.phase = "proxy CONNECT";
          connect_req.method(http::verb::connect);
          connect_req.target(tunnel);
          connect_req.version(11);
          connect_req.set(http::field::host, tunnel);
          if (!proxy_authorization.empty()) {
            connect_req.set(http::field::proxy_authorization, proxy_authorization);
          }
          http::async_write(
              tcp_layer, connect_req, [&, after_tunnel](beast::error_code ec, size_t) {
                if (ec) {
                  x.ec = ec;
                  return;
                }
                // A 2xx answer to CONNECT has no body: the tunnel starts right after the header.
                connect_parser.skip(true);
                http::async_read_header(tcp_layer, x.buffer, connect_parser,
                                        [&, after_tunnel](beast::error_code ec, size_t) {
                                          if (ec) {
                                            x.ec = ec;
                                            return;
                                          }
                                          x.connect_status = connect_parser.get().result_int();
                                          if (x.connect_status < 200 || x.connect_status > 299) {
                                            x.ec = asio::error::connection_refused;
                                            return;
                                          }
                                          after_tunnel();
                                        });
              });
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

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Unbracket(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::string(host);
}

std::string Getenv(const char* lower, const char* upper) {
  const char* v = std::getenv(lower);
  if (v == nullptr || *v == '\0') v = std::getenv(upper);
  return v != nullptr ? v : "";
}

// Whether `address` lies in the CIDR block `cidr` ("10.0.0.0/8", "fd00::/8").
bool InCidr(const asio::ip::address& address, std::string_view cidr) {
  size_t slash = cidr.find('/');
  beast::error_code ec;
  asio::ip::address net = asio::ip::make_address(std::string(cidr.substr(0, slash)), ec);
  if (ec || net.is_v4() != address.is_v4()) return false;
  int bits = 0;
  std::string_view len = cidr.substr(slash + 1);
  auto [p, err] = std::from_chars(len.data(), len.data() + len.size(), bits);
  if (err != std::errc() || p != len.data() + len.size()) return false;
  std::vector<unsigned char> a, n;
  if (address.is_v4()) {
    auto x = address.to_v4().to_bytes(), y = net.to_v4().to_bytes();
    a.assign(x.begin(), x.end());
    n.assign(y.begin(), y.end());
  } else {
    auto x = address.to_v6().to_bytes(), y = net.to_v6().to_bytes();
    a.assign(x.begin(), x.end());
    n.assign(y.begin(), y.end());
  }
  if (bits < 0 || bits > static_cast<int>(a.size() * 8)) return false;
  for (int i = 0; i < bits; ++i) {
    const int mask = 0x80 >> (i % 8);
    if ((a[i / 8] & mask) != (n[i / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

ProxyEnv ProxyEnv::FromEnvironment() {
  ProxyEnv env;
  env.http_proxy = Getenv("http_proxy", "HTTP_PROXY");
  env.https_proxy = Getenv("https_proxy", "HTTPS_PROXY");
  env.no_proxy = Getenv("no_proxy", "NO_PROXY");
  return env;
}

bool NoProxyMatches(std::string_view no_proxy, std::string_view host_in) {
  const std::string host = Lower(Unbracket(host_in));
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  const bool is_ip = !ec;
  while (!no_proxy.empty()) {
    const size_t comma = no_proxy.find(',');
    std::string_view entry = Trim(no_proxy.substr(0, comma));
    no_proxy = comma == std::string_view::npos ? std::string_view() : no_proxy.substr(comma + 1);
    if (entry.empty()) continue;
    if (entry == "*") return true;
    // "[::1]:8470" -> "::1"; "host:8470" -> "host"; a bare IPv6 address keeps its colons.
    if (entry.front() == '[') {
      entry = entry.substr(1, entry.find(']') == std::string_view::npos ? std::string_view::npos
                                                                        : entry.find(']') - 1);
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      entry = entry.substr(0, entry.find(':'));
    }
    if (is_ip) {
      // Addresses match exactly or by CIDR block, never as a name suffix.
      if (entry.find('/') != std::string_view::npos) {
        if (InCidr(address, entry)) return true;
        continue;
      }
      asio::ip::address other = asio::ip::make_address(std::string(entry), ec);
      if (!ec && other == address) return true;
      continue;
    }
    while (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
    const std::string name = Lower(entry);
    if (name.empty()) continue;
    if (host == name) return true;
    if (host.size() > name.size() &&
        host.compare(host.size() - name.size(), name.size(), name) == 0 &&
        host[host.size() - name.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

Result<std::optional<Proxy>> ProxyFor(const Url& target, const ProxyEnv& env) {
  const bool https = target.scheme == "https";
  std::string text = https ? env.https_proxy : env.http_proxy;
  if (text.empty() || NoProxyMatches(env.no_proxy, target.host)) return std::optional<Proxy>();
  const std::string variable = https ? "https_proxy/HTTPS_PROXY" : "http_proxy/HTTP_PROXY";
  if (text.find("://") == std::string::npos) text = "http://" + text;
  if (text.rfind("http://", 0) != 0) {
    return InvalidArgument("proxy \"" + text + "\" in " + variable +
                           ": only http:// proxies are supported");
  }
  std::string rest = text.substr(7);
  Proxy proxy;
  const size_t slash = rest.find('/');
  const size_t at = rest.rfind('@', slash);
  if (at != std::string::npos) {
    // user:password, base64 for Basic authentication (RFC 7617).
    const std::string credentials = rest.substr(0, at);
    std::string encoded(4 * ((credentials.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                  reinterpret_cast<const unsigned char*>(credentials.data()),
                                  static_cast<int>(credentials.size()));
    encoded.resize(static_cast<size_t>(std::max(n, 0)));
    proxy.authorization = "Basic " + encoded;
    rest = rest.substr(at + 1);
  }
  std::string authority = rest.substr(0, rest.find('/'));
  const size_t close = authority.find(']');
  const bool has_port =
      authority.find(':', close == std::string::npos ? 0 : close) != std::string::npos &&
      (close != std::string::npos || std::count(authority.begin(), authority.end(), ':') == 1);
  if (!has_port) authority += ":1080";  // curl's default proxy port
  Result<Url> url = ParseUrl("http://" + authority);
  if (!url.ok()) {
    return InvalidArgument("proxy in " + variable + ": " + url.status().message());
  }
  proxy.url = *url;
  return std::optional<Proxy>(std::move(proxy));
}

HttpClient::HttpClient(std::string base_url, std::chrono::milliseconds timeout,
                       TlsClientOptions tls)
    : base_url_(std::move(base_url)), url_(ParseUrl(base_url_)), timeout_(timeout) {
  (void)SetTlsOptions(std::move(tls));  // kept in tls_status_, reported by every call
  (void)SetProxyEnv(ProxyEnv::FromEnvironment());  // likewise in proxy_
}

Status HttpClient::SetProxyEnv(const ProxyEnv& env) {
  proxy_ = std::optional<Proxy>();
  if (url_.ok()) proxy_ = ProxyFor(*url_, env);
  return config_status();
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
  if (!proxy_.ok()) return proxy_.status();
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
  const std::optional<Proxy>& proxy = *proxy_;
  // Through a proxy, plain HTTP names the whole URL in the request line (absolute-form); HTTPS
  // names only the path, inside the tunnel.
  const bool absolute_form = proxy.has_value() && url.scheme == "http";
  req.target((absolute_form ? "http://" + url.host + ":" + url.port : std::string()) +
             url.base_path + std::string(target));
  if (absolute_form && !proxy->authorization.empty()) {
    req.set(http::field::proxy_authorization, proxy->authorization);
  }
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
  x.via_proxy = proxy.has_value();
  const Url& connect_to = proxy ? proxy->url : url;
  const std::string tunnel = proxy && url.scheme == "https" ? url.host + ":" + url.port : "";
  const std::string proxy_authorization = proxy ? proxy->authorization : "";
  const std::string what = std::string(method) + " " + base_url_ + std::string(target) +
                           (proxy ? " via proxy " + proxy->url.host + ":" + proxy->url.port : "");
  if (url.scheme == "https") {
    beast::ssl_stream<beast::tcp_stream> stream(ioc, *ssl_context_);
    RETURN_IF_ERROR(SetPeerName(stream.native_handle(), url.host));
    RunExchange(ioc, stream, connect_to, tunnel, proxy_authorization, req, timeout, x);
    if (x.ec && x.phase == "TLS handshake") {
      return HandshakeError(stream.native_handle(), what + " (TLS handshake)", x.ec);
    }
    ERR_clear_error();
  } else {
    beast::tcp_stream stream(ioc);
    RunExchange(ioc, stream, connect_to, tunnel, proxy_authorization, req, timeout, x);
  }

  if (x.ec && x.connect_status != 0) {
    return Unavailable(what + ": the proxy answered CONNECT with HTTP " +
                       std::to_string(x.connect_status));
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
  if (auto ra = res.find(http::field::retry_after); ra != res.end()) {
    out.retry_after = std::string(ra->value());
  }
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[std::move(name)] = std::string(field.value());
  }
  return out;
}

Result<nlohmann::json> HttpClient::DoJson(std::string_view method, std::string_view target,
                                          const nlohmann::json* body,
                                          std::chrono::milliseconds timeout) const {
  // `replace`: a caller's string with invalid UTF-8 (a trainer's log line) is sent with U+FFFD
  // rather than throwing out of the caller's thread.
  std::string payload =
      body != nullptr
          ? body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          : std::string();
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
