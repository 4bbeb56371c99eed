#include "scheduler/api/auth_limiter.h"

#include <algorithm>
#include <cmath>

namespace shoal {

AuthFailureLimiter::Bucket& AuthFailureLimiter::Refilled(const std::string& address,
                                                         int64_t now_ms) {
  auto [it, added] = buckets_.try_emplace(address);
  Bucket& b = it->second;
  if (added) {
    b.tokens = options_.burst;
  } else {
    const double elapsed_s = static_cast<double>(std::max<int64_t>(0, now_ms - b.updated_ms)) / 1e3;
    b.tokens = std::min(options_.burst, b.tokens + elapsed_s * options_.per_second);
  }
  b.updated_ms = now_ms;
  if (b.tokens >= options_.burst) b.failures = 0;
  return b;
}

int64_t AuthFailureLimiter::RetryAfterSeconds(const std::string& address, int64_t now_ms) {
  auto it = buckets_.find(address);
  if (it == buckets_.end()) return 0;  // never failed: nothing to refill, nothing stored
  const Bucket& b = Refilled(address, now_ms);
  if (b.tokens >= 1) return 0;
  return std::max<int64_t>(1,
                           static_cast<int64_t>(std::ceil((1 - b.tokens) / options_.per_second)));
}

int64_t AuthFailureLimiter::RecordFailure(const std::string& address, int64_t now_ms) {
  if (buckets_.size() >= options_.max_addresses && buckets_.count(address) == 0) {
    // Forget the addresses that are back to a full bucket (they would start full anyway).
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      const double elapsed_s = static_cast<double>(now_ms - it->second.updated_ms) / 1e3;
      it = it->second.tokens + elapsed_s * options_.per_second >= options_.burst
               ? buckets_.erase(it)
               : std::next(it);
    }
  }
  Bucket& b = Refilled(address, now_ms);
  b.tokens = std::max(0.0, b.tokens - 1);
  return ++b.failures;
}

}  // namespace shoal
