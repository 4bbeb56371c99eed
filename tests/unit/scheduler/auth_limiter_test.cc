// The failed-authentication limiter: a burst, then a steady rate, per address.
#include "scheduler/api/auth_limiter.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(AuthFailureLimiterTest, ABurstThenTheRefillRatePerAddress) {
  AuthFailureLimiter limiter({/*burst=*/3, /*per_second=*/2, /*max_addresses=*/100});
  int64_t now = 1'000'000;
  EXPECT_EQ(limiter.RetryAfterSeconds("a", now), 0);
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(limiter.RecordFailure("a", now), i);
  EXPECT_GE(limiter.RetryAfterSeconds("a", now), 1);  // the bucket is empty
  EXPECT_EQ(limiter.RetryAfterSeconds("b", now), 0);  // another address is not affected
  now += 500;                                         // half a second: one try back
  EXPECT_EQ(limiter.RetryAfterSeconds("a", now), 0);
  limiter.RecordFailure("a", now);
  EXPECT_GE(limiter.RetryAfterSeconds("a", now), 1);
  now += 10'000;  // refilled to the burst, not beyond; the failure count starts again
  EXPECT_EQ(limiter.RetryAfterSeconds("a", now), 0);
  EXPECT_EQ(limiter.RecordFailure("a", now), 1);
  EXPECT_EQ(limiter.RecordFailure("a", now), 2);
  EXPECT_EQ(limiter.RecordFailure("a", now), 3);
  EXPECT_GE(limiter.RetryAfterSeconds("a", now), 1);
}

TEST(AuthFailureLimiterTest, ForgetsRecoveredAddressesWhenFull) {
  AuthFailureLimiter limiter({/*burst=*/2, /*per_second=*/1, /*max_addresses=*/4});
  int64_t now = 0;
  for (int i = 0; i < 4; ++i) limiter.RecordFailure("old-" + std::to_string(i), now);
  now += 60'000;  // all recovered
  limiter.RecordFailure("new", now);
  limiter.RecordFailure("new", now);
  EXPECT_GE(limiter.RetryAfterSeconds("new", now), 1);
  // A forgotten address starts with a full bucket, as it would have had anyway.
  EXPECT_EQ(limiter.RetryAfterSeconds("old-0", now), 0);
}

}  // namespace
}  // namespace shoal
