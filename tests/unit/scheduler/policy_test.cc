// Placement and the scheduling policies on in-memory snapshots, including a property test over
// random clusters.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <utility>

#include <gtest/gtest.h>

#include "scheduler/policy/backfill.h"
#include "scheduler/policy/order.h"
#include "scheduler/policy/placement.h"
#include "scheduler/policy/policy.h"
#include "scheduler/policy/queue_index.h"
#include "scheduler/state/records.h"

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
  SnapshotWorker w;
  w.id = id;
  w.total_slots = total;
  w.free_slots = free;
  w.gpus = gpus;
  return w;
}

Decisions FifoPolicy(const Snapshot& s) { return Decide(s, PolicyOptions{}); }

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
  s.workers = {W("a", 3, 2)};
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

SnapshotJob Timed(int64_t id, int ranks, int64_t runtime_s, std::string account = "a",
                  int priority = 500) {
  SnapshotJob j = J(id, ranks, ranks);
  j.max_runtime_ms = runtime_s * 1000;
  j.account = std::move(account);
  j.priority = priority;
  j.submit_ms = id;
  return j;
}

SnapshotRunning Running(int64_t id, std::vector<std::string> workers, int64_t start_s,
                        int64_t runtime_s, std::string account = "a") {
  SnapshotRunning r;
  r.id = id;
  r.account = std::move(account);
  r.start_ms = start_s * 1000;
  r.max_runtime_ms = runtime_s * 1000;
  r.rank_workers = std::move(workers);
  return r;
}

std::vector<int64_t> Started(const Decisions& d) {
  std::vector<int64_t> ids;
  for (const auto& s : d.starts) ids.push_back(s.job_id);
  return ids;
}

TEST(PlacementTest, SmallGangsBestFitAndBigGangsKeepWholeNodesFree) {
  // 2 ranks: the worker with 3 free, not the empty one.
  auto p = PlaceGang(J(1, 2, 2), {W("a", 8, 8), W("b", 8, 3)});
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<std::string>{"b", "b"}));
  // 10 ranks: one whole worker, then the remainder on the best fit (c), so b stays whole.
  p = PlaceGang(J(2, 10, 10), {W("a", 8, 8), W("b", 8, 8), W("c", 8, 3)});
  ASSERT_TRUE(p);
  EXPECT_EQ(std::count(p->begin(), p->end(), "a"), 8);
  EXPECT_EQ(std::count(p->begin(), p->end(), "c"), 2);
  EXPECT_EQ(std::count(p->begin(), p->end(), "b"), 0);
}

TEST(PlacementTest, GpuTypesAndMemoryConstrainWorkers) {
  SnapshotWorker h100 = W("h", 8, 8, 8);
  h100.gpu_type = "NVIDIA H100 80GB HBM3";
  h100.gpu_memory_gib = 79.6;
  SnapshotJob job = J(1, 1, 1, Backend::kCuda);
  job.gpu_types = {"A100", "h100"};
  EXPECT_TRUE(WorkerFits(job, h100));
  job.gpu_types = {"A100"};
  EXPECT_FALSE(WorkerFits(job, h100));
  job.gpu_types = {};
  job.min_gpu_memory_gib = 96;
  EXPECT_FALSE(WorkerFits(job, h100));
  EXPECT_FALSE(GpuTypeMatches("H10", "NVIDIA H100"));
  EXPECT_FALSE(GpuTypeMatches("H100", "NVIDIA H1000"));
  EXPECT_TRUE(GpuTypeMatches("h200", "NVIDIA H200"));

  // A job no worker can ever host waits with reason Constraint, and the next job still starts.
  Snapshot s;
  s.workers = {h100};
  SnapshotJob a100 = J(1, 1, 1, Backend::kCuda);
  a100.gpu_types = {"A100"};
  s.queue = {a100, J(2, 1, 1, Backend::kCuda)};
  Decisions d = FifoPolicy(s);
  EXPECT_EQ(Started(d), (std::vector<int64_t>{2}));
  ASSERT_EQ(d.waits.size(), 1u);
  EXPECT_EQ(d.waits[0].reason, kReasonConstraint);
}

TEST(PriorityTest, HigherPriorityStartsFirst) {
  Snapshot s;
  s.workers = {W("a", 1, 1)};
  s.queue = {Timed(1, 1, 10, "a", 250), Timed(2, 1, 10, "a", 750)};
  EXPECT_EQ(Started(Decide(s, *ParsePolicyName("priority"))), (std::vector<int64_t>{2}));
  EXPECT_EQ(Started(Decide(s, *ParsePolicyName("fifo"))), (std::vector<int64_t>{1}));
}

TEST(FairShareTest, FavoursTheUnderServedContributorAndStarvesNobody) {
  Snapshot s;
  s.workers = {W("w", 1, 1)};
  // Equal contributors; alice has used 9x what bob has.
  s.accounts = {{"alice", 1000, 900}, {"bob", 1000, 100}};
  s.queue = {Timed(1, 1, 10, "alice"), Timed(2, 1, 10, "bob")};
  EXPECT_EQ(Started(Decide(s, *ParsePolicyName("fairshare"))), (std::vector<int64_t>{2}));
  std::map<std::string, FairShare> f;
  for (const auto& x : FairShareFactors(s)) f[x.account] = x;
  EXPECT_GT(f["bob"].factor, f["alice"].factor);
  EXPECT_NEAR(f["alice"].share, 0.5, 1e-9);
  EXPECT_NEAR(f["alice"].usage, 0.9, 1e-9);
  EXPECT_NEAR(f["alice"].factor, std::exp2(-0.9 / 0.5), 1e-9);
  // A non-contributor has a small floor share, not none: once it has used as much as the
  // contributors it ranks last, but its factor stays above zero, so it is never starved.
  s.accounts.push_back({"carol", 0, 900});
  s.queue.push_back(Timed(3, 1, 10, "carol"));
  for (const auto& x : FairShareFactors(s)) f[x.account] = x;
  EXPECT_LT(f["carol"].factor, f["alice"].factor);
  EXPECT_GT(f["carol"].factor, 0.0);
  EXPECT_GT(f["carol"].share, 0.0);
}

TEST(BackfillTest, ShortJobsFillTheGapLongOnesDoNotDelayTheHead) {
  Snapshot s;
  s.now_ms = 0;
  s.workers = {W("a", 4, 2)};
  s.running = {Running(9, {"a", "a"}, 0, 100)};  // frees 2 slots at t = 100 s
  // Head: 4 ranks, can start at 100 s. Then a 50 s job (ends before) and a 500 s job (would hold
  // slots the head needs at 100 s).
  s.queue = {Timed(1, 4, 1000), Timed(2, 2, 500), Timed(3, 2, 50)};
  EXPECT_EQ(Started(Decide(s, *ParsePolicyName("fifo"))), (std::vector<int64_t>{}));
  Decisions d = Decide(s, *ParsePolicyName("fifo+backfill"));
  EXPECT_EQ(Started(d), (std::vector<int64_t>{3}));
  ASSERT_EQ(d.waits.size(), 2u);
  EXPECT_NE(d.waits[1].detail.find("reserved to start in 100s"), std::string::npos)
      << d.waits[1].detail;

  // Slots the head will not need at its start may go to a job of any length.
  s.workers = {W("a", 4, 2), W("b", 1, 1)};
  s.queue = {Timed(1, 4, 1000), Timed(2, 1, 5000)};
  EXPECT_EQ(Started(Decide(s, *ParsePolicyName("fifo+backfill"))), (std::vector<int64_t>{2}));
}

