// The contribution ledger: decay and accrual arithmetic.
#include "scheduler/ledger.h"

#include <cmath>

#include <gtest/gtest.h>

namespace shoal {
namespace {

std::map<std::string, double> Rates(std::initializer_list<std::pair<const std::string, double>> r) {
  return std::map<std::string, double>(r);
}

TEST(LedgerTest, AccruesPerSecondAndDecaysWithTheHalfLife) {
  Ledger l(/*half_life_s=*/100);
  l.Advance(0, {}, {});  // sets the time only
  l.Advance(10'000, Rates({{"alice", 2}}), Rates({{"bob", 1}}));  // 10 s
  auto e = l.Entries();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].account, "alice");
  EXPECT_NEAR(e[0].contributed, 20, 1e-9);
  EXPECT_NEAR(e[1].used, 10, 1e-9);
  // One half-life later with nothing running: halved.
  l.Advance(110'000, {}, {});
  e = l.Entries();
  EXPECT_NEAR(e[0].contributed, 10, 1e-9);
  EXPECT_NEAR(e[1].used, 5, 1e-9);
  // Time going backwards (a clock step) charges nothing.
  l.Advance(50'000, Rates({{"alice", 100}}), {});
  EXPECT_NEAR(l.Entries()[0].contributed, 10, 1e-9);
}

TEST(LedgerTest, LoadRestartsTheClockWithoutChargingTheGap) {
  Ledger l(1e9);
  l.Load({{"alice", 5, 1}}, 1'000'000);
  l.Advance(1'001'000, Rates({{"alice", 1}}), {});
  auto e = l.Entries();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NEAR(e[0].contributed, 6, 1e-6);
  EXPECT_NEAR(e[0].used, 1, 1e-6);
}

// BOINC's "total credit" beside the fair-share sums: credits and charges add to both, and only the
// fair-share pair decays.
TEST(LedgerTest, TotalsNeverDecay) {
  Ledger l(/*half_life_s=*/100);
  l.Advance(0, {}, {});
  l.Credit("alice", 40);
  l.Advance(10'000, {}, Rates({{"bob", 1}}));  // 10 s: alice's credit decays, bob spends 10
  auto e = l.Entries();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_NEAR(e[0].contributed, 40 * std::exp2(-0.1), 1e-9);
  EXPECT_NEAR(e[0].total_contributed, 40, 1e-9);
  EXPECT_NEAR(e[1].used, 10, 1e-9);
  EXPECT_NEAR(e[1].total_used, 10, 1e-9);
  // Ten half-lives of nothing: the decayed pair is almost gone, the totals are as they were.
  l.Advance(1'010'000, {}, {});
  l.Credit("alice", 2);
  e = l.Entries();
  EXPECT_LT(e[0].contributed, 2.1);
  EXPECT_NEAR(e[0].total_contributed, 42, 1e-9);
  EXPECT_LT(e[1].used, 0.01);
  EXPECT_NEAR(e[1].total_used, 10, 1e-9);
  EXPECT_EQ(e[0].total_used, 0);
  EXPECT_EQ(e[1].total_contributed, 0);
  // Load keeps them.
  Ledger again(100);
  again.Load(e, 2'000'000);
  EXPECT_NEAR(again.Entries()[0].total_contributed, 42, 1e-9);
  EXPECT_NEAR(again.Entries()[1].total_used, 10, 1e-9);
}

}  // namespace
}  // namespace shoal
