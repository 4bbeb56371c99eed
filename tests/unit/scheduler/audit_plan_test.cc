// The attempt's audit plan (docs/audits.md "Audits", "Adaptive trust"):
// scheduler/audit/audit_plan.h.
#include "scheduler/audit/audit_plan.h"

#include <gtest/gtest.h>

#include "common/audit/commitment.h"

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

TEST(AuditPlan, NoRankAuditsItselfOrItsOwnWorker) {
  // Ranks 0 and 1 share worker a; 2 on b; 3 on c.
  std::vector<PlanRank> ranks = {
      {"a", "alice", 0.1}, {"a", "alice", 0.1}, {"b", "bob", 0.1}, {"c", "carol", 0.1}};
  auto plan = BuildAuditPlan(ranks, 3.5, 0.6, Counter());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  for (const auto& part : plan->ranks) {
    for (int q = 0; q < 4; ++q) {
      for (int r : part.auditors[q]) {
        EXPECT_NE(r, q);
        EXPECT_NE(ranks[r].worker_id, ranks[q].worker_id) << r << " audits " << q;
      }
    }
  }
  EXPECT_EQ(plan->ranks[0].auditors[0], std::vector<int>({2, 3}));
}

TEST(AuditPlan, PrefersOtherAccounts) {
  // Two alice workers and one bob: alice's ranks are audited by bob only, not by each other.
  std::vector<PlanRank> ranks = {{"a1", "alice", 0.2}, {"a2", "alice", 0.2}, {"b", "bob", 0.1}};
  EXPECT_EQ(AuditorsOf(ranks, 0), std::vector<int>({2}));
  EXPECT_EQ(AuditorsOf(ranks, 1), std::vector<int>({2}));
  EXPECT_EQ(AuditorsOf(ranks, 2), std::vector<int>({0, 1}));
  auto plan = BuildAuditPlan(ranks, 3.5, 0.6, Counter());
  ASSERT_TRUE(plan.ok());
  for (const auto& part : plan->ranks) {
    EXPECT_EQ(part.auditors, std::vector<std::vector<int>>({{2}, {2}, {0, 1}}));
  }
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
  for (const auto& part : plan->ranks) {
    EXPECT_TRUE(part.auditors[0].empty());
    EXPECT_TRUE(part.auditors[1].empty());
    for (int64_t s = 0; s < 50; ++s) EXPECT_EQ(Drawer(s, 2, part.auditors[0]), -1);
  }
}

TEST(AuditPlan, EveryRankSeesEachRanksOwnRate) {
  std::vector<PlanRank> ranks = {{"a", "alice", 0.1},
                                 {"b", "bob", 0.05},
                                 {"c", "carol", 0.02},
                                 {"d", "dave", 0.3},
                                 {"e", "alice", 1.0}};
  auto plan = BuildAuditPlan(ranks, 2.5, 0.6, Counter());
  ASSERT_TRUE(plan.ok());
  for (const auto& r : plan->ranks) {
    EXPECT_EQ(r.nonce, plan->nonce);
    EXPECT_EQ(r.screen_z, 2.5);
    EXPECT_EQ(r.rates, std::vector<double>({0.1, 0.05, 0.02, 0.3, 1.0}));
    EXPECT_EQ(r.accounts, std::vector<std::string>({"alice", "bob", "carol", "dave", "alice"}));
    // alice's ranks (0 and 4) never audit each other.
    EXPECT_EQ(r.auditors[0], std::vector<int>({1, 2, 3}));
    EXPECT_EQ(r.auditors[4], std::vector<int>({1, 2, 3}));
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
