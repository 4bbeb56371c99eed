// Heterogeneous pools (scheduler/sim/throughput.h, docs/simulator.md): the throughput matrix,
// placement that prefers GPU types, and shoal-sim replays on a pool of mixed GPU types.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "scheduler/policy/hetero.h"
#include "scheduler/policy/placement.h"
#include "scheduler/sim/simulator.h"
#include "scheduler/sim/throughput.h"

namespace shoal::sim {
namespace {

class HeteroSimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-hetero-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

// Class 0 gains 3x on an H100; class 1 runs alike on both.
ThroughputMatrix TwoClasses() {
  ThroughputMatrix m;
  m.classes = {{"big", 1, {"H100", "V100"}, {3.0, 1.0}},
               {"small", 1, {"H100", "V100"}, {1.0, 1.0}}};
  return m;
}

TEST_F(HeteroSimTest, MatrixFilesAreReadAndBadOnesRefusedWithTheReason) {
  auto m = LoadThroughputMatrix(
      Write("ok.yaml",
            "classes:\n  - {name: t, weight: 2, speeds: {H100: 2.5, A100: 1}}\n"
            "  - {name: c, speeds: {H100: 1.5}}\n"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->classes.size(), 2u);
  EXPECT_EQ(m->classes[0].weight, 2);
  EXPECT_DOUBLE_EQ(m->Speed(0, "NVIDIA H100 80GB HBM3"), 2.5);  // matched as a word
  EXPECT_DOUBLE_EQ(m->Speed(1, "A100"), 1.0);                   // unlisted: speed 1
  for (const auto& [text, reason] : std::vector<std::pair<std::string, std::string>>{
           {"classes: []\n", "non-empty"},
           {"other: 1\n", "non-empty"},
           {"classes:\n  - {name: x, speeds: {H100: 0}}\n", "> 0"},
           {"classes:\n  - {name: x, speeds: {H100: fast}}\n", "x"},
           {"classes:\n  - {name: x, weight: -1, speeds: {H100: 1}}\n", "weight"},
           {"classes:\n  - {name: x}\n", "speeds"},
           {"classes: [\n", "throughput matrix"}}) {
    auto bad = LoadThroughputMatrix(Write("bad.yaml", text));
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.status().message().find(reason), std::string::npos) << bad.status().message();
  }
  EXPECT_FALSE(LoadThroughputMatrix(dir_ + "/missing.yaml").ok());
}

TEST_F(HeteroSimTest, ClassesAreSeededAndFollowTheirWeights) {
  ThroughputMatrix m = TwoClasses();
  m.classes[0].weight = 3;
  int big = 0;
  for (int64_t i = 0; i < 4000; ++i) {
    EXPECT_EQ(m.ClassOf(i, 7), m.ClassOf(i, 7));
    big += m.ClassOf(i, 7) == 0;
  }
  EXPECT_NEAR(big / 4000.0, 0.75, 0.03);
  int differ = 0;
  for (int64_t i = 0; i < 100; ++i) differ += m.ClassOf(i, 7) != m.ClassOf(i, 8);
  EXPECT_GT(differ, 10);  // another seed, other classes
}

// A snapshot with `free` slots free on one worker per type, and one queued job per speed row.
Snapshot Pool(const std::vector<std::string>& types, const std::vector<int>& free,
              const std::vector<std::vector<double>>& speeds, std::vector<int> ranks = {}) {
  Snapshot snap;
  for (size_t t = 0; t < types.size(); ++t) {
    SnapshotWorker w;
    w.id = "w" + std::to_string(t);
    w.gpu_type = types[t];
    w.total_slots = w.gpus = 8;
    w.free_slots = free[t];
    snap.workers.push_back(w);
  }
  for (size_t i = 0; i < speeds.size(); ++i) {
    SnapshotJob j;
    j.id = static_cast<int64_t>(i);
    j.backend = Backend::kCuda;
    j.gpus_per_rank = 1;
    j.min_ranks = j.max_ranks = i < ranks.size() ? ranks[i] : 1;
    snap.queue.push_back(j);
  }
  return snap;
}

using Types = std::vector<std::string>;

TEST_F(HeteroSimTest, UncontendedEveryJobPrefersItsFastestType) {
  const Types types = {"H100", "V100"};
  Snapshot snap = Pool(types, {2, 2}, {{1.1, 1.0}, {3.0, 1.0}, {}});
  PreferGpuTypes(types, {{1.1, 1.0}, {3.0, 1.0}, {}}, snap);
  EXPECT_EQ(snap.queue[0].preferred_gpu_types, (Types{"H100", "V100"}));
  EXPECT_EQ(snap.queue[1].preferred_gpu_types, (Types{"H100", "V100"}));
  EXPECT_TRUE(snap.queue[2].preferred_gpu_types.empty());  // no speeds: type-blind
}

TEST_F(HeteroSimTest, ContendedTheFastTypeGoesToTheJobsThatGainMostThere) {
  const Types types = {"H100", "V100"};
  // Both want the one free H100; the small gainer comes first but leaves it to the big one.
  Snapshot snap = Pool(types, {1, 1}, {{1.1, 1.0}, {3.0, 1.0}});
  PreferGpuTypes(types, {{1.1, 1.0}, {3.0, 1.0}}, snap);
  EXPECT_EQ(snap.queue[0].preferred_gpu_types, (Types{"V100"}));
  EXPECT_EQ(snap.queue[1].preferred_gpu_types, (Types{"H100", "V100"}));
  // The big gainer needs two GPUs, more than are free: the slot goes to the next one.
  snap = Pool(types, {1, 1}, {{1.1, 1.0}, {3.0, 1.0}}, {1, 2});
  PreferGpuTypes(types, {{1.1, 1.0}, {3.0, 1.0}}, snap);
  EXPECT_EQ(snap.queue[0].preferred_gpu_types, (Types{"H100", "V100"}));
  EXPECT_EQ(snap.queue[1].preferred_gpu_types, (Types{"V100"}));
  // Both types contended: the two jobs that gain least anywhere wait this cycle.
  snap = Pool({"A", "B"}, {1, 1}, {{3, 1}, {1, 3}, {1.1, 1}, {1, 1.1}});
  PreferGpuTypes({"A", "B"}, {{3, 1}, {1, 3}, {1.1, 1}, {1, 1.1}}, snap);
  EXPECT_EQ(snap.queue[0].preferred_gpu_types, (Types{"A"}));
  EXPECT_EQ(snap.queue[1].preferred_gpu_types, (Types{"B"}));
  EXPECT_EQ(snap.queue[2].preferred_gpu_types, (Types{kNoGpuType}));
  EXPECT_EQ(snap.queue[3].preferred_gpu_types, (Types{kNoGpuType}));
}

TEST_F(HeteroSimTest, PlacementTakesTheFirstListedTypeThatHoldsTheGangAndNoUnlistedOne) {
  std::vector<SnapshotWorker> workers(2);
  workers[0].id = "a";
  workers[0].gpu_type = "H100";
  workers[1].id = "b";
  workers[1].gpu_type = "V100";
  for (auto& w : workers) {
    w.total_slots = w.free_slots = 4;
    w.gpus = 4;
  }
  SnapshotJob job;
  job.backend = Backend::kCuda;
  job.gpus_per_rank = 1;
  job.min_ranks = job.max_ranks = 2;
  EXPECT_EQ(*PlaceGang(job, workers), (std::vector<std::string>{"a", "a"}));  // type-blind: by id
  job.preferred_gpu_types = {"V100", "H100"};
  EXPECT_EQ(*PlaceGang(job, workers), (std::vector<std::string>{"b", "b"}));
  workers[1].free_slots = 1;  // the V100 node cannot hold the gang: the next type
  EXPECT_EQ(*PlaceGang(job, workers), (std::vector<std::string>{"a", "a"}));
  workers[0].free_slots = 1;  // no type holds it whole: the listed types together
  EXPECT_EQ(PlaceGang(job, workers)->size(), 2u);
  job.preferred_gpu_types = {"V100"};  // the H100 is not listed: the gang does not fit
  EXPECT_FALSE(PlaceGang(job, workers).has_value());
  workers[1].free_slots = 4;
  EXPECT_EQ(*PlaceGang(job, workers), (std::vector<std::string>{"b", "b"}));
  job.preferred_gpu_types = {kNoGpuType};  // waits this cycle
  EXPECT_FALSE(PlaceGang(job, workers).has_value());
}

TEST_F(HeteroSimTest, TypeAwarePlacementGivesTheFastGpuToTheJobThatGainsMost) {
  // One H100 and one V100; two 300 s one-GPU jobs at 0. Find a seed that makes the first job
  // "small" and the second "big": type-blind, the first takes the H100 (lowest id), and the big
  // job the V100; aware, the small job prefers the V100 and the big one gets the H100 (100 s).
  auto trace = ReadTraceCsv(Write("t.csv",
                                  "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
                                  "S,0,1,300,x,\nB,0,1,300,y,\n"));
  ASSERT_TRUE(trace.ok());
  auto cluster = ParseClusterSpec("1x1:H100,1x1:V100");
  ASSERT_TRUE(cluster.ok());
  SimOptions options;
  options.throughput = TwoClasses();
  options.misestimate = 1.5;
  for (options.seed = 1; options.seed < 100; ++options.seed) {
    if (options.throughput.ClassOf(0, options.seed) == 1 &&
        options.throughput.ClassOf(1, options.seed) == 0) {
      break;
    }
  }
  ASSERT_LT(options.seed, 100u);
  auto blind = Simulate(*trace, *cluster, options);
  options.hetero_aware = true;
  auto aware = Simulate(*trace, *cluster, options);
  ASSERT_TRUE(blind.ok() && aware.ok());
  EXPECT_EQ(blind->jobs[1].end_s, 300);
  EXPECT_DOUBLE_EQ(blind->jobs[1].type_speed, 1.0);
  EXPECT_EQ(aware->jobs[1].end_s, 100);
  EXPECT_DOUBLE_EQ(aware->jobs[1].type_speed, 3.0);
  // Its floor is its run on its fastest type, whichever placement it got.
  EXPECT_DOUBLE_EQ(blind->jobs[1].no_wait_s, 100);
  EXPECT_DOUBLE_EQ(aware->jobs[1].no_wait_s, 100);
  EXPECT_EQ(aware->jobs[0].end_s, 300);
  // 600 GPU-seconds of work on 600 held, then on 400.
  EXPECT_NEAR(blind->metrics.normalized_throughput, 1.0, 1e-9);
  EXPECT_NEAR(aware->metrics.normalized_throughput, 1.5, 1e-9);
}

TEST_F(HeteroSimTest, AGangOverTwoTypesRunsAtTheSlowerOnesPace) {
  auto trace = ReadTraceCsv(Write("g.csv",
                                  "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
                                  "G,0,2,300,x,\n"));
  ASSERT_TRUE(trace.ok());
  SimOptions options;
  options.throughput = TwoClasses();
  options.throughput.classes[1] = options.throughput.classes[0];  // every job gains 3x on H100
  auto r = Simulate(*trace, *ParseClusterSpec("1x1:H100,1x1:V100"), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs[0].end_s, 300);
  EXPECT_DOUBLE_EQ(r->jobs[0].type_speed, 1.0);
  r = Simulate(*trace, *ParseClusterSpec("1x2:H100"), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs[0].end_s, 100);
}

}  // namespace
}  // namespace shoal::sim
