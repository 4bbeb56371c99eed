// The attempt's audit plan (docs/audits.md "Audits", "Adaptive trust"):
// scheduler/audit/audit_plan.h.
#include "scheduler/audit/audit_plan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <set>

namespace shoal::audit {
namespace {

// A deterministic source: counts up, so every call differs.
RandomHex Counter() {
  auto n = std::make_shared<int>(0);
  return [n](int bytes) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%08x", ++*n);
    std::string hex(static_cast<size_t>(bytes) * 2 - 8, 'a');
    return hex + buf;
  };
}

double SumOfRatesOn(const AttemptAuditPlan& plan, int q) {
  double sum = 0;
  for (const auto& r : plan.ranks) sum += r.rates[q];
  return sum;
}

TEST(AuditPlan, NoRankAuditsItselfOrItsOwnWorker) {
  // Ranks 0 and 1 share worker a; 2 on b; 3 on c.
  std::vector<PlanRank> ranks = {
      {"a", "alice", 0.1}, {"a", "alice", 0.1}, {"b", "bob", 0.1}, {"c", "carol", 0.1}};
  auto plan = BuildAuditPlan(ranks, 3.5, 0.6, Counter());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(plan->ranks[r].rates[r], 0) << r;
    for (int q = 0; q < 4; ++q) {
      if (ranks[r].worker_id == ranks[q].worker_id) EXPECT_EQ(plan->ranks[r].rates[q], 0);
    }
  }
  EXPECT_EQ(plan->ranks[1].rates[0], 0);
}

TEST(AuditPlan, PrefersOtherAccounts) {
  // Two alice workers and one bob: alice's ranks are audited by bob only, not by each other.
  std::vector<PlanRank> ranks = {{"a1", "alice", 0.2}, {"a2", "alice", 0.2}, {"b", "bob", 0.1}};
  EXPECT_EQ(AuditorsOf(ranks, 0), std::vector<int>({2}));
  EXPECT_EQ(AuditorsOf(ranks, 1), std::vector<int>({2}));
  EXPECT_EQ(AuditorsOf(ranks, 2), std::vector<int>({0, 1}));
  auto plan = BuildAuditPlan(ranks, 3.5, 0.6, Counter());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->ranks[1].rates[0], 0);
  EXPECT_DOUBLE_EQ(plan->ranks[2].rates[0], 0.2);
  EXPECT_DOUBLE_EQ(plan->ranks[0].rates[2], 0.05);
  EXPECT_DOUBLE_EQ(plan->ranks[1].rates[2], 0.05);
}

TEST(AuditPlan, FallsBackToTheSameAccountOnOtherWorkers) {
  std::vector<PlanRank> ranks = {{"a1", "alice", 0.1}, {"a1", "alice", 0.1}, {"a2", "alice", 0.1}};
  EXPECT_EQ(AuditorsOf(ranks, 0), std::vector<int>({2}));
  EXPECT_EQ(AuditorsOf(ranks, 2), std::vector<int>({0, 1}));
}

TEST(AuditPlan, ARankWithNoPossibleAuditorIsNotAudited) {
  std::vector<PlanRank> ranks = {{"a", "alice", 0.1}, {"a", "alice", 0.1}};
  auto plan = BuildAuditPlan(ranks, 3.5, 0.6, Counter());
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(SumOfRatesOn(*plan, 0), 0);
  EXPECT_EQ(SumOfRatesOn(*plan, 1), 0);
}

TEST(AuditPlan, RatesSplitToTheAuditeesRate) {
  std::vector<PlanRank> ranks = {{"a", "alice", 0.1},
                                 {"b", "bob", 0.05},
                                 {"c", "carol", 0.02},
                                 {"d", "dave", 0.3},
                                 {"e", "alice", 1.0}};
  auto plan = BuildAuditPlan(ranks, 2.5, 0.6, Counter());
  ASSERT_TRUE(plan.ok());
  for (int q = 0; q < 5; ++q) EXPECT_NEAR(SumOfRatesOn(*plan, q), ranks[q].rate, 1e-12) << q;
  for (const auto& r : plan->ranks) {
    EXPECT_EQ(r.nonce, plan->nonce);
    EXPECT_EQ(r.screen_z, 2.5);
    EXPECT_EQ(r.accounts, std::vector<std::string>({"alice", "bob", "carol", "dave", "alice"}));
  }
}

TEST(AuditPlan, KeysAreDistinctAndTheSourceDecidesEverything) {
  std::vector<PlanRank> ranks = {{"a", "alice", 0.1}, {"b", "bob", 0.1}, {"c", "carol", 0.1}};
  auto a = BuildAuditPlan(ranks, 3.5, 0.6, Counter());
  auto b = BuildAuditPlan(ranks, 3.5, 0.6, Counter());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->nonce, b->nonce);
  EXPECT_EQ(a->ranks, b->ranks);
  std::set<std::string> keys;
  for (const auto& r : a->ranks) {
    EXPECT_EQ(r.key.size(), 2u * kKeyBytes);
    keys.insert(r.key);
  }
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_EQ(a->nonce.size(), 2u * kNonceBytes);
}

TEST(AuditPlan, ARepeatingSourceIsAnError) {
  std::vector<PlanRank> ranks = {{"a", "alice", 0.1}, {"b", "bob", 0.1}};
  auto same = [](int bytes) { return std::string(static_cast<size_t>(bytes) * 2, 'f'); };
  EXPECT_EQ(BuildAuditPlan(ranks, 3.5, 0.6, same).status().code(), StatusCode::kInternal);
  auto short_hex = [](int) { return std::string("ab"); };
  EXPECT_EQ(BuildAuditPlan(ranks, 3.5, 0.6, short_hex).status().code(), StatusCode::kInternal);
}

TEST(AuditPlan, BadRatesAreRefused) {
  EXPECT_EQ(BuildAuditPlan({{"a", "x", 1.5}}, 3.5, 0.6, Counter()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildAuditPlan({{"a", "x", std::nan("")}}, 3.5, 0.6, Counter()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildAuditPlan({{"a", "x", 0.1}}, 0, 0.6, Counter()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(AuditPlan, TheProductionSourceGivesHex) {
  std::string a = SecureRandomHex(kKeyBytes), b = SecureRandomHex(kKeyBytes);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace shoal::audit
