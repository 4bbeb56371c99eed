// Api: the routes of shoal-scheduler's HTTP API (DESIGN.md §4.3) over the Scheduler.
//
// Each route parses and checks its input (4xx with a JSON error on anything malformed), calls the
// Scheduler, and renders JSON. Long-polls (heartbeat, kv wait, logs follow) wait on the Notifier
// with a bounded timeout. Single-threaded: runs on the scheduler's io_context.
#pragma once

#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <boost/asio/awaitable.hpp>

#include "scheduler/api/http_server.h"
#include "scheduler/api/notifier.h"
#include "scheduler/rendezvous_kv.h"
#include "scheduler/scheduler.h"

namespace shoal {

class Api {
 public:
  // All pointers must outlive the Api.
  Api(Scheduler* scheduler, RendezvousKv* kv, Notifier* notifier)
      : scheduler_(scheduler), kv_(kv), notifier_(notifier) {}

  boost::asio::awaitable<HttpReply> Handle(HttpRequest req);

  // Longest any long-poll is held, whatever the client asks.
  static constexpr int64_t kMaxWaitMs = 30000;

 private:
  boost::asio::awaitable<HttpReply> Jobs(const HttpRequest& req, const std::vector<std::string>& parts);
  boost::asio::awaitable<HttpReply> Workers(const HttpRequest& req, const std::vector<std::string>& parts);
  boost::asio::awaitable<HttpReply> Heartbeat(const HttpRequest& req, const std::string& worker_id);
  boost::asio::awaitable<HttpReply> Logs(const HttpRequest& req, int64_t job_id);
  boost::asio::awaitable<HttpReply> Kv(const HttpRequest& req, int64_t job_id, int attempt,
                                       const std::string& key);
  HttpReply Submit(const HttpRequest& req);
  HttpReply ListJobs(const HttpRequest& req);
  HttpReply Register(const HttpRequest& req);
  HttpReply ListWorkers();
  HttpReply ListAccounts();

  Scheduler* scheduler_;
  RendezvousKv* kv_;
  Notifier* notifier_;
};

}  // namespace shoal
