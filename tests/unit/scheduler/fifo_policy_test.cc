// FIFO gang placement on in-memory snapshots, including a property test over random clusters.
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "scheduler/policy/fifo.h"
#include "scheduler/policy/placement.h"
#include "scheduler/state/model.h"

namespace shoal {
namespace {

SnapshotJob J(int64_t id, int min, int max, Backend b = Backend::kCpu) {
  SnapshotJob j;
  j.id = id;
  j.min_ranks = min;
  j.max_ranks = max;
  j.backend = b;
  j.gpus_per_rank = b == Backend::kCpu ? 0 : 1;
  return j;
}

SnapshotWorker W(const std::string& id, int total, int free, int gpus = 0) {
  return {id, total, free, gpus};
}

TEST(PlacementTest, PacksOntoFewestWorkers) {
  auto p = PlaceGang(J(1, 4, 4), {W("a", 2, 2), W("b", 4, 4), W("c", 1, 1)});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, (std::vector<std::string>{"b", "b", "b", "b"}));
}

TEST(PlacementTest, NeverPartial) {
  EXPECT_FALSE(PlaceGang(J(1, 3, 3), {W("a", 1, 1), W("b", 2, 1)}).has_value());
}

TEST(PlacementTest, ElasticStartsWithWhatFitsBetweenMinAndMax) {
  auto p = PlaceGang(J(1, 2, 8), {W("a", 2, 2), W("b", 2, 1)});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->size(), 3u);
}

TEST(PlacementTest, CudaJobsNeedGpuWorkers) {
  EXPECT_FALSE(PlaceGang(J(1, 1, 1, Backend::kCuda), {W("cpu", 4, 4)}).has_value());
  EXPECT_TRUE(PlaceGang(J(1, 1, 1, Backend::kCuda), {W("gpu", 1, 1, 1)}).has_value());
}

TEST(FifoTest, HeadBlocksTheQueue) {
  Snapshot s;
  s.queue = {J(1, 3, 3), J(2, 1, 1)};
  s.workers = {W("a", 2, 2)};
  Decisions d = FifoPolicy(s);
  EXPECT_TRUE(d.starts.empty());
  ASSERT_EQ(d.waits.size(), 2u);
  EXPECT_EQ(d.waits[0].reason, kReasonResources);
  EXPECT_EQ(d.waits[1].reason, kReasonPriority);
}

TEST(FifoTest, ImpossibleJobIsConstraintAndDoesNotBlock) {
  Snapshot s;
  s.queue = {J(1, 1, 1, Backend::kCuda), J(2, 1, 1)};
  s.workers = {W("a", 1, 1)};
  Decisions d = FifoPolicy(s);
  ASSERT_EQ(d.starts.size(), 1u);
  EXPECT_EQ(d.starts[0].job_id, 2);
  ASSERT_EQ(d.waits.size(), 1u);
  EXPECT_EQ(d.waits[0].reason, kReasonConstraint);
}

TEST(FifoTest, NoWorkersMeansResources) {
  Snapshot s;
  s.queue = {J(1, 1, 1)};
  Decisions d = FifoPolicy(s);
  ASSERT_EQ(d.waits.size(), 1u);
  EXPECT_EQ(d.waits[0].reason, kReasonResources);
}

// Property: over random clusters and queues, every decision is a whole gang within min..max on
// slots that were free, no worker is oversubscribed, every job is decided exactly once, and no
// job starts behind a job that waits for resources.
TEST(FifoTest, PropertyNeverPartialNeverOversubscribedStrictOrder) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 2000; ++trial) {
    Snapshot s;
    int n_workers = static_cast<int>(rng() % 8);
    std::map<std::string, int> free;
    for (int w = 0; w < n_workers; ++w) {
      int total = 1 + static_cast<int>(rng() % 4);
      int f = static_cast<int>(rng() % (total + 1));
      int gpus = rng() % 3 == 0 ? total : 0;
      std::string id = "w" + std::to_string(w);
      s.workers.push_back(W(id, total, f, gpus));
      free[id] = f;
    }
    int n_jobs = static_cast<int>(rng() % 10);
    std::map<int64_t, SnapshotJob> jobs;
    for (int j = 0; j < n_jobs; ++j) {
      int min = 1 + static_cast<int>(rng() % 5);
      int max = min + static_cast<int>(rng() % 3);
      Backend b = rng() % 4 == 0 ? Backend::kCuda : Backend::kCpu;
      s.queue.push_back(J(j + 1, min, max, b));
      jobs[j + 1] = s.queue.back();
    }
    Decisions d = FifoPolicy(s);
    std::set<int64_t> decided;
    for (const auto& st : d.starts) {
      ASSERT_TRUE(decided.insert(st.job_id).second);
      const SnapshotJob& job = jobs[st.job_id];
      ASSERT_GE(static_cast<int>(st.rank_workers.size()), job.min_ranks);
      ASSERT_LE(static_cast<int>(st.rank_workers.size()), job.max_ranks);
      for (const auto& w : st.rank_workers) {
        ASSERT_GT(free[w], 0) << "oversubscribed " << w;
        --free[w];
        if (job.backend == Backend::kCuda) {
          for (const auto& sw : s.workers) {
            if (sw.id == w) {
              ASSERT_GT(sw.gpus, 0);
            }
          }
        }
      }
    }
    int64_t first_blocked = 0;
    for (const auto& wt : d.waits) {
      ASSERT_TRUE(decided.insert(wt.job_id).second);
      if (wt.reason == kReasonResources && first_blocked == 0) first_blocked = wt.job_id;
    }
    ASSERT_EQ(decided.size(), jobs.size());
    if (first_blocked != 0) {
      for (const auto& st : d.starts) ASSERT_LT(st.job_id, first_blocked);
    }
  }
}

}  // namespace
}  // namespace shoal
