#include "worker/train/engines/cpu/grad_reducer.h"

#include <chrono>

namespace shoal {

GradReducer::GradReducer(Collective& collective, int64_t total, int64_t bucket_floats)
    : collective_(collective), total_(total), bucket_floats_(std::max<int64_t>(1, bucket_floats)) {
  thread_ = std::thread([this] { Loop(); });
}

GradReducer::~GradReducer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void GradReducer::Begin(float* data) {
  data_ = data;
  launched_from_ = total_;
  buckets_ = 0;
}

void GradReducer::Launch(int64_t from, int64_t to) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(from, to);
    ++in_flight_;
  }
  ++buckets_;
  cv_.notify_all();
}

void GradReducer::Ready(int64_t from) {
  if (launched_from_ - from >= bucket_floats_) {
    Launch(from, launched_from_);
    launched_from_ = from;
  }
}

Status GradReducer::Finish() {
  if (launched_from_ > 0) {
    Launch(0, launched_from_);
    launched_from_ = 0;
  }
  buckets_last_step_ = buckets_;
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return in_flight_ == 0; });
  exposed_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Status st = error_;
  error_ = Status::Ok();
  return st;
}

void GradReducer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop requested and nothing left
    auto [from, to] = queue_.front();
    queue_.pop_front();
    const bool skip = !error_.ok();  // after a failure the peers are gone: don't wait on them
    lock.unlock();
    Status st = skip ? Status::Ok() : collective_.AllReduceSum(data_ + from, to - from);
    lock.lock();
    if (!st.ok() && error_.ok()) error_ = st;
    --in_flight_;
    cv_.notify_all();
  }
}

}  // namespace shoal
