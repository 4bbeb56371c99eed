#include "scheduler/failure_book.h"

#include <algorithm>

namespace shoal {

void FailureBook::Alive(const std::string& worker_id, int64_t now_ms) {
  Record& r = workers_[worker_id];
  if (r.alive_since_ms < 0) r.alive_since_ms = now_ms;
}

void FailureBook::Lost(const std::string& worker_id, int64_t now_ms) {
  Record& r = workers_[worker_id];
  if (r.alive_since_ms >= 0) r.up_ms += std::max<int64_t>(0, now_ms - r.alive_since_ms);
  r.alive_since_ms = -1;
  ++r.failures;
  ++total_losses_;
}

int64_t FailureBook::UpMs(const Record& r, int64_t now_ms) {
  return r.up_ms + (r.alive_since_ms >= 0 ? std::max<int64_t>(0, now_ms - r.alive_since_ms) : 0);
}

double FailureBook::MtbfS(const std::string& worker_id, int64_t now_ms) const {
  int64_t up = 0, failures = 0;
  if (auto it = workers_.find(worker_id); it != workers_.end()) {
    up = UpMs(it->second, now_ms);
    failures = it->second.failures;
  }
  return static_cast<double>(prior_ms_ + up) / 1000.0 / static_cast<double>(1 + failures);
}

std::vector<FailureRecord> FailureBook::Records(int64_t now_ms) const {
  std::vector<FailureRecord> out;
  out.reserve(workers_.size());
  for (const auto& [id, r] : workers_) out.push_back({id, UpMs(r, now_ms), r.failures});
  return out;
}

void FailureBook::Restore(const FailureRecord& record) {
  Record& r = workers_[record.worker_id];
  total_losses_ += std::max<int64_t>(0, record.losses) - r.failures;
  r.up_ms = std::max<int64_t>(0, record.up_ms);
  r.alive_since_ms = -1;
  r.failures = std::max<int64_t>(0, record.losses);
}

int64_t FailureBook::failures(const std::string& worker_id) const {
  auto it = workers_.find(worker_id);
  return it == workers_.end() ? 0 : it->second.failures;
}

}  // namespace shoal
