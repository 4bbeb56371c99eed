// GradReducer: bucketed gradient all-reduce overlapped with backward (docs/design.md §2 step 5).
//
// Backward produces the flat gradient buffer from its end towards its start. Each time a further
// suffix is final, the trainer calls Ready(from); once at least `bucket_floats` new values are
// final, that range is handed to a communication thread, which all-reduces it while backward
// goes on. Finish() sends the remainder and waits. Every rank makes the same calls in the same
// order (bucket boundaries depend only on the model), so the collectives match across ranks.
//
// Use from one thread (the trainer's); the collective is used by the communication thread
// between Begin() and Finish() and must not be used by anyone else in that window.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "common/status.h"
#include "kernels/collectives/collective.h"

namespace shoal {

class GradReducer {
 public:
  // `total` floats per step; buckets of at least `bucket_floats` (> 0).
  GradReducer(Collective& collective, int64_t total, int64_t bucket_floats);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Starts a step over data[0, total).
  void Begin(float* data);
  // data[from, total) is final (from only decreases within a step).
  void Ready(int64_t from);
  // All-reduces what is left, waits for every bucket; returns the first collective error.
  Status Finish();
  // Seconds the trainer spent blocked in Finish() (communication not hidden by backward).
  double exposed_seconds() const { return exposed_seconds_; }
  int64_t buckets_per_step() const { return buckets_last_step_; }

 private:
  void Loop();
  void Launch(int64_t from, int64_t to);

  Collective& collective_;
  const int64_t total_;
  const int64_t bucket_floats_;
  float* data_ = nullptr;
  int64_t launched_from_ = 0;  // data[launched_from_, total) is queued or done
  int64_t buckets_ = 0;
  int64_t buckets_last_step_ = 0;
  double exposed_seconds_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<int64_t, int64_t>> queue_;
  int64_t in_flight_ = 0;  // queued + running
  Status error_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace shoal
