// A scripted stand-in for shoal-scheduler in the CLI tests: a loopback HTTP server on an ephemeral
// port that answers each request with whatever the test's handler returns and records what the
// CLI sent. One connection at a time: concurrent clients (the registry transfers' threads) wait in
// the listen queue, and the handler never runs twice at once.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace shoal::cli::testing {

class FakeScheduler {
 public:
  struct Request {
    std::string method;
    std::string target;  // path and query, e.g. "/v1/jobs?state=RUNNING"
    std::string body;
    std::string content_type;
    std::string authorization;                   // the Authorization header
    std::map<std::string, std::string> headers;  // every header, by its name in lower case
  };
  struct Reply {
    int status = 200;
    std::string body;
    std::map<std::string, std::string> headers = {};  // beyond Content-Type
  };
  using Handler = std::function<Reply(const Request&)>;

  explicit FakeScheduler(Handler handler)
      : handler_(std::move(handler)),
        acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakeScheduler() {
    stop_ = true;
    // accept() blocks; one connection of our own wakes it up to see stop_.
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket poke(ioc_);
    poke.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    namespace http = boost::beast::http;
    while (!stop_) {
      boost::asio::ip::tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stop_ || ec) return;
      boost::beast::flat_buffer buffer;
      http::request_parser<http::string_body> parser;
      parser.body_limit(std::uint64_t{128} << 20);  // registry chunks are up to 64 MiB
      http::read(socket, buffer, parser, ec);
      if (ec) continue;
      http::request<http::string_body> req = parser.release();
      Request r{std::string(req.method_string()),
                std::string(req.target()),
                req.body(),
                std::string(req[http::field::content_type]),
                std::string(req[http::field::authorization]),
                {}};
      for (const auto& field : req) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(field.value());
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(r);
      }
      Reply reply = handler_(r);
      http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
      res.set(http::field::content_type, "application/json");
      for (const auto& [name, value] : reply.headers) res.set(name, value);
      res.keep_alive(false);
      res.body() = reply.body;
      res.prepare_payload();
      http::write(socket, res, ec);
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }
  }

  Handler handler_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::thread thread_;
};

}  // namespace shoal::cli::testing
