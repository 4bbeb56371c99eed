// HTTPS end to end: HttpServer with TlsServerOptions against HttpClient with TlsClientOptions, on
// 127.0.0.1 with certificates made by tests/testing/tls_certs.h. Every client call is bounded by a
// few seconds and every server runs on its own io_context thread that the fixture always stops.
#include <stdlib.h>

#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>

#include "common/http_client.h"
#include "scheduler/api/http_server.h"
#include "tests/testing/tls_certs.h"

namespace shoal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kClientTimeout = seconds(3);
// A failure must come back well within the client's deadline plus scheduling slack.
constexpr milliseconds kFailureBound = kClientTimeout + seconds(2);

// GET /hello answers "hello"; POST /echo answers the body it got.
asio::awaitable<HttpReply> Handle(HttpRequest req) {
  if (req.path == "/echo") {
    co_return HttpReply{200, std::move(req.body), "application/octet-stream"};
  }
  if (req.path == "/hello") co_return HttpReply{200, "hello", "text/plain"};
  co_return ErrorReply(404, "NotFound", "no route " + req.path);
}

std::string Pattern(size_t bytes) {
  std::string s(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) s[i] = static_cast<char>('a' + (i * 7919) % 26);
  return s;
}

class HttpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto files = testing::WriteTestTlsFiles(dir_);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    files_ = *files;
  }

  void TearDown() override {
    StopServer();
    std::filesystem::remove_all(dir_);
  }

  // Starts a server (TLS when `tls` is set) on an ephemeral port and runs it on a thread.
  Status StartServer(std::optional<TlsServerOptions> tls, size_t max_body_bytes = 2 << 20) {
    ioc_ = std::make_unique<asio::io_context>();
    HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.max_body_bytes = max_body_bytes;
    options.read_timeout = seconds(3);
    options.tls = std::move(tls);
    server_ = std::make_unique<HttpServer>(*ioc_, options, Handle);
    Status started = server_->Start();
    if (started.ok()) thread_ = std::thread([this] { ioc_->run(); });
    return started;
  }
  Status StartTlsServer() {
    return StartServer(TlsServerOptions{files_.cert_file, files_.key_file});
  }

  void StopServer() {
    if (thread_.joinable()) {
      asio::post(*ioc_, [this] { server_->Stop(); });
      ioc_->stop();
      thread_.join();
    }
    server_.reset();  // before the io_context its sockets belong to
    ioc_.reset();
  }

  std::string Url(const std::string& scheme, const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(server_->port());
  }
  HttpClient Client(const std::string& url, const std::string& ca_file) const {
    return HttpClient(url, kClientTimeout, TlsClientOptions{ca_file});
  }

  std::string dir_;
  testing::TestTlsFiles files_;
  std::unique_ptr<asio::io_context> ioc_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

// (a) The right CA: 200 and the body, small and 1 MiB, by IP and by DNS name (SNI path).
TEST_F(HttpTlsTest, TrustedCaGetsAnswersIncludingLargeBodies) {
  ASSERT_TRUE(StartTlsServer().ok());
  EXPECT_TRUE(server_->tls());
  for (const char* host : {"127.0.0.1", "localhost"}) {
    SCOPED_TRACE(host);
    HttpClient client = Client(Url("https", host), files_.ca_file);
    ASSERT_TRUE(client.config_status().ok()) << client.config_status().ToString();
    auto hello = client.Do("GET", "/hello");
    ASSERT_TRUE(hello.ok()) << hello.status().ToString();
    EXPECT_EQ(hello->status, 200);
    EXPECT_EQ(hello->body, "hello");
    EXPECT_EQ(hello->content_type, "text/plain");

    const std::string big = Pattern(1 << 20);
    auto echo = client.Do("POST", "/echo", big, "application/octet-stream");
    ASSERT_TRUE(echo.ok()) << echo.status().ToString();
    EXPECT_EQ(echo->status, 200);
    EXPECT_EQ(echo->body.size(), big.size());
    EXPECT_TRUE(echo->body == big);
  }
}

// The body limit and its 413 (with the lingering close) work the same under TLS.
TEST_F(HttpTlsTest, OversizedBodyGets413OverTls) {
  ASSERT_TRUE(StartServer(TlsServerOptions{files_.cert_file, files_.key_file}, 1 << 20).ok());
  HttpClient client = Client(Url("https"), files_.ca_file);
  auto res = client.Do("POST", "/echo", Pattern(3 << 20), "application/octet-stream");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 413);
  auto after = client.Do("GET", "/hello");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->status, 200);
}