TEST(BackfillTest, HeadJobGetsItsReservedStartAsAnEstimate) {
  Snapshot s;
  s.now_ms = 5'000;
  s.workers = {W("a", 4, 2)};
  s.running = {Running(9, {"a", "a"}, 0, 100)};  // frees its 2 slots at t = 100 s
  s.queue = {Timed(1, 4, 1000)};                 // alone: no job behind it asks for the reservation
  Decisions d = Decide(s, *ParsePolicyName("fifo+backfill"));
  ASSERT_EQ(d.waits.size(), 1u);
  EXPECT_EQ(d.waits[0].estimated_start_ms, 100'000);
  EXPECT_EQ(d.waits[0].detail, "needs 4 ranks (one slot each); 2 of the 4 slots that fit are free");
  // Without backfill there is no reservation, so no estimate.
  EXPECT_EQ(Decide(s, *ParsePolicyName("fifo")).waits[0].estimated_start_ms, 0);
  // A running job without a time limit never frees its slots in the estimate: none.
  s.running[0].max_runtime_ms = 0;
  EXPECT_EQ(Decide(s, *ParsePolicyName("fifo+backfill")).waits[0].estimated_start_ms, 0);
}

// A running job at or past its limit is being stopped but still holds its slots: they free after
// now, never at now. (Counted as free now, the head was reserved on them at once, so any job
// fitting the free slots beside it could take them, of any length.)
TEST(BackfillTest, AJobPastItsLimitIsNotGoneYet) {
  Snapshot s;
  s.now_ms = 200'000;
  s.workers = {W("a", 4, 2)};
  s.running = {Running(9, {"a", "a"}, 0, 100)};  // its limit was at 100 s: overdue
  auto head = policy_internal::ReserveHead(Timed(1, 4, 1000), s.workers, s.running, s.now_ms);
  ASSERT_TRUE(head.has_value());
  EXPECT_GT(head->start_ms, s.now_ms);
  // So a long job cannot take the free slots the head needs, and a short one cannot end before.
  s.queue = {Timed(1, 4, 1000), Timed(2, 2, 5000), Timed(3, 2, 1)};
  EXPECT_EQ(Started(Decide(s, *ParsePolicyName("fifo+backfill"))), (std::vector<int64_t>{}));
}

TEST(WaitReasonTest, MessagesSayWhatTheJobNeedsAndWhatThePoolHas) {
  SnapshotJob gpu = J(1, 3, 3, Backend::kCuda);
  gpu.gpu_types = {"H100", "A100"};
  gpu.min_gpu_memory_gib = 40;
  EXPECT_EQ(DescribeNeed(gpu), "needs 3 ranks with 1 GPU each of type H100 or A100 with >= 40 GiB");
  EXPECT_EQ(DescribeNeed(J(2, 1, 1)), "needs 1 rank (one slot each)");
  Snapshot s;
  s.workers = {W("a", 2, 2)};  // CPU only: no GPU job can ever run here
  s.queue = {gpu, J(2, 3, 3)};
  Decisions d = FifoPolicy(s);
  ASSERT_EQ(d.waits.size(), 2u);
  EXPECT_EQ(d.waits[0].reason, "Constraint");
  EXPECT_EQ(d.waits[0].detail,
            "needs 3 ranks with 1 GPU each of type H100 or A100 with >= 40 GiB; no alive worker "
            "fits");
  EXPECT_EQ(d.waits[1].reason, "Constraint");
  EXPECT_EQ(d.waits[1].detail,
            "needs 3 ranks (one slot each); the alive workers that fit have 2 slots in all");
  s.workers.clear();  // an empty pool is starting, not unable: Resources, and the head blocks
  d = FifoPolicy(s);
  ASSERT_EQ(d.waits.size(), 2u);
  EXPECT_EQ(d.waits[0].reason, "Resources");
  EXPECT_EQ(
      d.waits[0].detail,
      "needs 3 ranks with 1 GPU each of type H100 or A100 with >= 40 GiB; no worker is alive");
  EXPECT_EQ(d.waits[1].reason, "Priority");
}

// Property: on random clusters with running jobs, backfilled jobs never push back the head job's
// reserved start, and decisions stay whole, within free slots and unique.
TEST(BackfillTest, PropertyNeverDelaysTheHeadReservation) {
  std::mt19937 rng(4242);
  int checked = 0, backfilled = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    Snapshot s;
    s.now_ms = 1000 * 1000;
    const int nw = 1 + static_cast<int>(rng() % 6);
    for (int w = 0; w < nw; ++w) {
      const int total = 1 + static_cast<int>(rng() % 8);
      s.workers.push_back(W("w" + std::to_string(w), total, total));
    }
    // Running jobs fill random slots.
    int64_t next_id = 1000;
    for (auto& w : s.workers) {
      while (w.free_slots > 0 && rng() % 3 != 0) {
        const int take = 1 + static_cast<int>(rng() % w.free_slots);
        std::vector<std::string> ranks(take, w.id);
        w.free_slots -= take;
        s.running.push_back(Running(next_id++, ranks, 1000 - static_cast<int64_t>(rng() % 500),
                                    1 + static_cast<int64_t>(rng() % 2000)));
      }
    }
    const int nq = 1 + static_cast<int>(rng() % 10);
    for (int q = 0; q < nq; ++q) {
      s.queue.push_back(
          Timed(q + 1, 1 + static_cast<int>(rng() % 10), 1 + static_cast<int64_t>(rng() % 3000)));
    }
    PolicyOptions with = *ParsePolicyName("fifo+backfill");
    PolicyOptions without = *ParsePolicyName("fifo");
    const Decisions plain = Decide(s, without);
    const Decisions bf = Decide(s, with);
    // The head: the first job fifo makes wait for Resources.
    const SnapshotJob* head = nullptr;
    for (const auto& w : plain.waits) {
      if (w.reason == kReasonResources) {
        for (const auto& j : s.queue) {
          if (j.id == w.job_id) head = &j;
        }
        break;
      }
    }
    // Backfill starts everything plain fifo starts, in front of the head.
    std::set<int64_t> plain_ids, bf_ids;
    for (const auto& st : plain.starts) plain_ids.insert(st.job_id);
    for (const auto& st : bf.starts) {
      EXPECT_TRUE(bf_ids.insert(st.job_id).second);
    }
    for (int64_t id : plain_ids) EXPECT_TRUE(bf_ids.count(id)) << "iter " << iter;
    if (head == nullptr) continue;
    EXPECT_FALSE(bf_ids.count(head->id));
    // Reservation with only the plain starts vs with every backfilled job running as well.
    auto apply = [&](const Decisions& d, std::vector<SnapshotWorker>& workers,
                     std::vector<SnapshotRunning>& running) {
      for (const auto& st : d.starts) {
        for (const auto& j : s.queue) {
          if (j.id != st.job_id) continue;
          EXPECT_GE(static_cast<int>(st.rank_workers.size()), j.min_ranks);
          CommitPlacement(st.rank_workers, workers);
          SnapshotRunning r = Running(j.id, st.rank_workers, s.now_ms / 1000, 0);
          r.max_runtime_ms = j.max_runtime_ms;
          running.push_back(r);
        }
      }
      for (const auto& w : workers) EXPECT_GE(w.free_slots, 0) << "oversubscribed, iter " << iter;
    };
    std::vector<SnapshotWorker> w_plain = s.workers, w_bf = s.workers;
    std::vector<SnapshotRunning> r_plain = s.running, r_bf = s.running;
    apply(plain, w_plain, r_plain);
    apply(bf, w_bf, r_bf);
    auto before = policy_internal::ReserveHead(*head, w_plain, r_plain, s.now_ms);
    auto after = policy_internal::ReserveHead(*head, w_bf, r_bf, s.now_ms);
    if (!before) continue;
    if (bf.starts.size() > plain.starts.size()) ++backfilled;
    ASSERT_TRUE(after) << "iter " << iter;
    EXPECT_LE(after->start_ms, before->start_ms) << "backfill delayed the head, iter " << iter;
    ++checked;
  }
  // The property was exercised, not skipped: many heads, and backfill did start jobs.
  EXPECT_GT(checked, 200);
  EXPECT_GT(backfilled, 50);
  std::printf("checked %d reservations, %d with backfilled starts\n", checked, backfilled);
}

