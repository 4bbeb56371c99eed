// GroupCommit: requests that arrive together share one commit (one fsync) instead of one each.
//
// A handler calls `co_await Add(item)`: the item joins the open batch and, if none is scheduled
// yet, one flush is posted onto the executor. The flush runs after the handlers already queued on
// the event loop (typically every request that was read in the same round), takes the whole
// batch, calls `flush` once with all of its items, and resumes every waiter with its own result.
// While the flush blocks the loop in fsync, new requests pile up in the sockets and form the
// next batch, so batches grow with the load without any timer.
//
// Waiters are resumed inline, inside the flush, one after the other (each runs until it next
// suspends, typically in the write of its reply): the acknowledgements go out before anything the
// flush posted (a scheduling pass), instead of queueing behind it.
//
// The flush function's contract is the caller's: for durable submissions it commits every item
// in one transaction and answers each with its id, or every item with the same error.
// Single-threaded: use from the io_context's thread only. The GroupCommit must outlive the
// io_context's run (the posted flush refers to it).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded
#include <vector>

namespace shoal {

template <typename Item, typename Out>
class GroupCommit {
 public:
  // Commits a batch: returns exactly one result per item, in order.
  using Flush = std::function<std::vector<Out>(std::vector<Item>)>;

  // Batches hold at most `max_batch` items (bounds one flush's latency); the rest waits for the
  // next flush, which is posted at once.
  explicit GroupCommit(Flush flush, size_t max_batch = 1024)
      : flush_(std::move(flush)), max_batch_(max_batch) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `item` and suspends until the flush that takes it has run; returns its result.
  boost::asio::awaitable<Out> Add(Item item) {
    auto ex = co_await boost::asio::this_coro::executor;
    auto waiter = std::make_shared<Waiter>();
    items_.push_back(std::move(item));
    waiters_.push_back(waiter);
    if (!posted_) {
      posted_ = true;
      boost::asio::post(ex, [this, ex] { Run(ex); });
    }
    // Suspends; the initiation stores the completion handler, which the flush invokes once `out`
    // is set. (It runs right after the suspension, before any other handler: before the flush.)
    // The lambda captures a plain pointer: GCC 12 may destroy temporaries of a co_await
    // expression twice, which would drop a captured shared_ptr's count once too often.
    Waiter* w = waiter.get();
    co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
        [w](auto handler) {
          w->resume = std::make_unique<Resume<decltype(handler)>>(std::move(handler));
        },
        boost::asio::use_awaitable);
    co_return std::move(*waiter->out);
  }

  // Items queued for the next flush.
  size_t queued() const { return items_.size(); }
  // Flushes run so far (for tests and metrics).
  int64_t flushes() const { return flushes_; }

 private:
  struct ResumeBase {
    virtual ~ResumeBase() = default;
    virtual void operator()() = 0;
  };
  template <typename Handler>
  struct Resume : ResumeBase {
    explicit Resume(Handler h) : handler(std::move(h)) {}
    // Inline when called on the handler's executor thread (the flush is).
    void operator()() override { boost::asio::dispatch(std::move(handler)); }
    Handler handler;
  };
  struct Waiter {
    std::unique_ptr<ResumeBase> resume;
    std::optional<Out> out;
  };

  void Run(const boost::asio::any_io_executor& ex) {
    posted_ = false;
    std::vector<Item> items;
    std::vector<std::shared_ptr<Waiter>> waiters;
    if (items_.size() <= max_batch_) {
      items.swap(items_);
      waiters.swap(waiters_);
    } else {
      auto cut = static_cast<std::ptrdiff_t>(max_batch_);
      items.assign(std::make_move_iterator(items_.begin()),
                   std::make_move_iterator(items_.begin() + cut));
      items_.erase(items_.begin(), items_.begin() + cut);
      waiters.assign(waiters_.begin(), waiters_.begin() + cut);
      waiters_.erase(waiters_.begin(), waiters_.begin() + cut);
      posted_ = true;
      boost::asio::post(ex, [this, ex] { Run(ex); });
    }
    if (items.empty()) return;
    ++flushes_;
    std::vector<Out> outs = flush_(std::move(items));
    for (size_t i = 0; i < waiters.size(); ++i) {
      waiters[i]->out.emplace(std::move(outs.at(i)));
    }
    for (auto& w : waiters) {
      if (auto resume = std::move(w->resume)) (*resume)();
    }
  }

  Flush flush_;
  size_t max_batch_;
  std::vector<Item> items_;
  std::vector<std::shared_ptr<Waiter>> waiters_;
  bool posted_ = false;
  int64_t flushes_ = 0;
};

}  // namespace shoal