// One https client used from several threads at once (the documented contract).
TEST_F(HttpTlsTest, OneClientFromManyThreads) {
  ASSERT_TRUE(StartTlsServer().ok());
  const HttpClient client = Client(Url("https"), files_.ca_file);
  std::vector<std::thread> threads;
  std::vector<int> ok_count(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto res = client.Do("POST", "/echo", "thread " + std::to_string(t));
        if (res.ok() && res->status == 200 && res->body == "thread " + std::to_string(t)) {
          ++ok_count[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(ok_count[t], 5) << "thread " << t;
}

// Keep-alive under TLS: two requests on one connection, then a clean close_notify.
TEST_F(HttpTlsTest, KeepAliveOnOneTlsConnection) {
  ASSERT_TRUE(StartTlsServer().ok());
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(files_.ca_file);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server_->port());
  std::vector<std::string> bodies;
  std::string failure = "did not finish";
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
        beast::get_lowest_layer(stream).expires_after(seconds(5));
        co_await beast::get_lowest_layer(stream).async_connect(endpoint, asio::use_awaitable);
        co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
        beast::flat_buffer buffer;
        for (int i = 0; i < 2; ++i) {
          http::request<http::string_body> req{http::verb::post, "/echo", 11};
          req.set(http::field::host, "127.0.0.1");
          req.body() = "request " + std::to_string(i);
          req.prepare_payload();
          co_await http::async_write(stream, req, asio::use_awaitable);
          http::response<http::string_body> res;
          co_await http::async_read(stream, buffer, res, asio::use_awaitable);
          EXPECT_TRUE(res.keep_alive());
          bodies.push_back(res.body());
        }
        beast::error_code ec;
        co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
      },
      [&](std::exception_ptr e) {
        failure.clear();
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            failure = ex.what();
          }
        }
      });
  ioc.run_for(seconds(10));
  EXPECT_EQ(failure, "");
  EXPECT_EQ(bodies, (std::vector<std::string>{"request 0", "request 1"}));
}

// (b) A CA that did not sign the certificate, or the system store alone: a clear verification
// error that points at the CA-file option, well before the deadline.
TEST_F(HttpTlsTest, UntrustedCertificateIsReportedClearly) {
  ASSERT_TRUE(StartTlsServer().ok());
  for (const std::string& ca_file : {files_.other_ca_file, std::string()}) {
    SCOPED_TRACE("ca_file=" + ca_file);
    HttpClient client = Client(Url("https"), ca_file);
    ASSERT_TRUE(client.config_status().ok());
    const auto start = Clock::now();
    auto res = client.Do("GET", "/hello");
    EXPECT_LT(Clock::now() - start, kFailureBound);
    ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(res.status().message().find("TLS certificate could not be verified"),
              std::string::npos)
        << res.status().message();
    EXPECT_NE(res.status().message().find("CA file"), std::string::npos) << res.status().message();
  }
  // The server is unaffected by the rejected handshakes.
  auto res = Client(Url("https"), files_.ca_file).Do("GET", "/hello");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
}

// (c) A trusted certificate that does not name the host connected to is rejected.
TEST_F(HttpTlsTest, HostNameMismatchIsRejected) {
  testing::TestCertOptions ip_only;
  ip_only.dns_names = {};
  ip_only.ip_addresses = {"127.0.0.1"};
  auto files = testing::WriteTestTlsFiles(dir_ + "/ip-only", ip_only);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE(StartServer(TlsServerOptions{files->cert_file, files->key_file}).ok());

  auto by_name = Client(Url("https", "localhost"), files->ca_file).Do("GET", "/hello");
  ASSERT_FALSE(by_name.ok());
  EXPECT_EQ(by_name.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(by_name.status().message().find("TLS certificate could not be verified"),
            std::string::npos)
      << by_name.status().message();
  EXPECT_NE(by_name.status().message().find("not issued for this host"), std::string::npos)
      << by_name.status().message();

  // The same certificate is fine for the address it names.
  auto by_ip = Client(Url("https", "127.0.0.1"), files->ca_file).Do("GET", "/hello");
  ASSERT_TRUE(by_ip.ok()) << by_ip.status().ToString();
  EXPECT_EQ(by_ip->status, 200);
}

TEST_F(HttpTlsTest, IpAddressMismatchIsRejected) {
  testing::TestCertOptions dns_only;
  dns_only.dns_names = {"localhost"};
  dns_only.ip_addresses = {};
  auto files = testing::WriteTestTlsFiles(dir_ + "/dns-only", dns_only);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE(StartServer(TlsServerOptions{files->cert_file, files->key_file}).ok());
  auto res = Client(Url("https", "127.0.0.1"), files->ca_file).Do("GET", "/hello");
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("not issued for this host"), std::string::npos)
      << res.status().message();
}

