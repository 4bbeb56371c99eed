// Placement by cached chunks (docs/registry.md): PlaceGang and Decide prefer the workers whose
// chunk caches hold more of a job's registry data, and place jobs without it exactly as before.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "scheduler/policy/placement.h"
#include "scheduler/policy/policy.h"

namespace shoal {
namespace {

SnapshotJob J(int64_t id, int min, int max, std::vector<SnapshotData> data = {}) {
  SnapshotJob j;
  j.id = id;
  j.min_ranks = min;
  j.max_ranks = max;
  j.backend = Backend::kCpu;
  j.data = std::move(data);
  return j;
}

SnapshotWorker W(const std::string& id, int total, int free,
                 std::vector<SnapshotData> cached = {}) {
  SnapshotWorker w;
  w.id = id;
  w.node = id;
  w.total_slots = total;
  w.free_slots = free;
  w.cached = std::move(cached);
  return w;
}

SnapshotData D(const std::string& digest, int64_t bytes) {
  SnapshotData d;
  d.digest = digest;
  d.bytes = bytes;
  return d;
}

using Ids = std::vector<std::string>;

TEST(CachePlacementTest, OneRankGoesToTheWorkerThatCachesItsData) {
  // Without data, best fit: c (1 free slot). With data cached on b, b.
  const std::vector<SnapshotWorker> pool = {W("a", 4, 4), W("b", 4, 2, {D("x", 100)}),
                                            W("c", 1, 1)};
  EXPECT_EQ(*PlaceGang(J(1, 1, 1), pool), (Ids{"c"}));
  EXPECT_EQ(*PlaceGang(J(1, 1, 1, {D("x", 100)}), pool), (Ids{"b"}));
  // Data nobody caches: placed as without data.
  EXPECT_EQ(*PlaceGang(J(1, 1, 1, {D("y", 100)}), pool), (Ids{"c"}));
}

TEST(CachePlacementTest, MoreCachedBytesWinAndCountOnlyUpToTheVersionsSize) {
  const std::vector<SnapshotWorker> pool = {W("a", 4, 4, {D("x", 40)}), W("b", 4, 4, {D("y", 90)}),
                                            W("c", 4, 4, {D("x", 100), D("z", 500)})};
  // c holds all 100 bytes of x.
  EXPECT_EQ(*PlaceGang(J(1, 1, 1, {D("x", 100)}), pool), (Ids{"c"}));
  // Reading x and y: a 40, b 90, c 100.
  EXPECT_EQ(*PlaceGang(J(1, 1, 1, {D("x", 100), D("y", 100)}), pool), (Ids{"c"}));
  // A report larger than the version counts as the whole version only.
  EXPECT_EQ(CachedBytes(J(1, 1, 1, {D("x", 10)}), pool[2]), 10);
  EXPECT_EQ(CachedBytes(J(1, 1, 1, {D("x", 100), D("y", 100)}), pool[1]), 90);
  EXPECT_EQ(CachedBytes(J(1, 1, 1), pool[2]), 0);
}

TEST(CachePlacementTest, TiesByPackingThenId) {
  // Equal caches: best fit among them (b has fewer free slots), then the smaller id.
  const std::vector<SnapshotWorker> pool = {W("a", 4, 4, {D("x", 100)}),
                                            W("b", 4, 2, {D("x", 100)}), W("c", 4, 1)};
  EXPECT_EQ(*PlaceGang(J(1, 1, 1, {D("x", 100)}), pool), (Ids{"b"}));
  const std::vector<SnapshotWorker> same = {W("b", 4, 2, {D("x", 100)}),
                                            W("a", 4, 2, {D("x", 100)})};
  EXPECT_EQ(*PlaceGang(J(1, 1, 1, {D("x", 100)}), same), (Ids{"a"}));
  // Deterministic whatever the workers' order.
  const std::vector<SnapshotWorker> reversed = {same[1], same[0]};
  EXPECT_EQ(*PlaceGang(J(1, 2, 2, {D("x", 100)}), same),
            *PlaceGang(J(1, 2, 2, {D("x", 100)}), reversed));
}

TEST(CachePlacementTest, AGangTakesTheCachingWorkersFirstThenPacksTheRest) {
  const std::vector<SnapshotWorker> pool = {W("a", 4, 4), W("b", 2, 2, {D("x", 100)}), W("c", 2, 1),
                                            W("d", 4, 3)};
  // b's two slots, then the remaining rank on the best fit among the rest: c.
  EXPECT_EQ(*PlaceGang(J(1, 3, 3, {D("x", 100)}), pool), (Ids{"b", "b", "c"}));
  // Never a partial gang, cache or not.
  EXPECT_FALSE(PlaceGang(J(1, 11, 11, {D("x", 100)}), pool).has_value());
}

// Jobs without registry data are placed exactly as before, whatever the workers cache; so are
// jobs whose data no worker caches.
TEST(CachePlacementTest, PropertyWithoutCachedDataPlacementIsUnchanged) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 500; ++iter) {
    std::vector<SnapshotWorker> plain, caching;
    const int nw = 1 + static_cast<int>(rng() % 12);
    for (int w = 0; w < nw; ++w) {
      const int total = 1 + static_cast<int>(rng() % 8);
      const int free = static_cast<int>(rng() % (total + 1));
      const std::string id = "w" + std::to_string(rng() % 1000) + "-" + std::to_string(w);
      plain.push_back(W(id, total, free));
      std::vector<SnapshotData> cached;
      if (rng() % 2 == 0) cached.push_back(D("x" + std::to_string(rng() % 3), 1 + rng() % 100));
      caching.push_back(W(id, total, free, cached));
    }
    const int min = 1 + static_cast<int>(rng() % 10);
    const int max = min + static_cast<int>(rng() % 4);
    const auto want = PlaceGang(J(1, min, max), plain);
    ASSERT_EQ(want, PlaceGang(J(1, min, max), caching)) << "iter " << iter;
    ASSERT_EQ(want, PlaceGang(J(1, min, max, {D("never-cached", 50)}), caching)) << iter;
  }
}