// A cycle places through its indexes (FreeSlotIndex, and backfill's spare slots) exactly as
// through PlaceGang and PlaceInSpare, which it takes instead for a job reading data some worker
// caches: the same snapshots, once as they are and once with every job reading a version that no
// worker caches while one worker caches another (so every CachedBytes is 0 and only the path
// differs), give the same starts, on pools of one or several GPU types with typed and untyped jobs.
TEST(BackfillTest, PropertyTheIndexesDecideAsPlaceGangDoes) {
  std::mt19937 rng(2026);
  const std::vector<std::string> types = {"H100", "A100", "RTX 4090"};
  int backfilled = 0;
  for (int iter = 0; iter < 400; ++iter) {
    Snapshot s;
    s.now_ms = 1'000'000;
    const int pool_types = 1 + static_cast<int>(rng() % 3);
    const int nw = 2 + static_cast<int>(rng() % 10);
    int64_t id = 1;
    for (int w = 0; w < nw; ++w) {
      const int total = 1 + static_cast<int>(rng() % 8);
      const int busy = static_cast<int>(rng() % (total + 1));
      s.workers.push_back(W("w" + std::to_string(w), total, total - busy));
      s.workers.back().gpu_type = types[rng() % pool_types];
      for (int b = 0; b < busy; ++b) {  // one-rank jobs ending at different times
        SnapshotRunning r;
        r.id = id++;
        r.account = "a";
        r.start_ms = s.now_ms - 1000;
        r.max_runtime_ms = 1000 + 1000 * static_cast<int64_t>(rng() % 50);
        r.rank_workers = {s.workers.back().id};
        s.running.push_back(r);
      }
    }
    const int nq = 1 + static_cast<int>(rng() % 25);
    for (int q = 0; q < nq; ++q) {
      SnapshotJob j =
          Timed(id++, 1 + static_cast<int>(rng() % 6), 1 + static_cast<int64_t>(rng() % 80));
      if (rng() % 2 == 0) {
        const int listed = 1 + static_cast<int>(rng() % 2);
        for (int t = 0; t < listed; ++t) j.preferred_gpu_types.push_back(types[rng() % 3]);
      }
      s.queue.push_back(j);
    }
    Snapshot by_gang = s;
    for (auto& j : by_gang.queue) j.data = {{"sha256:wanted", 1}};
    by_gang.workers[0].cached = {{"sha256:other", 1}};
    for (const char* name : {"fifo+backfill", "fairshare+backfill"}) {
      const PolicyOptions options = *ParsePolicyName(name);
      const Decisions fast = Decide(s, options);
      const Decisions reference = Decide(by_gang, options);
      ASSERT_EQ(fast.starts.size(), reference.starts.size()) << name << " iter " << iter;
      for (size_t i = 0; i < fast.starts.size(); ++i) {
        EXPECT_EQ(fast.starts[i].job_id, reference.starts[i].job_id) << name << " iter " << iter;
        EXPECT_EQ(fast.starts[i].rank_workers, reference.starts[i].rank_workers)
            << name << " iter " << iter;
      }
      const Decisions plain = Decide(s, *ParsePolicyName("fifo"));
      backfilled += fast.starts.size() > plain.starts.size();
    }
  }
  EXPECT_GT(backfilled, 100);  // backfill (and its spare slots) was exercised
}

// The fast index places exactly as PlaceGang does, commit after commit, also for jobs that prefer
// GPU types (listed in any order, with repeats and types no worker has), in pools of one type or
// of several, and with typed and untyped jobs mixed.
TEST(PlacementTest, PropertyFreeSlotIndexMatchesPlaceGang) {
  std::mt19937 rng(99);
  const std::vector<std::string> types = {"H100", "A100", "RTX 4090", "T4"};  // no worker has T4
  int typed_placed = 0;
  for (int iter = 0; iter < 1000; ++iter) {
    std::vector<SnapshotWorker> workers;
    const int nw = 1 + static_cast<int>(rng() % 12);
    const int pool_types = 1 + static_cast<int>(rng() % 3);
    for (int w = 0; w < nw; ++w) {
      const int total = 1 + static_cast<int>(rng() % 8);
      workers.push_back(W("w" + std::to_string(rng() % 1000) + "-" + std::to_string(w), total,
                          static_cast<int>(rng() % (total + 1))));
      workers.back().gpu_type = types[rng() % pool_types];
    }
    std::vector<SnapshotWorker> reference = workers;
    FreeSlotIndex index(workers);
    for (int j = 0; j < 20; ++j) {
      const int min = 1 + static_cast<int>(rng() % 10);
      SnapshotJob job = J(j, min, min + static_cast<int>(rng() % 4));
      if (iter % 2 == 1 && rng() % 3 != 0) {
        const int listed = 1 + static_cast<int>(rng() % 4);
        for (int t = 0; t < listed; ++t) job.preferred_gpu_types.push_back(types[rng() % 4]);
      }
      auto want = PlaceGang(job, reference);
      auto got = index.Place(job);
      ASSERT_EQ(want.has_value(), got.has_value()) << "iter " << iter << " job " << j;
      if (!want) continue;
      ASSERT_EQ(*want, *got) << "iter " << iter << " job " << j;
      typed_placed += !job.preferred_gpu_types.empty();
      CommitPlacement(*want, reference);
      index.Commit(*got);
      for (size_t w = 0; w < workers.size(); ++w) {
        ASSERT_EQ(workers[w].free_slots, reference[w].free_slots);
      }
    }
  }
  EXPECT_GT(typed_placed, 500);  // the typed path was exercised (731 with this seed)
}

