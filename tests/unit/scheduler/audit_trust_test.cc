// Adaptive trust and the rollback rule (docs/audits.md): scheduler/audit/trust.h, rollback.h.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "scheduler/audit/rollback.h"
#include "scheduler/audit/trust.h"
#include "scheduler/state/records.h"

namespace shoal::audit {
namespace {

TEST(AuditTrust, CleanAuditsDecayToTheFloor) {
  TrustPolicy p;
  double rate = NewWorkerRate(p);
  EXPECT_DOUBLE_EQ(rate, 0.1);
  rate = RateAfterClean(p, rate);
  EXPECT_DOUBLE_EQ(rate, 0.1 * 0.9);
  for (int i = 0; i < 100; ++i) rate = RateAfterClean(p, rate);
  EXPECT_DOUBLE_EQ(rate, p.min_rate);
}

TEST(AuditTrust, AFailedAuditResetsTheRate) {
  TrustPolicy p;
  EXPECT_DOUBLE_EQ(RateAfterFailed(p), p.initial_rate);
  EXPECT_DOUBLE_EQ(RateAfterClean(p, RateAfterFailed(p)), p.initial_rate * p.decay);
}

TEST(AuditTrust, ACorruptRateRestartsFromTheInitialOne) {
  TrustPolicy p;
  EXPECT_DOUBLE_EQ(RateAfterClean(p, std::nan("")), p.initial_rate * p.decay);
  EXPECT_DOUBLE_EQ(RateAfterClean(p, 0), p.initial_rate * p.decay);
}

TEST(AuditTrust, Validation) {
  EXPECT_TRUE(ValidateTrustPolicy(TrustPolicy{}).ok());
  EXPECT_TRUE(ValidateTrustPolicy({1, 1, 1, 1}).ok());
  auto bad = [](TrustPolicy p, const std::string& field) {
    Status st = ValidateTrustPolicy(p);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find(field), std::string::npos) << st.message();
  };
  bad({0, 0.9, 0.02, 3.5}, "auditInitialRate");
  bad({1.5, 0.9, 0.02, 3.5}, "auditInitialRate");
  bad({0.1, 0.9, 0, 3.5}, "auditMinRate");
  bad({0.1, 0.9, 0.2, 3.5}, "must not exceed");
  bad({0.1, 0, 0.02, 3.5}, "auditDecay");
  bad({0.1, 1.1, 0.02, 3.5}, "auditDecay");
  bad({0.1, 0.9, 0.02, 0}, "auditScreenZ");
  bad({0.1, 0.9, 0.02, std::numeric_limits<double>::infinity()}, "auditScreenZ");
}

TEST(AuditRollback, NewestCheckpointAtOrBeforeTheLastCleanAudit) {
  EXPECT_EQ(RollbackStep({100, 200, 300}, 250), 200);
  EXPECT_EQ(RollbackStep({300, 100, 200}, 300), 300);  // at the step counts; order does not matter
  EXPECT_EQ(RollbackStep({100, 200}, 1000), 200);
}

TEST(AuditRollback, TheStartWhenNoCheckpointIsOldEnough) {
  EXPECT_EQ(RollbackStep({100, 200}, 50), 0);
  EXPECT_EQ(RollbackStep({}, 500), 0);
  EXPECT_EQ(RollbackStep({100}, -1), 0);  // never passed an audit
}

}  // namespace
}  // namespace shoal::audit

namespace shoal {
namespace {

// The rollback rule as the resume list applies it (docs/audits.md "Consequences").
TEST(RollbackRule, CheckpointsPastTheLastCleanAuditOfACaughtAttemptAreSetAside) {
  Job job;
  job.attempts.resize(3);
  for (int i = 0; i < 3; ++i) job.attempts[i].number = i + 1;
  EXPECT_FALSE(RolledBack(job, 1, 500));  // nobody caught: everything resumable
  job.attempts[1].rollback_to_step = 120;  // attempt 2 caught a cheater last clean at step 120
  EXPECT_FALSE(RolledBack(job, 1, 100));
  EXPECT_FALSE(RolledBack(job, 2, 120));
  EXPECT_TRUE(RolledBack(job, 2, 121));
  EXPECT_TRUE(RolledBack(job, 1, 300));
  // Attempt 3 ran without the cheater: its checkpoints are trusted again.
  EXPECT_FALSE(RolledBack(job, 3, 400));
}

}  // namespace
}  // namespace shoal
