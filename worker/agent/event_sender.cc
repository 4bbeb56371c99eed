#include "worker/agent/event_sender.h"

#include <chrono>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/log.h"

namespace shoal {

using nlohmann::json;

EventSender::EventSender(HttpClient& client, const std::atomic<bool>& stop, Hooks hooks)
    : client_(client), stop_(stop), hooks_(std::move(hooks)) {}

EventSender::~EventSender() {
  Wake();
  Join();
}

void EventSender::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void EventSender::Wake() { cv_.notify_all(); }

void EventSender::Join() {
  if (thread_.joinable()) thread_.join();
}

void EventSender::Enqueue(wire::WorkerEvent event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (events_.size() >= kMaxQueued && event.type == wire::WorkerEventType::kLog) {
      return;  // logs are shed first when the scheduler has been away for long; exits never
    }
    events_.push_back(std::move(event));
  }
  cv_.notify_all();
}

void EventSender::Loop() {
  auto backoff = std::chrono::milliseconds(100);
  for (;;) {
    json batch = json::array();
    std::string worker_id;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200),
                   [&] { return stop_.load() || !events_.empty(); });
      if (events_.empty()) {
        if (stop_) {
          lock.unlock();
          if (hooks_.may_finish()) return;
        }
        continue;
      }
    }
    // Not under mu_: the hook takes the agent's lock, which Enqueue's callers may hold.
    worker_id = hooks_.worker_id();
    if (worker_id.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < events_.size() && i < kMaxPerPost; ++i) {
        batch.push_back(wire::ToJson(events_[i]));
      }
    }
    json body = {{"events", batch}};
    Result<json> reply = Internal("not sent");
    try {
      reply = client_.DoJson("POST", "/v1/workers/" + worker_id + "/events", &body);
    } catch (const std::exception& e) {
      // Not to be retried for ever, nor to end the daemon: the oldest event goes.
      LOG_ERROR << "dropping an event that cannot be sent: " << e.what();
      std::lock_guard<std::mutex> lock(mu_);
      if (!events_.empty()) events_.pop_front();
      continue;
    }
    if (!reply.ok() && reply.status().code() != StatusCode::kInvalidArgument) {
      if (stop_) return;  // shutting down: don't hang on an unreachable scheduler
      LOG_WARN << "sending events: " << reply.status().message();
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      continue;
    }
    if (!reply.ok()) LOG_ERROR << "the scheduler rejected events: " << reply.status().message();
    backoff = std::chrono::milliseconds(100);
    std::vector<wire::WorkerEvent> exits;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < batch.size(); ++i) {
        if (events_.front().type == wire::WorkerEventType::kExit) {
          exits.push_back(std::move(events_.front()));
        }
        events_.pop_front();
      }
    }
    for (const auto& ev : exits) hooks_.exit_acknowledged(ev);
  }
}

}  // namespace shoal
