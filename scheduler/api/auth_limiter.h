// AuthFailureLimiter: how many failed authentications a client address may make.
//
// Each address has a bucket of `burst` tries that refills at `per_second`; a failed
// authentication takes one. An address with an empty bucket is refused (429) before its token is
// even looked at, so guessing tokens goes at `per_second` per address instead of as fast as the
// scheduler answers. A successful authentication does not refill it. Memory is bounded: addresses
// whose bucket is full again are forgotten once more than `max_addresses` are tracked.
// Not thread-safe: the API calls it from the event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace shoal {

struct AuthLimiterOptions {
  double burst = 30;      // failures an address may make at once
  double per_second = 2;  // and then this many per second
  size_t max_addresses = 100000;
};

class AuthFailureLimiter {
 public:
  explicit AuthFailureLimiter(AuthLimiterOptions options = {}) : options_(options) {}

  // 0 when `address` may try to authenticate at `now_ms`; else the seconds until it may (>= 1).
  int64_t RetryAfterSeconds(const std::string& address, int64_t now_ms);
  // Records a failed authentication from `address`. Returns how many it has made since the
  // bucket was last full (for the log line).
  int64_t RecordFailure(const std::string& address, int64_t now_ms);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
    int64_t failures = 0;  // since the bucket was last full
  };
  Bucket& Refilled(const std::string& address, int64_t now_ms);

  AuthLimiterOptions options_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace shoal