// FairShareOrder's fast path (a queue in submission order, grouped by factor and priority, with or
// without account ids) orders exactly as the plain stable sort by (factor, priority, submission).
TEST(FairShareTest, PropertyFastOrderMatchesTheSort) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    Snapshot s;
    const int accounts = 1 + static_cast<int>(rng() % 6);
    for (int a = 0; a < accounts; ++a) {
      s.accounts.push_back({"acct" + std::to_string(a), static_cast<double>(rng() % 100),
                            static_cast<double>(rng() % 100)});
    }
    const bool ids = rng() % 2 == 0;
    const int n = static_cast<int>(rng() % 60);
    for (int j = 0; j < n; ++j) {
      const int a = static_cast<int>(rng() % accounts);
      SnapshotJob job = Timed(j, 1, 10, "acct" + std::to_string(a), 400 + 100 * (rng() % 3));
      job.submit_ms = j / 3;  // ties broken by id
      if (ids) job.account_id = a;
      s.queue.push_back(job);
    }
    const policy_internal::FactorMap factor = policy_internal::FactorByAccount(s);
    std::vector<int> want(s.queue.size());
    std::iota(want.begin(), want.end(), 0);
    std::stable_sort(want.begin(), want.end(), [&](int x, int y) {
      const SnapshotJob& a = s.queue[x];
      const SnapshotJob& b = s.queue[y];
      const double fa = factor.at(a.account), fb = factor.at(b.account);
      if (fa != fb) return fa > fb;
      if (a.priority != b.priority) return a.priority > b.priority;
      return policy_internal::SubmittedBefore(a, b);
    });
    ASSERT_EQ(policy_internal::FairShareOrder(s, factor), want) << "iter " << iter;
    // Out of submission order, the slow path gives the same answer too.
    std::reverse(s.queue.begin(), s.queue.end());
    std::vector<int> reversed = policy_internal::FairShareOrder(s, factor);
    for (int& i : reversed) i = static_cast<int>(s.queue.size()) - 1 - i;
    ASSERT_EQ(reversed, want) << "iter " << iter;
  }
}

// A random pool for the preemption properties: workers of `slots` slots, each held slot by a
// one-rank job of some account (some with attained service), the rest free; a queue of jobs of
// those accounts (one rank, or with `gangs` a third of them gangs up to the whole pool) with
// priorities, tied and disordered submissions, attained service (levels 0, 1 and 2) and some
// waiting past the +las starvation guard; account ids on half of the pools.
struct RandomPoolShape {
  int min_accounts = 1;
  int slots = 4;
  bool partly_free = false;  // else every slot is held
  int max_queued = 40;
  bool gangs = false;
};
Snapshot RandomPool(std::mt19937& rng, const RandomPoolShape& shape) {
  Snapshot s;
  s.now_ms = 100'000'000;
  const int accounts = shape.min_accounts + static_cast<int>(rng() % 5);
  const bool ids = rng() % 2 == 0;
  for (int a = 0; a < accounts; ++a) {
    s.accounts.push_back({"acct" + std::to_string(a), static_cast<double>(rng() % 100),
                          static_cast<double>(rng() % 1000)});
  }
  const int workers = 1 + static_cast<int>(rng() % 4);
  int64_t id = 0;
  for (int w = 0; w < workers; ++w) {
    const int free = shape.partly_free ? static_cast<int>(rng() % (shape.slots + 1)) : 0;
    s.workers.push_back(W("w" + std::to_string(w), shape.slots, free));
    for (int r = 0; r < shape.slots - free; ++r) {
      SnapshotRunning run;
      run.id = ++id;
      const int a = static_cast<int>(rng() % accounts);
      run.account = "acct" + std::to_string(a);
      if (ids) run.account_id = a;
      run.start_ms = s.now_ms - static_cast<int64_t>(rng() % 3) * 20 * 60 * 1000;
      run.rank_workers = {s.workers.back().id};
      run.attained_gpu_s = static_cast<double>(rng() % 3) * 20'000;
      s.running.push_back(run);
    }
  }
  const int queued = 1 + static_cast<int>(rng() % shape.max_queued);
  for (int j = 0; j < queued; ++j) {
    const int a = static_cast<int>(rng() % accounts);
    const int ranks =
        shape.gangs && rng() % 3 == 0 ? 1 + static_cast<int>(rng() % (shape.slots * workers)) : 1;
    SnapshotJob job = J(++id, ranks, ranks);
    job.account = "acct" + std::to_string(a);
    if (ids) job.account_id = a;
    job.priority = 400 + 100 * static_cast<int>(rng() % 3);
    job.submit_ms = static_cast<int64_t>(rng() % 20);
    job.attained_gpu_s = static_cast<double>(rng() % 4) * 5'000;
    job.queued_ms = s.now_ms - static_cast<int64_t>(rng() % 5) * 3'600'000;
    s.queue.push_back(job);
  }
  return s;
}

// Decide() as shoal-sim runs it (no wait explained, so a pass stops at its head) and as the daemon
// does (every wait explained: the whole order).
std::pair<Decisions, Decisions> StoppingAndFull(const Snapshot& s, PolicyOptions options) {
  options.explain_waits = false;
  Decisions stopping = Decide(s, options);
  options.explain_waits = true;
  return {std::move(stopping), Decide(s, options)};
}

// The same preemptions, for the same head, in the same order.
void ExpectSamePreemptions(const Decisions& a, const Decisions& b, int iter) {
  ASSERT_EQ(a.preempts.size(), b.preempts.size()) << "iter " << iter;
  for (size_t i = 0; i < a.preempts.size(); ++i) {
    EXPECT_EQ(a.preempts[i].job_id, b.preempts[i].job_id) << "iter " << iter;
    EXPECT_EQ(a.preempts[i].for_job_id, b.preempts[i].for_job_id) << "iter " << iter;
  }
}

// A cycle with no free slot looks only for its head job (the one preemption serves) instead of
// ordering the whole queue, unless it explains waits; both must pick the same head, so the same
// preemptions, over random full clusters, queues in and out of submission order, with and
// without account ids, with and without +las (attained service, some past the starvation guard).
TEST(FairShareTest, PropertyAFullClusterPreemptsForTheSameHeadWithoutTheFullOrder) {
  std::mt19937 rng(11);
  int preempting = 0, preempting_las = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const Snapshot s = RandomPool(
        rng,
        {.min_accounts = 2, .slots = 4, .partly_free = false, .max_queued = 40, .gangs = false});
    for (const auto& [backfill, las] :
         {std::pair{false, false}, {true, false}, {false, true}, {true, true}}) {
      PolicyOptions options;
      options.kind = PolicyKind::kFairShare;
      options.preempt = true;
      options.backfill = backfill;
      options.las = las;
      const auto [a, b] = StoppingAndFull(s, options);
      ExpectSamePreemptions(a, b, iter);
      EXPECT_TRUE(a.starts.empty());
      preempting += !a.preempts.empty();
      preempting_las += las && !a.preempts.empty();
    }
  }
  EXPECT_GT(preempting, 100);  // the property was exercised, not vacuous
  EXPECT_GT(preempting_las, 50);
}

