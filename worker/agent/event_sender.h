// EventSender: the worker's queue of events for the scheduler (log lines, progress, exits) and
// the thread that delivers them in order, in batches, to POST /v1/workers/{id}/events — retried
// with backoff while the scheduler is away (so a scheduler restart loses nothing), with log lines
// shed first when the queue is full (exits never are).
//
// Thread-safe: Enqueue may be called from any thread (the ranks' output readers, the agent).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/http_client.h"
#include "common/wire/worker_event.h"

namespace shoal {

class EventSender {
 public:
  struct Hooks {
    // The worker's id; "" while it is not registered (events wait).
    std::function<std::string()> worker_id;
    // Called, on the sender's thread, for each exit event the scheduler accepted.
    std::function<void(const wire::WorkerEvent& exit)> exit_acknowledged;
    // Whether the sender may end once stopped and drained: every rank has exited.
    std::function<bool()> may_finish;
  };

  // `client` and `stop` must outlive the sender.
  EventSender(HttpClient& client, const std::atomic<bool>& stop, Hooks hooks);
  ~EventSender();  // joins the thread

  void Start();
  // Queues an event (a log event is dropped when the queue holds kMaxQueued events).
  void Enqueue(wire::WorkerEvent event);
  // Wakes the thread (after the stop flag was set).
  void Wake();
  // Returns once the thread has ended: `stop` set, and the queue drained with may_finish(), or the
  // scheduler unreachable.
  void Join();

  static constexpr size_t kMaxQueued = 100000;  // back-pressure bound while the scheduler is away
  static constexpr size_t kMaxPerPost = 200;

 private:
  void Loop();

  HttpClient& client_;
  const std::atomic<bool>& stop_;
  Hooks hooks_;
  std::mutex mu_;  // guards events_
  std::condition_variable cv_;
  std::deque<wire::WorkerEvent> events_;
  std::thread thread_;
};

}  // namespace shoal
