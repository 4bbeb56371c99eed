// Notifier: wakes coroutines waiting for "something changed" (long-polls).
//
// Waiters re-check their own condition after every wake-up, so spurious wake-ups are harmless.
// Single-threaded: use from the io_context's thread only.
#pragma once

#include <chrono>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded
#include <list>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace shoal {

class Notifier {
 public:
  // Wakes every current waiter.
  void NotifyAll() {
    for (auto* t : waiters_) t->cancel();
  }

  // Suspends until NotifyAll() or until `timeout` passes, whichever is first.
  boost::asio::awaitable<void> WaitFor(std::chrono::milliseconds timeout) {
    auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer(ex, timeout);
    auto it = waiters_.insert(waiters_.end(), &timer);
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    waiters_.erase(it);
  }

  size_t waiting() const { return waiters_.size(); }

 private:
  std::list<boost::asio::steady_timer*> waiters_;
};

}  // namespace shoal
