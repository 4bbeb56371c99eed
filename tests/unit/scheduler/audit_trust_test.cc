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

TEST(AuditRollback, ThePointsAreEachWorkersNewestCleanAuditOverTheAttempts) {
  const std::map<std::string, int64_t> first = {{"w1", 40}, {"w2", 90}, {"w3", 90}},
                                       second = {{"w1", 20}, {"w4", 130}};
  EXPECT_EQ(RollbackPoints({&first, &second}), (std::vector<int64_t>{40, 90, 130}));
  EXPECT_TRUE(RollbackPoints({}).empty());
}

// The store keeps the newest `keep` and, for each point, the checkpoint the rule would pick:
// with keep 1 and checkpoints every 10 steps, a worker last audited clean at step 35 could
// otherwise only be rolled back to the start.
TEST(AuditRollback, TheCheckpointsTheRuleMayNeedAreKept) {
  const std::vector<int64_t> steps = {10, 20, 30, 40, 50};
  EXPECT_EQ(KeptCheckpoints(steps, 1, {}), (std::vector<bool>{false, false, false, false, true}));
  EXPECT_EQ(KeptCheckpoints(steps, 2, {35}), (std::vector<bool>{false, false, true, true, true}));
  EXPECT_EQ(KeptCheckpoints(steps, 1, {5, 10, 35, 999}),
            (std::vector<bool>{true, false, true, false, true}));
  EXPECT_EQ(KeptCheckpoints(steps, 0, {}), KeptCheckpoints(steps, 1, {}));  // at least one
  for (int64_t point : {10, 35, 49}) {
    const auto kept = KeptCheckpoints(steps, 1, {point});
    std::vector<int64_t> left;
    for (size_t i = 0; i < steps.size(); ++i) {
      if (kept[i]) left.push_back(steps[i]);
    }
    EXPECT_EQ(RollbackStep(left, point), RollbackStep(steps, point)) << point;
  }
  EXPECT_TRUE(KeptCheckpoints({}, 3, {10}).empty());
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