// Without backfill or waits to explain, a pass stops at the job after its head; explaining waits
// walks the whole order. Both must start the same jobs on the same workers and preempt for the
// same head, for every base policy, with and without +las and preemption, over random partly
// free clusters and gangs, queues in and out of submission order, with and without account ids.
TEST(FairShareTest, PropertyAPassThatStopsAtItsHeadStartsWhatTheFullPassStarts) {
  std::mt19937 rng(13);
  int multi_start = 0, many_starts = 0, preempting = 0, las_differs = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const Snapshot s = RandomPool(
        rng, {.min_accounts = 1, .slots = 8, .partly_free = true, .max_queued = 60, .gangs = true});
    for (const PolicyKind kind :
         {PolicyKind::kFifo, PolicyKind::kPriority, PolicyKind::kFairShare}) {
      for (const auto& [preempt, las] :
           {std::pair{false, false}, {true, false}, {false, true}, {true, true}}) {
        PolicyOptions options;
        options.kind = kind;
        options.preempt = preempt;
        options.las = las;
        const auto [a, b] = StoppingAndFull(s, options);
        ASSERT_EQ(a.starts.size(), b.starts.size()) << "iter " << iter;
        for (size_t i = 0; i < a.starts.size(); ++i) {
          EXPECT_EQ(a.starts[i].job_id, b.starts[i].job_id) << "iter " << iter;
          EXPECT_EQ(a.starts[i].rank_workers, b.starts[i].rank_workers) << "iter " << iter;
        }
        ExpectSamePreemptions(a, b, iter);
        multi_start += a.starts.size() >= 2;
        many_starts += a.starts.size() > 8;
        preempting += !a.preempts.empty();
        if (las) {
          PolicyOptions plain = options;
          plain.las = false;
          plain.explain_waits = false;
          las_differs += Started(Decide(s, plain)) != Started(a);
        }
      }
    }
  }
  // The property was exercised, not vacuous: passes that start several jobs (and many), that
  // preempt, and where +las changes which jobs start.
  EXPECT_GT(multi_start, 200);
  EXPECT_GT(many_starts, 100);
  EXPECT_GT(preempting, 100);
  EXPECT_GT(las_differs, 50);
}

// +las: among jobs the base ordering ranks alike, less attained service first; a job that waited
// longer than las_starve_factor x its run goes back to the first level.
TEST(LasTest, LessServedJobsFirstWithAStarvationGuard) {
  Snapshot s;
  s.now_ms = 200'000'000;
  auto job = [](int64_t id, double attained, int64_t queued_ms) {
    SnapshotJob j = Timed(id, 1, 100);
    j.attained_gpu_s = attained;
    j.queued_ms = queued_ms;
    return j;
  };
  // Submission order 1..4: 1 has had 20 GPU-hours, 2 none, 3 two hours, 4 none.
  s.queue = {job(1, 72'000, 199'999'000), job(2, 0, 0), job(3, 7'200, 199'999'000), job(4, 0, 0)};
  s.workers = {W("w", 1, 1)};
  PolicyOptions p = *ParsePolicyName("fifo+las");
  EXPECT_EQ(PolicyName(p), "fifo+las");
  EXPECT_EQ(policy_internal::LasLevel(s.queue[0], s.now_ms, p), 2);
  EXPECT_EQ(policy_internal::LasLevel(s.queue[2], s.now_ms, p), 1);
  EXPECT_EQ(Started(Decide(s, p)), (std::vector<int64_t>{2}));
  EXPECT_EQ(Started(Decide(s, *ParsePolicyName("fifo"))), (std::vector<int64_t>{1}));
  // Job 1 has run 20 h; waiting 40 h since it was queued, it is starved: level 0 again.
  s.queue[0].queued_ms = s.now_ms - 40LL * 3600 * 1000 - 1;
  EXPECT_EQ(policy_internal::LasLevel(s.queue[0], s.now_ms, p), 0);
  EXPECT_EQ(Started(Decide(s, p)), (std::vector<int64_t>{1}));
  EXPECT_FALSE(ParsePolicyName("fifo+las+las").ok());
}

// With fairshare+preempt+las a blocked job may also preempt a job that has received more service,
// of an account no more under-served than its own, and the reason says so.
TEST(LasTest, PreemptsTheMostServedJobOfAnAccountNoPoorer) {
  Snapshot s;
  s.now_ms = 100'000'000;
  s.workers = {W("w", 2, 0)};
  s.accounts = {{"a", 0, 100}, {"b", 0, 100}};  // equal shares and use: nobody under share
  s.running = {Running(10, {"w"}, 0, 1'000'000, "a"), Running(11, {"w"}, 99'000'000, 10, "b")};
  s.queue = {Timed(1, 1, 100, "b")};
  PolicyOptions p = *ParsePolicyName("fairshare+preempt");
  EXPECT_TRUE(Decide(s, p).preempts.empty());  // fair share alone: nobody is below its share
  p.las = true;
  Decisions d = Decide(s, p);
  ASSERT_EQ(d.preempts.size(), 1u);
  EXPECT_EQ(d.preempts[0].job_id, 10);  // 27.8 h on a GPU; job 11 has run 1000 s (too young)
  EXPECT_NE(d.preempts[0].reason.find("attained service"), std::string::npos);
}

// The tail guard: a job already preempted preempt_max_per_job times is not a victim again, and
// the decisions say which job the guard kept and why.
TEST(PreemptionTest, TheTailGuardSparesAJobPreemptedTooOften) {
  Snapshot s;
  s.now_ms = 3'600'000;
  s.workers = {W("w", 4, 0)};
  s.accounts = {{"pool", 1000, 0}, {"heavy", 0, 5000}, {"light", 0, 0}};
  s.running = {Running(10, {"w", "w"}, 0, 100000, "heavy"),
               Running(11, {"w", "w"}, 0, 100000, "heavy")};
  s.running[0].preemptions = 2;  // job 10 has been preempted twice
  s.queue = {Timed(1, 2, 100, "light")};
  PolicyOptions p = *ParsePolicyName("fairshare+preempt");
  p.preempt_max_per_job = 2;
  Decisions d = Decide(s, p);
  ASSERT_EQ(d.preempts.size(), 1u);
  EXPECT_EQ(d.preempts[0].job_id, 11);
  ASSERT_EQ(d.guarded.size(), 1u);
  EXPECT_EQ(d.guarded[0].job_id, 10);
  EXPECT_EQ(DescribeGuard(d.guarded[0]), "preempted 2 times already (preemptMaxPerJob 2)");
  // Both guarded: nobody is preempted. Without the bound, job 10 is fair game again.
  s.running[1].preemptions = 5;
  EXPECT_TRUE(Decide(s, p).preempts.empty());
  p.preempt_max_per_job = 0;
  EXPECT_EQ(Decide(s, p).preempts.size(), 1u);
  EXPECT_TRUE(Decide(s, p).guarded.empty());
}

