// Memory admission in placement and the policy (docs/design.md §9): a rank goes only where its
// memory estimate fits a slot's share of the lent RAM (cpu) or the GPU memory (cuda).
#include <gtest/gtest.h>

#include "common/memory_estimate.h"
#include "scheduler/policy/placement.h"
#include "scheduler/policy/policy.h"
#include "scheduler/state/records.h"

namespace shoal {
namespace {

SnapshotJob J(int64_t id, int ranks, int64_t memory, Backend b = Backend::kCpu) {
  SnapshotJob j;
  j.id = id;
  j.min_ranks = j.max_ranks = ranks;
  j.backend = b;
  j.gpus_per_rank = b == Backend::kCuda ? 1 : 0;
  j.rank_memory_bytes = memory;
  return j;
}

SnapshotWorker W(const std::string& id, int slots, int64_t per_slot, int gpus = 0,
                 double gpu_gib = 0) {
  SnapshotWorker w;
  w.id = id;
  w.total_slots = w.free_slots = slots;
  w.memory_per_slot_bytes = per_slot;
  w.gpus = gpus;
  w.gpu_memory_gib = gpu_gib;
  return w;
}

TEST(MemoryPlacementTest, CpuRanksGoOnlyWhereASlotLendsEnough) {
  const SnapshotJob job = J(1, 2, 10 * kGiB);
  EXPECT_FALSE(MemoryFits(job, W("small", 4, 8 * kGiB)));
  EXPECT_TRUE(MemoryFits(job, W("big", 2, 10 * kGiB)));
  EXPECT_TRUE(MemoryFits(job, W("old", 2, 0)));           // did not report memory: let run
  EXPECT_TRUE(MemoryFits(J(2, 1, 0), W("small", 4, 1)));  // no estimate: no requirement
  auto p = PlaceGang(job, {W("small", 4, 8 * kGiB), W("big", 2, 12 * kGiB)});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, (std::vector<std::string>{"big", "big"}));
  EXPECT_FALSE(PlaceGang(job, {W("small", 4, 8 * kGiB), W("big", 1, 12 * kGiB)}).has_value());
}

TEST(MemoryPlacementTest, CudaRanksAreHeldToGpuMemory) {
  const SnapshotJob job = J(1, 1, 34 * kGiB, Backend::kCuda);
  EXPECT_FALSE(MemoryFits(job, W("a100-24", 1, 200 * kGiB, 1, 24)));
  EXPECT_TRUE(MemoryFits(job, W("h100", 1, 1 * kGiB, 1, 80)));  // host RAM is not the measure
  SnapshotJob two = job;
  two.gpus_per_rank = 2;  // a rank with two 24 GiB GPUs holds 48 GiB
  EXPECT_TRUE(MemoryFits(two, W("2x24", 1, 0, 2, 24)));
}

TEST(MemoryPlacementTest, TooLargeForEveryWorkerWaitsForConstraintWithTheNumbers) {
  Snapshot s;
  s.workers = {W("a", 2, int64_t{15} * kGiB + 200 * kMiB), W("b", 4, 4 * kGiB)};
  s.queue = {J(1, 1, int64_t{36614596198}), J(2, 2, 1 * kGiB)};
  Decisions d = Decide(s, PolicyOptions{});
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].job_id, 2);
  ASSERT_EQ(d.waits.size(), 1u);
  EXPECT_EQ(d.waits[0].job_id, 1);
  EXPECT_EQ(d.waits[0].reason, kReasonConstraint);
  EXPECT_EQ(d.waits[0].detail,
            "needs 1 rank (one slot each), 34.1 GiB of RAM per rank; the largest worker lends "
            "15.2 GiB per slot");
}

TEST(MemoryPlacementTest, FewerFittingSlotsThanTheGangIsAlsoAMemoryShortfall) {
  // Both workers fit 1 rank each without the estimate; with it only "b" does.
  const SnapshotJob job = J(1, 2, 6 * kGiB);
  const std::vector<SnapshotWorker> workers = {W("a", 1, 4 * kGiB), W("b", 1, 8 * kGiB)};
  EXPECT_EQ(FittingCapacity(job, workers), 1);
  EXPECT_EQ(DescribeMemoryShortfall(job, workers),
            "needs 2 ranks (one slot each), 6.0 GiB of RAM per rank; the largest worker lends "
            "8.0 GiB per slot");
  // Not a memory problem: the pool is too small even ignoring memory.
  EXPECT_EQ(DescribeMemoryShortfall(J(1, 3, 6 * kGiB), workers), "");
  // Fits: nothing to say.
  EXPECT_EQ(DescribeMemoryShortfall(J(1, 1, 6 * kGiB), workers), "");
}

TEST(MemoryPlacementTest, JobsOfDifferentSizesDoNotShareTheFitCache) {
  // The policy caches which workers fit per job shape; a memory-hungry job of the same backend
  // must not reuse a small job's answer ("every worker fits").
  Snapshot s;
  s.workers = {W("a", 1, 2 * kGiB), W("b", 1, 16 * kGiB)};
  s.queue = {J(1, 1, 1 * kGiB), J(2, 1, 8 * kGiB)};
  Decisions d = Decide(s, PolicyOptions{});
  ASSERT_EQ(d.starts.size(), 2u);
  for (const auto& start : d.starts) {
    if (start.job_id == 2) {
      EXPECT_EQ(start.rank_workers, std::vector<std::string>{"b"});
    } else {
      EXPECT_EQ(start.rank_workers, std::vector<std::string>{"a"});
    }
  }
}

}  // namespace
}  // namespace shoal