Snapshot Pool(std::vector<SnapshotWorker> workers, std::vector<SnapshotJob> queue) {
  Snapshot s;
  s.now_ms = 1'000'000;
  s.workers = std::move(workers);
  s.queue = std::move(queue);
  return s;
}

TEST(CachePlacementTest, DecidePrefersCachingWorkersAlsoOnTheUniformPoolsFastPath) {
  // Every worker fits every job: without data the cycle places through FreeSlotIndex.
  std::vector<SnapshotWorker> workers;
  for (int i = 0; i < 8; ++i) workers.push_back(W("w" + std::to_string(i), 4, 4));
  workers[5].cached = {D("x", 1000)};
  workers[6].cached = {D("y", 1000)};
  for (const char* name : {"fifo", "fifo+backfill", "fairshare"}) {
    const PolicyOptions policy = *ParsePolicyName(name);
    const Decisions d =
        Decide(Pool(workers, {J(1, 1, 1), J(2, 1, 1, {D("y", 1000)}), J(3, 2, 2, {D("x", 1000)})}),
               policy);
    ASSERT_EQ(d.starts.size(), 3u) << name;
    EXPECT_EQ(d.starts[0].rank_workers, (Ids{"w0"})) << name;  // as before: emptiest, first id
    EXPECT_EQ(d.starts[1].rank_workers, (Ids{"w6"})) << name;
    EXPECT_EQ(d.starts[2].rank_workers, (Ids{"w5", "w5"})) << name;
  }
  // No worker caches anything: jobs with data start where jobs without would.
  for (auto& w : workers) w.cached.clear();
  const Decisions with =
      Decide(Pool(workers, {J(1, 3, 3, {D("x", 10)}), J(2, 1, 1, {D("y", 10)})}), PolicyOptions{});
  const Decisions without = Decide(Pool(workers, {J(1, 3, 3), J(2, 1, 1)}), PolicyOptions{});
  ASSERT_EQ(with.starts.size(), 2u);
  ASSERT_EQ(without.starts.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(with.starts[i].rank_workers, without.starts[i].rank_workers);
  }
}

}  // namespace
}  // namespace shoal