// (d) Plain HTTP on the TLS port fails within the client's deadline; an idle connection that never
// starts its handshake blocks nobody; the server keeps serving TLS afterwards.
TEST_F(HttpTlsTest, PlainClientOnTlsPortFailsAndServerKeepsServing) {
  ASSERT_TRUE(StartTlsServer().ok());
  asio::io_context idle_ioc;
  asio::ip::tcp::socket idle(idle_ioc);
  idle.connect({asio::ip::make_address("127.0.0.1"), server_->port()});

  HttpClient plain(Url("http"), kClientTimeout);
  const auto start = Clock::now();
  auto res = plain.Do("GET", "/hello");
  EXPECT_LT(Clock::now() - start, kFailureBound);
  EXPECT_FALSE(res.ok() && res->status == 200)
      << "plain HTTP was answered on the TLS port: " << res->body;

  auto after = Client(Url("https"), files_.ca_file).Do("GET", "/hello");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(after->body, "hello");
}

// (e) Unusable certificate or key: Start() says which file, and nothing listens.
TEST_F(HttpTlsTest, BadCertificateOrKeyFailsStart) {
  auto other = testing::WriteTestTlsFiles(dir_ + "/other");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  const std::string missing = dir_ + "/missing.pem";
  const std::string garbage = dir_ + "/garbage.pem";
  {
    std::FILE* f = std::fopen(garbage.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("this is not PEM\n", f);
    std::fclose(f);
  }
  struct Case {
    std::string cert, key, expect_in_message;
  };
  const std::vector<Case> cases = {
      {missing, files_.key_file, missing},
      {files_.cert_file, missing, missing},
      {garbage, files_.key_file, garbage},
      {files_.cert_file, garbage, garbage},
      {files_.key_file, files_.key_file, files_.key_file},  // a key is not a certificate
      {files_.cert_file, other->key_file, "does not match"},
      {"", files_.key_file, "certificate"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("cert=" + c.cert + " key=" + c.key);
    asio::io_context ioc;
    HttpServerOptions options;
    options.port = 0;
    options.tls = TlsServerOptions{c.cert, c.key};
    HttpServer server(ioc, options, Handle);
    Status st = server.Start();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find(c.expect_in_message), std::string::npos) << st.message();
    EXPECT_EQ(server.port(), 0);
  }
}

// (f) An https client against a plain server fails cleanly within its deadline, hinting at the
// cause.
TEST_F(HttpTlsTest, HttpsClientOnPlainServerFailsWithinTimeout) {
  ASSERT_TRUE(StartServer(std::nullopt).ok());
  EXPECT_FALSE(server_->tls());
  HttpClient client = Client(Url("https"), files_.ca_file);
  const auto start = Clock::now();
  auto res = client.Do("GET", "/hello");
  EXPECT_LT(Clock::now() - start, kFailureBound);
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(res.status().code() == StatusCode::kUnavailable ||
              res.status().code() == StatusCode::kDeadlineExceeded)
      << res.status().ToString();
  EXPECT_NE(res.status().message().find("TLS handshake"), std::string::npos)
      << res.status().message();

  // Plain HTTP still works exactly as before.
  auto plain = HttpClient(Url("http"), kClientTimeout).Do("GET", "/hello");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->body, "hello");
}

// A CA file that cannot be read is a configuration error, reported up front and by every call.
TEST_F(HttpTlsTest, UnreadableCaFileIsInvalidArgument) {
  const std::string missing = dir_ + "/no-such-ca.pem";
  HttpClient client("https://127.0.0.1:1", kClientTimeout, TlsClientOptions{missing});
  EXPECT_EQ(client.config_status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(client.config_status().message().find(missing), std::string::npos)
      << client.config_status().message();
  auto res = client.Do("GET", "/hello");
  EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument);

  // A file without any certificate (a private key) is refused as well.
  HttpClient keyed("https://127.0.0.1:1", kClientTimeout, TlsClientOptions{files_.key_file});
  EXPECT_EQ(keyed.config_status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(keyed.config_status().message().find(files_.key_file), std::string::npos);

  // SetTlsOptions repairs it; the CA file is not consulted for http:// URLs.
  EXPECT_TRUE(client.SetTlsOptions(TlsClientOptions{files_.ca_file}).ok());
  EXPECT_TRUE(HttpClient("http://127.0.0.1:1", kClientTimeout, TlsClientOptions{missing})
                  .config_status()
                  .ok());
}

}  // namespace
}  // namespace shoal