// Cost-aware preemption: among victims alike the one with the least work since its last
// checkpoint goes first, and with preempt_max_unsaved_ms a job with more unsaved work than that is
// spared, and the decisions say why.
TEST(PreemptionTest, TheCostGuardSparesAJobWhoseLastCheckpointIsOld) {
  Snapshot s;
  s.now_ms = 3'600'000;
  s.workers = {W("w", 4, 0)};
  s.accounts = {{"pool", 1000, 0}, {"heavy", 0, 5000}, {"light", 0, 0}};
  // Both started at 0; job 10 checkpointed 50 minutes in, job 11 only 20 minutes in.
  s.running = {Running(10, {"w", "w"}, 0, 100000, "heavy"),
               Running(11, {"w", "w"}, 0, 100000, "heavy")};
  s.running[0].last_checkpoint_ms = 3'000'000;
  s.running[1].last_checkpoint_ms = 1'200'000;
  s.queue = {Timed(1, 2, 100, "light")};
  PolicyOptions p = *ParsePolicyName("fairshare+preempt");
  Decisions d = Decide(s, p);
  ASSERT_EQ(d.preempts.size(), 1u);
  EXPECT_EQ(d.preempts[0].job_id, 10);  // 10 minutes unsaved, against 40
  // Recent checkpoints are worth more than recent starts: swap them and job 11 goes.
  std::swap(s.running[0].last_checkpoint_ms, s.running[1].last_checkpoint_ms);
  EXPECT_EQ(Decide(s, p).preempts.at(0).job_id, 11);
  // A bound of 30 minutes makes job 10 (40 minutes unsaved) exempt, but job 11 goes first anyway:
  // the guard changed nothing, so it is not reported.
  p.preempt_max_unsaved_ms = 30 * 60'000;
  d = Decide(s, p);
  ASSERT_EQ(d.preempts.size(), 1u);
  EXPECT_EQ(d.preempts[0].job_id, 11);
  EXPECT_TRUE(d.guarded.empty());
  // Job 10 of the more over-served account would go first: the guard spares it, and says so.
  s.accounts.push_back({"medium", 0, 1000});
  s.running[1].account = "medium";
  d = Decide(s, p);
  ASSERT_EQ(d.preempts.size(), 1u);
  EXPECT_EQ(d.preempts[0].job_id, 11);
  ASSERT_EQ(d.guarded.size(), 1u);
  EXPECT_EQ(d.guarded[0].job_id, 10);
  EXPECT_EQ(DescribeGuard(d.guarded[0]),
            "its last checkpoint is 40 min old (preemptMaxUnsaved 30 min)");
  p.preempt_max_unsaved_ms = 0;
  EXPECT_EQ(Decide(s, p).preempts.at(0).job_id, 10);
  p.preempt_max_unsaved_ms = 30 * 60'000;
  // Without any checkpoint both have an hour unsaved: nobody is preempted, and the guard kept
  // the job that would have been.
  s.running[0].last_checkpoint_ms = s.running[1].last_checkpoint_ms = 0;
  d = Decide(s, p);
  EXPECT_TRUE(d.preempts.empty());
  ASSERT_EQ(d.guarded.size(), 1u);
  EXPECT_EQ(d.guarded[0].job_id, 10);
  // Ranks already told to stop make room: no preemption is needed, so no guard fired.
  s.workers[0].stopping_slots = 2;
  EXPECT_TRUE(Decide(s, p).guarded.empty());
}

