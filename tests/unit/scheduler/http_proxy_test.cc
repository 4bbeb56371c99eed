// HttpClient through a proxy: NO_PROXY matching and proxy URL parsing as functions, then real
// requests through tests/testing/forward_proxy.py (a forwarding proxy on 127.0.0.1 that logs each
// request it handles) to HttpServer, plain and with TLS through a CONNECT tunnel. The proxy is
// started per test, read for its port within 10 s, and killed in TearDown; every client call has
// a 3 s deadline.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "common/http_client.h"
#include "scheduler/api/http_server.h"
#include "tests/testing/test_util.h"
#include "tests/testing/tls_certs.h"

namespace shoal {
namespace {

namespace asio = boost::asio;
using std::chrono::seconds;

TEST(NoProxyTest, FollowsCurlsRules) {
  EXPECT_FALSE(NoProxyMatches("", "example.com"));
  EXPECT_FALSE(NoProxyMatches("", "127.0.0.1"));  // loopback is not exempt by default
  EXPECT_TRUE(NoProxyMatches("*", "anything.example"));
  EXPECT_TRUE(NoProxyMatches("example.com", "example.com"));
  EXPECT_TRUE(NoProxyMatches("example.com", "api.example.com"));
  EXPECT_TRUE(NoProxyMatches(".example.com", "api.example.com"));
  EXPECT_TRUE(NoProxyMatches(".example.com", "example.com"));
  EXPECT_FALSE(NoProxyMatches("example.com", "badexample.com"));
  EXPECT_TRUE(NoProxyMatches(" other.org , Example.COM ", "API.example.com"));
  EXPECT_TRUE(NoProxyMatches("example.com:8470", "example.com"));
  EXPECT_TRUE(NoProxyMatches("localhost,127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(NoProxyMatches("0.0.1", "127.0.0.1"));  // addresses are not name suffixes
  EXPECT_TRUE(NoProxyMatches("10.0.0.0/8", "10.2.3.4"));
  EXPECT_FALSE(NoProxyMatches("10.0.0.0/8", "11.2.3.4"));
  EXPECT_TRUE(NoProxyMatches("::1", "[::1]"));
  EXPECT_TRUE(NoProxyMatches("[::1]:8470", "::1"));
  EXPECT_TRUE(NoProxyMatches("fd00::/8", "fd12::5"));
  EXPECT_FALSE(NoProxyMatches("*.example.com", "example.org"));
}

TEST(ProxyForTest, PicksTheSchemesProxyAndParsesIt) {
  ProxyEnv env;
  env.http_proxy = "proxy.lan:3128";
  env.https_proxy = "http://alice:s3cret@secure.lan";
  env.no_proxy = "internal.lan";
  auto http = ProxyFor(*ParseUrl("http://sched.example:8470"), env);
  ASSERT_TRUE(http.ok()) << http.status().ToString();
  ASSERT_TRUE(http->has_value());
  EXPECT_EQ((*http)->url.host, "proxy.lan");
  EXPECT_EQ((*http)->url.port, "3128");
  EXPECT_EQ((*http)->authorization, "");
  auto https = ProxyFor(*ParseUrl("https://sched.example:8470"), env);
  ASSERT_TRUE(https.ok() && https->has_value());
  EXPECT_EQ((*https)->url.host, "secure.lan");
  EXPECT_EQ((*https)->url.port, "1080");                            // curl's default
  EXPECT_EQ((*https)->authorization, "Basic YWxpY2U6czNjcmV0");    // alice:s3cret
  auto exempt = ProxyFor(*ParseUrl("https://a.internal.lan"), env);
  ASSERT_TRUE(exempt.ok());
  EXPECT_FALSE(exempt->has_value());
  env.https_proxy = "https://tls-proxy.lan:443";
  auto tls_proxy = ProxyFor(*ParseUrl("https://sched.example"), env);
  EXPECT_EQ(tls_proxy.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(tls_proxy.status().message().find("HTTPS_PROXY"), std::string::npos);
  EXPECT_FALSE(ProxyFor(*ParseUrl("http://x"), ProxyEnv{"http://proxy:port", "", ""}).ok());
  // Nothing set: direct.
  auto direct = ProxyFor(*ParseUrl("http://x"), ProxyEnv{});
  ASSERT_TRUE(direct.ok());
  EXPECT_FALSE(direct->has_value());
}

asio::awaitable<HttpReply> Handle(HttpRequest req) {
  if (req.path == "/hello") co_return HttpReply{200, "hello", "text/plain"};
  if (req.path == "/echo") co_return HttpReply{200, std::move(req.body), "text/plain"};
  co_return ErrorReply(404, "NotFound", "no route " + req.path);
}

class HttpProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-proxy-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    log_ = dir_ + "/proxy.log";
    StartProxy();
  }

  void TearDown() override {
    if (proxy_pid_ > 0) {
      ::kill(proxy_pid_, SIGKILL);
      ::waitpid(proxy_pid_, nullptr, 0);
    }
    if (thread_.joinable()) {
      asio::post(*ioc_, [this] { server_->Stop(); });
      ioc_->stop();
      thread_.join();
    }
    server_.reset();
    ioc_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartProxy() {
    const std::string script =
        (::shoal::testing::RepoRoot() / "tests/testing/forward_proxy.py").string();
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    proxy_pid_ = ::fork();
    ASSERT_GE(proxy_pid_, 0);
    if (proxy_pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      ::execlp("python3", "python3", script.c_str(), log_.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    const auto deadline = std::chrono::steady_clock::now() + seconds(10);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[64];
      ssize_t n = ::read(out[0], buf, sizeof(buf));
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    ::close(out[0]);
    ASSERT_EQ(line.rfind("PORT ", 0), 0u) << "the proxy did not start: \"" << line << "\"";
    proxy_port_ = std::stoi(line.substr(5));
  }

  Status StartServer(std::optional<TlsServerOptions> tls) {
    ioc_ = std::make_unique<asio::io_context>();
    HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.read_timeout = seconds(3);
    options.tls = std::move(tls);
    server_ = std::make_unique<HttpServer>(*ioc_, options, Handle);
    Status started = server_->Start();
    if (started.ok()) thread_ = std::thread([this] { ioc_->run(); });
    return started;
  }

  std::string ServerUrl(const std::string& scheme) const {
    return scheme + "://127.0.0.1:" + std::to_string(server_->port());
  }
  std::string ProxyUrl() const { return "http://127.0.0.1:" + std::to_string(proxy_port_); }

  // The proxy's log: one line per request it handled.
  std::vector<std::string> ProxyLog() const {
    std::ifstream in(log_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  std::string dir_, log_;
  pid_t proxy_pid_ = -1;
  int proxy_port_ = 0;
  std::unique_ptr<asio::io_context> ioc_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpProxyTest, PlainHttpGoesThroughTheProxyInAbsoluteForm) {
  ASSERT_TRUE(StartServer(std::nullopt).ok());
  HttpClient client(ServerUrl("http"), seconds(3));
  ASSERT_TRUE(client.SetProxyEnv(ProxyEnv{"http://bob:pw@127.0.0.1:" +
                                              std::to_string(proxy_port_),
                                          "", ""})
                  .ok());
  auto hello = client.Do("GET", "/hello");
  ASSERT_TRUE(hello.ok()) << hello.status().ToString();
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, "hello");
  auto echo = client.Do("POST", "/echo", "ping", "text/plain");
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(echo->body, "ping");
  const auto log = ProxyLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], "GET " + ServerUrl("http") + "/hello auth=Basic Ym9iOnB3");  // bob:pw
  EXPECT_EQ(log[1], "POST " + ServerUrl("http") + "/echo auth=Basic Ym9iOnB3");
}

TEST_F(HttpProxyTest, HttpsGoesThroughAConnectTunnelAndStillVerifiesTheServer) {
  auto files = testing::WriteTestTlsFiles(dir_ + "/tls");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_TRUE(StartServer(TlsServerOptions{files->cert_file, files->key_file}).ok());
  HttpClient client(ServerUrl("https"), seconds(3), TlsClientOptions{files->ca_file});
  ASSERT_TRUE(client.SetProxyEnv(ProxyEnv{"", ProxyUrl(), ""}).ok());
  auto hello = client.Do("GET", "/hello");
  ASSERT_TRUE(hello.ok()) << hello.status().ToString();
  EXPECT_EQ(hello->body, "hello");
  auto log = ProxyLog();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0], "CONNECT 127.0.0.1:" + std::to_string(server_->port()) + " auth=-");

  // The tunnel does not weaken verification: a CA that did not sign the server is refused.
  HttpClient untrusting(ServerUrl("https"), seconds(3), TlsClientOptions{files->other_ca_file});
  ASSERT_TRUE(untrusting.SetProxyEnv(ProxyEnv{"", ProxyUrl(), ""}).ok());
  auto refused = untrusting.Do("GET", "/hello");
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("could not be verified"), std::string::npos)
      << refused.status().message();
}

TEST_F(HttpProxyTest, NoProxyGoesDirect) {
  ASSERT_TRUE(StartServer(std::nullopt).ok());
  HttpClient client(ServerUrl("http"), seconds(3));
  ASSERT_TRUE(client.SetProxyEnv(ProxyEnv{ProxyUrl(), ProxyUrl(), "localhost, 127.0.0.1"}).ok());
  auto hello = client.Do("GET", "/hello");
  ASSERT_TRUE(hello.ok()) << hello.status().ToString();
  EXPECT_EQ(hello->body, "hello");
  EXPECT_TRUE(ProxyLog().empty());
}

TEST_F(HttpProxyTest, AFailedConnectSaysTheProxyRefused) {
  // A port nothing listens on: the proxy answers 502 to the CONNECT.
  int unused_port = 0;
  {
    ASSERT_TRUE(StartServer(std::nullopt).ok());
    unused_port = server_->port();
    asio::post(*ioc_, [this] { server_->Stop(); });
    ioc_->stop();
    thread_.join();
    server_.reset();
    ioc_.reset();
  }
  HttpClient client("https://127.0.0.1:" + std::to_string(unused_port), seconds(3));
  ASSERT_TRUE(client.SetProxyEnv(ProxyEnv{"", ProxyUrl(), ""}).ok());
  auto r = client.Do("GET", "/hello");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("the proxy answered CONNECT with HTTP 502"),
            std::string::npos)
      << r.status().message();
}

TEST_F(HttpProxyTest, AnUnreachableProxyIsUnavailableAndNamed) {
  ASSERT_TRUE(StartServer(std::nullopt).ok());
  HttpClient client(ServerUrl("http"), seconds(3));
  ASSERT_TRUE(client.SetProxyEnv(ProxyEnv{"http://127.0.0.1:1", "", ""}).ok());
  auto r = client.Do("GET", "/hello");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("via proxy 127.0.0.1:1 (connect to proxy)"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace shoal
