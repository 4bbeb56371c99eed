// Young/Daly checkpoint intervals in the daemon: each worker's MTBF from its losses with a prior,
// a gang's MTBF, and the interval (scheduler/failure_book.h,
// scheduler/policy/checkpoint_interval.h).
#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "scheduler/failure_book.h"
#include "scheduler/policy/checkpoint_interval.h"

namespace shoal {
namespace {

constexpr int64_t kHour = 3600 * 1000;

TEST(FailureBookTest, MtbfStartsAtThePriorAndFollowsTheLosses) {
  FailureBook book(/*prior_mtbf_ms=*/24 * kHour);
  EXPECT_DOUBLE_EQ(book.MtbfS("never-seen", 0), 24 * 3600.0);
  book.Alive("w", 0);
  // Up 10 h, no loss yet: (24 + 10) h over one (prior) failure.
  EXPECT_DOUBLE_EQ(book.MtbfS("w", 10 * kHour), 34 * 3600.0);
  book.Lost("w", 10 * kHour);
  EXPECT_EQ(book.failures("w"), 1);
  // Down for 5 h: no up time accrues.
  EXPECT_DOUBLE_EQ(book.MtbfS("w", 15 * kHour), 34 * 3600.0 / 2);
  book.Alive("w", 15 * kHour);
  book.Alive("w", 16 * kHour);  // already alive: changes nothing
  book.Lost("w", 17 * kHour);
  book.Alive("w", 17 * kHour);
  book.Lost("w", 18 * kHour);
  // 10 + 2 + 1 h up, 3 losses: (24 + 13) / 4 h.
  EXPECT_DOUBLE_EQ(book.MtbfS("w", 100 * kHour), 37 * 3600.0 / 4);
  // A worker that is lost every hour converges to an hour.
  FailureBook flaky(24 * kHour);
  for (int i = 0; i < 1000; ++i) {
    flaky.Alive("f", 2 * i * kHour);
    flaky.Lost("f", (2 * i + 1) * kHour);
  }
  EXPECT_NEAR(flaky.MtbfS("f", 2000 * kHour), 3600.0, 100.0);
}

// What the scheduler stores and restores across its restarts: each worker's up time up to the
// save and its losses; a restored worker is not alive until seen again, so the scheduler's own
// down time counts for nobody.
TEST(FailureBookTest, RecordsRestoreTheSameMtbfAndTheDownTimeDoesNotCount) {
  FailureBook book(24 * kHour);
  book.Alive("w", 0);
  book.Lost("w", 10 * kHour);
  book.Alive("w", 11 * kHour);
  book.Alive("v", 0);
  EXPECT_EQ(book.total_losses(), 1);
  std::vector<FailureRecord> records = book.Records(13 * kHour);
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.worker_id < b.worker_id; });
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].worker_id, "v");
  EXPECT_EQ(records[0].up_ms, 13 * kHour);
  EXPECT_EQ(records[1].up_ms, 12 * kHour);  // 10 h, then 2 h of the current stretch
  EXPECT_EQ(records[1].losses, 1);
  FailureBook restored(24 * kHour);
  for (const FailureRecord& r : records) restored.Restore(r);
  EXPECT_EQ(restored.total_losses(), 1);
  EXPECT_EQ(restored.failures("w"), 1);
  EXPECT_DOUBLE_EQ(restored.MtbfS("w", 13 * kHour), book.MtbfS("w", 13 * kHour));
  // Down from 13 h to 20 h (the scheduler's restart): no up time; then alive again.
  EXPECT_DOUBLE_EQ(restored.MtbfS("w", 20 * kHour), (24 + 12) * 3600.0 / 2);
  restored.Alive("w", 20 * kHour);
  EXPECT_DOUBLE_EQ(restored.MtbfS("w", 21 * kHour), (24 + 13) * 3600.0 / 2);
  // Restoring a record again replaces it (no double count of losses).
  restored.Restore(records[1]);
  EXPECT_EQ(restored.total_losses(), 1);
  // Bad stored values (negative) are read as none.
  restored.Restore({"x", -5, -2});
  EXPECT_EQ(restored.failures("x"), 0);
  EXPECT_DOUBLE_EQ(restored.MtbfS("x", 0), 24 * 3600.0);
}

TEST(FailureBookTest, GangsFailWhenAnyWorkerDoesAndYoungDalyBalancesTheCost) {
  EXPECT_DOUBLE_EQ(GangMtbfS({86400, 86400}), 43200);
  EXPECT_DOUBLE_EQ(GangMtbfS({3600, 7200}), 2400);  // rates add: 1/3600 + 1/7200
  EXPECT_EQ(GangMtbfS({}), 0);
  EXPECT_EQ(GangMtbfS({3600, 0}), 0);
  EXPECT_DOUBLE_EQ(YoungDalyIntervalS(30, 43200), std::sqrt(2.0 * 30 * 43200));  // ~1,610 s
  EXPECT_EQ(YoungDalyIntervalS(0, 43200), 0);
}

}  // namespace
}  // namespace shoal