TEST(PreemptionTest, UnderShareJobPreemptsOverShareJobsOnlyAfterTheMinimumRunTime) {
  Snapshot s;
  s.now_ms = 3'600'000;
  s.workers = {W("w", 4, 0)};
  s.accounts = {{"pool", 1000, 0}, {"heavy", 0, 5000}, {"light", 0, 0}};
  // heavy holds all 4 slots with two jobs: one old, one 5 minutes young.
  s.running = {Running(10, {"w", "w"}, 0, 100000, "heavy"),
               Running(11, {"w", "w"}, 3'300, 100000, "heavy")};
  s.queue = {Timed(1, 2, 100, "light")};
  PolicyOptions p = *ParsePolicyName("fairshare+preempt");
  p.preempt_min_runtime_ms = 600'000;
  Decisions d = Decide(s, p);
  ASSERT_EQ(d.preempts.size(), 1u);
  EXPECT_EQ(d.preempts[0].job_id, 10);  // the old one; the young one is spared
  EXPECT_EQ(d.preempts[0].for_job_id, 1);
  EXPECT_TRUE(d.starts.empty());  // it starts once the slots are actually free
  // The next cycle, while the victim's ranks are still stopping, preempts nobody else.
  // (Job 11 is old enough by now, so without counting the stopping slots it would be next.)
  const auto running = s.running;
  s.workers[0].stopping_slots = 2;
  s.running = {Running(11, {"w", "w"}, 0, 100000, "heavy")};
  EXPECT_TRUE(Decide(s, p).preempts.empty());
  s.workers[0].stopping_slots = 0;
  EXPECT_EQ(Decide(s, p).preempts.size(), 1u);  // and this is what the stopping slots prevent
  s.running = running;
  // Without +preempt, or with a requester that is itself over its share: nothing.
  EXPECT_TRUE(Decide(s, *ParsePolicyName("fairshare")).preempts.empty());
  s.queue = {Timed(2, 2, 100, "heavy")};
  EXPECT_TRUE(Decide(s, p).preempts.empty());
  // If even every candidate together would not make room, nobody is preempted.
  s.queue = {Timed(3, 4, 100, "light")};
  EXPECT_TRUE(Decide(s, p).preempts.empty());
  // And never for an account that is itself over its share, so the victim cannot preempt back:
  // light, now running on the freed slots, is safe from heavy's requeued job.
  s.running = {Running(11, {"w", "w"}, 3'300, 100000, "heavy"),
               Running(1, {"w", "w"}, 0, 100000, "light")};
  s.queue = {Timed(10, 2, 100, "heavy")};
  EXPECT_TRUE(Decide(s, p).preempts.empty());
  EXPECT_FALSE(ParsePolicyName("fifo+preempt").ok());
  EXPECT_FALSE(ParsePolicyName("fairshare+preempt+preempt").ok());
  EXPECT_EQ(PolicyName(*ParsePolicyName("fairshare+preempt+backfill")),
            "fairshare+backfill+preempt");
}

SnapshotRunning Elastic(int64_t id, std::vector<std::string> workers, int min, int max,
                        int64_t start_s, std::string account = "a") {
  SnapshotRunning r = Running(id, std::move(workers), start_s, 100000, std::move(account));
  r.min_ranks = min;
  r.max_ranks = max;
  r.backend = Backend::kCpu;
  r.submit_ms = id;
  return r;
}

TEST(ElasticTest, GrowsTowardMaxOnlyWhenNobodyWaitsAndAfterTheMinimumInterval) {
  Snapshot s;
  s.now_ms = 3'600'000;
  s.workers = {W("a", 4, 2), W("b", 4, 4)};  // job 1 holds 2 slots on a
  s.running = {Elastic(1, {"a", "a"}, 2, 8, 0)};
  PolicyOptions p = *ParsePolicyName("fifo+elastic");
  Decisions d = Decide(s, p);
  ASSERT_EQ(d.resizes.size(), 1u);
  EXPECT_EQ(d.resizes[0].job_id, 1);
  EXPECT_EQ(d.resizes[0].rank_workers.size(), 8u);  // its own 2 slots plus the 6 free ones
  EXPECT_TRUE(d.starts.empty() && d.preempts.empty());
  // Without +elastic, a rigid job (max == min) or at max: nothing.
  EXPECT_TRUE(Decide(s, PolicyOptions{}).resizes.empty());
  Snapshot at_max = s;
  at_max.running = {Elastic(1, {"a", "a"}, 2, 2, 0)};
  EXPECT_TRUE(Decide(at_max, p).resizes.empty());
  // Too young: it started 5 minutes ago.
  Snapshot young = s;
  young.running[0].start_ms = s.now_ms - 300'000;
  EXPECT_TRUE(Decide(young, p).resizes.empty());
  // A gain smaller than a quarter of its ranks is not worth a restart: 8 ranks, 1 slot free.
  Snapshot small = s;
  small.workers = {W("a", 8, 0), W("b", 1, 1)};
  small.running = {Elastic(1, std::vector<std::string>(8, "a"), 2, 16, 0)};
  EXPECT_TRUE(Decide(small, p).resizes.empty());
  small.workers[1] = W("b", 2, 2);  // 2 = a quarter of 8
  EXPECT_EQ(Decide(small, p).resizes.size(), 1u);
  // A queued job waiting for slots gets them first: no growth while anyone waits.
  Snapshot busy = s;
  busy.queue = {Timed(2, 8, 100)};
  d = Decide(busy, p);
  EXPECT_TRUE(d.starts.empty());
  EXPECT_TRUE(d.resizes.empty());
  // A queued job that fits starts, and the rest goes to growth.
  busy.queue = {Timed(3, 4, 100)};
  d = Decide(busy, p);
  ASSERT_EQ(Started(d), std::vector<int64_t>{3});
  ASSERT_EQ(d.resizes.size(), 1u);
  EXPECT_EQ(d.resizes[0].rank_workers.size(), 4u);  // 2 own + the 2 left
  // A queued job no worker can ever host (Constraint) does not hold growth back.
  busy.queue = {Timed(4, 100, 100)};
  EXPECT_EQ(Decide(busy, p).resizes.size(), 1u);
  EXPECT_EQ(PolicyName(*ParsePolicyName("fairshare+elastic+preempt")), "fairshare+preempt+elastic");
  EXPECT_FALSE(ParsePolicyName("fifo+elastic+elastic").ok());
}

TEST(ElasticTest, GrowthFollowsThePolicyOrderAndNeverOversubscribes) {
  Snapshot s;
  s.now_ms = 3'600'000;
  s.workers = {W("a", 4, 0), W("b", 2, 2)};
  s.accounts = {{"pool", 1000, 0}, {"heavy", 0, 900}, {"light", 0, 10}};
  s.running = {Elastic(1, {"a", "a"}, 2, 4, 0, "heavy"), Elastic(2, {"a", "a"}, 2, 4, 0, "light")};
  // fifo: the older job (1) takes the 2 free slots; job 2 finds none left.
  Decisions d = Decide(s, *ParsePolicyName("fifo+elastic"));
  ASSERT_EQ(d.resizes.size(), 1u);
  EXPECT_EQ(d.resizes[0].job_id, 1);
  // fairshare: the account below its share (light) grows first.
  d = Decide(s, *ParsePolicyName("fairshare+elastic"));
  ASSERT_EQ(d.resizes.size(), 1u);
  EXPECT_EQ(d.resizes[0].job_id, 2);
  std::map<std::string, int> used;
  for (const auto& w : d.resizes[0].rank_workers) ++used[w];
  EXPECT_LE(used["a"], 2);  // its own two slots on a, no more
  EXPECT_LE(used["b"], 2);
}

TEST(ElasticTest, ShrinksBeforeBeingPreemptedEntirely) {
  Snapshot s;
  s.now_ms = 3'600'000;
  s.workers = {W("w", 8, 0)};
  s.accounts = {{"pool", 1000, 0}, {"heavy", 0, 5000}, {"light", 0, 0}};
  s.running = {Elastic(10, std::vector<std::string>(8, "w"), 2, 8, 0, "heavy")};
  s.queue = {Timed(1, 3, 100, "light")};
  PolicyOptions p = *ParsePolicyName("fairshare+preempt+elastic");
  Decisions d = Decide(s, p);
  EXPECT_TRUE(d.preempts.empty());
  ASSERT_EQ(d.resizes.size(), 1u);
  EXPECT_EQ(d.resizes[0].job_id, 10);
  EXPECT_EQ(d.resizes[0].rank_workers.size(), 5u);  // gives up exactly the 3 slots needed
  // Needing more than the victim can give above its min: it is preempted entirely.
  s.queue = {Timed(2, 7, 100, "light")};
  d = Decide(s, p);
  EXPECT_TRUE(d.resizes.empty());
  ASSERT_EQ(d.preempts.size(), 1u);
  EXPECT_EQ(d.preempts[0].job_id, 10);
  // Without +elastic the victim is preempted even for 3 slots.
  s.queue = {Timed(1, 3, 100, "light")};
  d = Decide(s, *ParsePolicyName("fairshare+preempt"));
  EXPECT_TRUE(d.resizes.empty());
  EXPECT_EQ(d.preempts.size(), 1u);
  // A shrunk job restarted a moment ago is spared by the minimum run time: no loop.
  s.running = {Elastic(10, std::vector<std::string>(5, "w"), 2, 8, 3'590, "heavy"),
               Running(1, {"w", "w", "w"}, 3'590, 100, "light")};
  s.queue = {Timed(3, 3, 100, "light")};
  d = Decide(s, p);
  EXPECT_TRUE(d.resizes.empty());
  EXPECT_TRUE(d.preempts.empty());
}

// Decisions alike in everything a caller reads.
void ExpectSameDecisions(const Decisions& a, const Decisions& b, const std::string& where) {
  ASSERT_EQ(a.starts.size(), b.starts.size()) << where;
  for (size_t i = 0; i < a.starts.size(); ++i) {
    EXPECT_EQ(a.starts[i].job_id, b.starts[i].job_id) << where;
    EXPECT_EQ(a.starts[i].rank_workers, b.starts[i].rank_workers) << where;
  }
  ASSERT_EQ(a.waits.size(), b.waits.size()) << where;
  for (size_t i = 0; i < a.waits.size(); ++i) {
    EXPECT_EQ(a.waits[i].job_id, b.waits[i].job_id) << where;
    EXPECT_EQ(a.waits[i].reason, b.waits[i].reason) << where;
    EXPECT_EQ(a.waits[i].detail, b.waits[i].detail) << where;
    EXPECT_EQ(a.waits[i].estimated_start_ms, b.waits[i].estimated_start_ms) << where;
  }
  ExpectSamePreemptions(a, b, 0);
  for (size_t i = 0; i < a.preempts.size() && i < b.preempts.size(); ++i) {
    EXPECT_EQ(a.preempts[i].reason, b.preempts[i].reason) << where;
  }
  ASSERT_EQ(a.guarded.size(), b.guarded.size()) << where;
  for (size_t i = 0; i < a.guarded.size(); ++i) {
    EXPECT_EQ(a.guarded[i].job_id, b.guarded[i].job_id) << where;
    EXPECT_EQ(DescribeGuard(a.guarded[i]), DescribeGuard(b.guarded[i])) << where;
  }
}

// The queue index (queue_index.h): Decide with it decides as Decide sorting the whole queue,
// while jobs arrive, start, come back preempted with more service, and wait past the +las
// starvation guard, for every ordering, with and without +las, backfill, preemption and waits.
// The queue the index keeps is in no particular order, which Decide without it must not mind.
TEST(QueueIndexTest, PropertyDecidesAsSortingTheWholeQueue) {
  std::mt19937 rng(11);
  int compared = 0, started = 0, requeued = 0, promoted = 0;
  for (int iter = 0; iter < 192; ++iter) {
    Snapshot pool = RandomPool(
        rng, {.min_accounts = 1, .slots = 4, .partly_free = true, .max_queued = 30, .gangs = true});
    // Half the pools rate every account alike: fairshare then ranks jobs of several accounts
    // as one group, which the index merges across its per-account buckets.
    if ((iter / 48) % 2 == 1) {
      for (SnapshotAccount& a : pool.accounts) a = {a.name, 50, 500};
    }
    PolicyOptions options;
    options.kind = static_cast<PolicyKind>(iter % 3);
    options.las = (iter / 3) % 2 == 1;
    options.backfill = (iter / 6) % 2 == 1;
    options.preempt = options.kind == PolicyKind::kFairShare && (iter / 12) % 2 == 1;
    options.explain_waits = (iter / 24) % 2 == 1;
    options.preempt_min_runtime_ms = 0;
    QueueIndex index(options);
    Snapshot s = pool;
    s.queue.clear();
    std::vector<SnapshotJob> arriving = pool.queue;
    std::shuffle(arriving.begin(), arriving.end(), rng);
    std::map<int64_t, int64_t> pushed_ms;  // by job id
    // Queued two hours before the first decision, so that +las levels age in between.
    int64_t now = pool.now_ms - 7'200'000;
    size_t next = 0;
    auto push = [&](const SnapshotJob& job) {
      pushed_ms[job.id] = now;
      index.Push(s.queue, job, now);
    };
    for (; next < arriving.size() / 2; ++next) push(arriving[next]);
    for (int step = 0; step < 6; ++step) {
      now += static_cast<int64_t>(rng() % 4) * 1'800'000;
      s.now_ms = now;
      for (const SnapshotJob& q : s.queue) {
        promoted += options.las && policy_internal::LasLevel(q, pushed_ms[q.id], options) > 0 &&
                    policy_internal::LasLevel(q, now, options) == 0;
      }
      const Decisions with = Decide(s, options, index);
      const Decisions without = Decide(s, options);
      ExpectSameDecisions(with, without,
                          "iter " + std::to_string(iter) + " step " + std::to_string(step) + " " +
                              PolicyName(options));
      ++compared;
      for (const StartDecision& st : with.starts) {
        ASSERT_TRUE(index.Erase(s.queue, st.job_id));
        ++started;
      }
      for (const PreemptDecision& p : with.preempts) {
        auto r = std::find_if(s.running.begin(), s.running.end(),
                              [&](const SnapshotRunning& x) { return x.id == p.job_id; });
        ASSERT_NE(r, s.running.end());
        SnapshotJob back = AsJob(*r);
        back.min_ranks = back.max_ranks = static_cast<int>(r->rank_workers.size());
        back.attained_gpu_s += static_cast<double>(now - r->start_ms) / 1000.0;
        back.queued_ms = now;
        s.running.erase(r);
        push(back);
        ++requeued;
      }
      if (next < arriving.size()) push(arriving[next++]);
      ASSERT_EQ(index.size(), s.queue.size());
    }
  }
  // Exercised, not vacuous: starts out of the index, requeued jobs, and levels that aged.
  EXPECT_GT(started, 150);
  EXPECT_GT(requeued, 10);
  EXPECT_GT(promoted, 50);
  EXPECT_EQ(compared, 192 * 6);
}

// +las: the index moves a job to the first level at the very millisecond LasLevel does, also
// when the guard's arithmetic is not round.
TEST(QueueIndexTest, TheStarvationGuardFiresAtTheSameMillisecond) {
  PolicyOptions options = *ParsePolicyName("fifo+las");
  options.las_starve_factor = 1.7;
  Snapshot s;
  s.workers = {W("w", 1, 1)};
  SnapshotJob served = Timed(1, 1, 10);  // submitted first, but served before
  served.max_ranks = 3;
  served.attained_gpu_s = 3700.5;  // level 1
  served.queued_ms = 1000;
  const SnapshotJob fresh = Timed(2, 1, 10);
  int64_t fires = 1000 + 2'090'000;  // about 1.7 x 3700.5 / 3 s after it was queued
  while (policy_internal::LasLevel(served, fires - 1, options) == 0) --fires;
  while (policy_internal::LasLevel(served, fires, options) != 0) ++fires;
  QueueIndex index(options);
  index.Push(s.queue, fresh, 1000);
  index.Push(s.queue, served, 1000);
  s.now_ms = fires - 1;
  EXPECT_EQ(Started(Decide(s, options, index)), (std::vector<int64_t>{2}));
  EXPECT_EQ(Started(Decide(s, options)), (std::vector<int64_t>{2}));
  s.now_ms = fires;
  EXPECT_EQ(Started(Decide(s, options, index)), (std::vector<int64_t>{1}));
  EXPECT_EQ(Started(Decide(s, options)), (std::vector<int64_t>{1}));
}

// An index that cannot match the snapshot (another ordering, or out of step with the queue) is
// not used: the decisions are still the plain ones.
TEST(QueueIndexTest, AnIndexThatCannotMatchIsNotUsed) {
  Snapshot s;
  s.now_ms = 1000;
  s.workers = {W("w", 1, 1)};
  SnapshotJob low = Timed(1, 1, 10, "a", 100), high = Timed(2, 1, 10, "a", 900);
  high.submit_ms = 1;
  PolicyOptions fifo = *ParsePolicyName("fifo");
  QueueIndex index(fifo);
  index.Push(s.queue, low, 0);
  index.Push(s.queue, high, 0);
  EXPECT_EQ(Started(Decide(s, fifo, index)), (std::vector<int64_t>{1}));
  const PolicyOptions priority = *ParsePolicyName("priority");
  EXPECT_FALSE(index.Orders(priority));
  EXPECT_EQ(Started(Decide(s, priority, index)), (std::vector<int64_t>{2}));
  s.queue.pop_back();  // out of step: one job fewer than the index holds
  EXPECT_EQ(Started(Decide(s, fifo, index)), (std::vector<int64_t>{1}));
  EXPECT_FALSE(index.Erase(s.queue, 7));
}

}  // namespace
}  // namespace shoal
