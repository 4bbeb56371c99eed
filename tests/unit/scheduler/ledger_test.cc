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

}  // namespace
}  // namespace shoal
