// An Api over a real Scheduler, Auth and SQLite store in a fresh temp dir, with a fake clock and
// an io_context but no sockets, for the API's unit tests: requests are handled by running the loop.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>  // before Boost 1.74 asio coroutine headers, which use std::exchange unincluded
#include <vector>

#include "scheduler/api/api.h"

namespace shoal::testing {

class InProcessApi {
 public:
  InProcessApi() = default;
  InProcessApi(const InProcessApi&) = delete;
  InProcessApi& operator=(const InProcessApi&) = delete;
  ~InProcessApi() {
    api_.reset();
    auth_.reset();
    sched_.reset();
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Makes the temp dir and opens the store in it. Start() does if it was not called before: call
  // it first to write what the Scheduler is to load.
  Status OpenStore() {
    char tmpl[] = "/tmp/shoal-api-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return Internal("mkdtemp failed");
    dir_ = tmpl;
    auto store = Store::Open(dir_);
    if (!store.ok()) return store.status();
    store_ = std::move(store).value();
    return Status::Ok();
  }
  // Opens the Scheduler with `options` on the fake clock, then Auth and the Api.
  Status Start(const SchedulerOptions& options = {}) {
    if (store_ == nullptr) {
      Status opened = OpenStore();
      if (!opened.ok()) return opened;
    }
    Status started = RestartScheduler(options);
    if (!started.ok()) return started;
    auto auth = Auth::Load(store_.get(), [this] { return now_; });
    if (!auth.ok()) return auth.status();
    auth_ = std::move(auth).value();
    api_ = std::make_unique<Api>(sched_.get(), auth_.get(), &kv_, &notifier_);
    return Status::Ok();
  }
  // Reopens the Scheduler on the same store with `options`, and the Api on it once Auth is loaded.
  Status RestartScheduler(const SchedulerOptions& options) {
    api_.reset();
    sched_.reset();
    auto s = Scheduler::Open(store_.get(), options, [this] { return now_; });
    if (!s.ok()) return s.status();
    sched_ = std::move(s).value();
    if (auth_ != nullptr) api_ = std::make_unique<Api>(sched_.get(), auth_.get(), &kv_, &notifier_);
    return Status::Ok();
  }
  // As in the daemon: scheduling passes and batched writes are posted onto the event loop, and a
  // change notifies the long polls.
  void PostSchedulingOnTheLoop() {
    sched_->SetSchedulePoster(
        [this] { boost::asio::post(ioc_, [this] { sched_->RunPendingSchedule(); }); });
    sched_->SetOnChange([this] { notifier_.NotifyAll(); });
  }
  // Closes the Api (e.g. before something it was given goes).
  void StopApi() { api_.reset(); }

  // A new token of `role` for `account`, which is created at its first token.
  std::string NewToken(const std::string& account, Role role) {
    if (!auth_->HasAccount(account)) {
      EXPECT_TRUE(auth_->CreateAccount(account).ok()) << account;
    }
    return auth_->CreateToken(account, role, "test").value().second;
  }
  // The admin token of `user`'s account, made at the first call (for tests not about roles).
  const std::string& AdminToken(const std::string& user) {
    std::string& token = admin_tokens_[user];
    if (token.empty()) token = NewToken(user, Role::kAdmin);
    return token;
  }
  // A request that authenticates with `token`.
  static HttpRequest Request(std::string method, std::string path, const std::string& token,
                             std::string body = "", std::map<std::string, std::string> query = {}) {
    HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.query = std::move(query);
    r.headers["authorization"] = "Bearer " + token;
    r.body = std::move(body);
    return r;
  }
  // Starts every request in the same event-loop round, runs the loop until all are answered.
  std::vector<HttpReply> HandleTogether(std::vector<HttpRequest> reqs) {
    std::vector<HttpReply> replies(reqs.size());
    for (size_t i = 0; i < reqs.size(); ++i) {
      boost::asio::co_spawn(
          ioc_,
          [this, &replies, i, req = std::move(reqs[i])]() mutable -> boost::asio::awaitable<void> {
            replies[i] = co_await api_->Handle(std::move(req));
          },
          boost::asio::detached);
    }
    ioc_.restart();
    ioc_.run();
    return replies;
  }
  // Handles one request, running the loop until it is answered.
  HttpReply Handle(HttpRequest req) {
    std::vector<HttpRequest> reqs;
    reqs.push_back(std::move(req));
    return std::move(HandleTogether(std::move(reqs))[0]);
  }

  const std::string& dir() const { return dir_; }
  Store* store() { return store_.get(); }
  Scheduler* scheduler() { return sched_.get(); }
  Auth* auth() { return auth_.get(); }
  Api* api() { return api_.get(); }
  // The fake clock, in Unix milliseconds.
  int64_t now() const { return now_; }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  std::string dir_;
  int64_t now_ = 1'000'000;
  boost::asio::io_context ioc_;
  Notifier notifier_;
  RendezvousKv kv_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Scheduler> sched_;
  std::unique_ptr<Auth> auth_;
  std::unique_ptr<Api> api_;
  std::map<std::string, std::string> admin_tokens_;  // user -> token
};

}  // namespace shoal::testing
