// shoal-sim: a replay whose answer is known exactly, determinism, and bad input.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "scheduler/sim/simulator.h"
#include "tests/testing/test_util.h"

namespace shoal::sim {
namespace {

using ::shoal::testing::Replace;

class SimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-sim-XXXXXX";
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

// One 4-GPU node. A (2 GPUs, 10 s) runs from 0; B (4 GPUs) must wait for A; C (2 GPUs, 5 s)
// fits beside A and ends before A does; D (1 GPU, 100 s) arrives when nothing is free.
//   fifo:          A 0-10, B 10-20, C 20-25, D 20-120   -> JCT 10, 19, 23, 117
//   fifo+backfill: C goes at 2 (ends at 7 <= B's reserved start 10); D, 100 s long, would
//                  delay B, so it waits: A 0-10, C 2-7, B 10-20, D 20-120 -> 10, 19, 5, 117
const char kTrace[] =
    "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
    "A,0,2,10,x,\n"
    "B,1,4,10,y,\n"
    "C,2,2,5,x,\n"
    "D,3,1,100,y,\n";

TEST_F(SimTest, KnownAnswerFifoAndBackfill) {
  auto trace = ReadTraceCsv(Write("t.csv", kTrace));
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  auto cluster = ParseClusterSpec("1x4:H100");
  ASSERT_TRUE(cluster.ok());
  SimOptions options;
  options.misestimate = 1.0;
  auto run = [&](const char* policy) {
    options.policy = *ParsePolicyName(policy);
    auto r = Simulate(*trace, *cluster, options);
    EXPECT_TRUE(r.ok());
    std::vector<int64_t> jct;
    for (const auto& j : r->jobs) jct.push_back(j.end_s - j.submit_s);
    return std::make_pair(jct, r->metrics);
  };
  auto [fifo, fm] = run("fifo");
  EXPECT_EQ(fifo, (std::vector<int64_t>{10, 19, 23, 117}));
  EXPECT_DOUBLE_EQ(fm.avg_jct_s, (10 + 19 + 23 + 117) / 4.0);
  EXPECT_DOUBLE_EQ(fm.makespan_s, 120);
  // GPU-seconds 2*10 + 4*10 + 2*5 + 1*100 = 170 over 4 GPUs x 120 s.
  EXPECT_NEAR(fm.gpu_utilization, 170.0 / 480.0, 1e-12);
  EXPECT_EQ(fm.finished, 4);
  auto [bf, bm] = run("fifo+backfill");
  EXPECT_EQ(bf, (std::vector<int64_t>{10, 19, 5, 117}));
  EXPECT_DOUBLE_EQ(bm.p99_jct_s, 117);
  EXPECT_DOUBLE_EQ(bm.p50_jct_s, 10);

  // A C of 9 s would end at 11, after B's reserved start (10): no spare slots, so it waits.
  trace = ReadTraceCsv(Write("t9.csv", Replace(kTrace, "C,2,2,5", "C,2,2,9")));
  ASSERT_TRUE(trace.ok());
  auto [bf9, bm9] = run("fifo+backfill");
  EXPECT_EQ(bf9, (std::vector<int64_t>{10, 19, 27, 117}));
}

TEST_F(SimTest, FairShareServesTheLighterAccountFirst) {
  // One GPU. vc x has run a long job; then x and y each queue a job at the same time while the
  // GPU is busy; when it frees, y (no usage) goes first although x's job is older.
  const std::string trace =
      "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
      "X0,0,1,1000,x,\n"
      "X1,10,1,10,x,\n"
      "Y1,11,1,10,y,\n";
  auto t = ReadTraceCsv(Write("f.csv", trace));
  ASSERT_TRUE(t.ok());
  SimOptions options;
  options.policy = *ParsePolicyName("fairshare");
  auto r = Simulate(*t, *ParseClusterSpec("1x1"), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs[2].start_s, 1000);  // Y1
  EXPECT_EQ(r->jobs[1].start_s, 1010);  // X1
  options.policy = *ParsePolicyName("fifo");
  r = Simulate(*t, *ParseClusterSpec("1x1"), options);
  EXPECT_EQ(r->jobs[1].start_s, 1000);
}

TEST_F(SimTest, PreemptionGivesTheSlotToTheUnderServedAccountAndResumesTheVictim) {
  // One GPU. X0 (vc x) runs 1000 s; Y1 (vc y, 10 s) arrives at 700, past the 10-minute minimum
  // run time: X0 is preempted, Y1 runs 700-710, X0 resumes its remaining 300 s: 710-1010.
  const std::string trace =
      "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
      "X0,0,1,1000,x,\n"
      "Y1,700,1,10,y,\n";
  auto t = ReadTraceCsv(Write("p.csv", trace));
  ASSERT_TRUE(t.ok());
  SimOptions options;
  options.policy = *ParsePolicyName("fairshare+preempt");
  auto r = Simulate(*t, *ParseClusterSpec("1x1"), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs[1].start_s, 700);
  EXPECT_EQ(r->jobs[1].end_s, 710);
  EXPECT_EQ(r->jobs[0].end_s, 1010);
  EXPECT_EQ(r->jobs[0].preemptions, 1);
  EXPECT_EQ(r->metrics.preemptions, 1);
  // A checkpoint interval of 200 s loses 100 s of work on average.
  options.checkpoint_interval_s = 200;
  r = Simulate(*t, *ParseClusterSpec("1x1"), options);
  EXPECT_EQ(r->jobs[0].end_s, 1110);
  // Without preemption Y1 waits for X0.
  options.policy = *ParsePolicyName("fairshare");
  r = Simulate(*t, *ParseClusterSpec("1x1"), options);
  EXPECT_EQ(r->jobs[1].start_s, 1000);
  EXPECT_EQ(r->metrics.preemptions, 0);
}

TEST_F(SimTest, DeterministicForASeedAndUnschedulableJobsAreCounted) {
  Trace t = SyntheticTrace(3000, 64, 0.95, 5, 7);
  t.jobs.push_back({"huge", t.jobs.back().submit_s, 1000, 10, "vc0"});
  auto cluster = ParseClusterSpec("8x8:A100");
  SimOptions options;
  options.policy = *ParsePolicyName("fairshare+backfill");
  options.misestimate_sigma = 0.5;
  options.seed = 3;
  auto a = Simulate(t, *cluster, options);
  auto b = Simulate(t, *cluster, options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->metrics.avg_jct_s, b->metrics.avg_jct_s);
  EXPECT_EQ(a->metrics.p99_jct_s, b->metrics.p99_jct_s);
  EXPECT_EQ(a->metrics.unschedulable, 1);
  EXPECT_EQ(a->metrics.finished, 3000);
  EXPECT_GT(a->metrics.gpu_utilization, 0.2);  // the makespan includes the long-job tail
  EXPECT_LE(a->metrics.gpu_utilization, 1.0);
  EXPECT_GT(a->metrics.jain_fairness, 0.2);
  EXPECT_LE(a->metrics.jain_fairness, 1.0);
  // Another seed changes the estimates, hence backfill's choices.
  options.seed = 4;
  auto c = Simulate(t, *cluster, options);
  EXPECT_NE(a->metrics.avg_jct_s, c->metrics.avg_jct_s);
}

TEST_F(SimTest, BadInputIsReportedWithItsLine) {
  auto r = ReadTraceCsv(Write("bad.csv", "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
                                         "a,0,1,10,x,\nb,zero,1,10,x,\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(":3: submit_time_s"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(ReadTraceCsv(Write("h.csv", "id,when\n")).ok());
  EXPECT_EQ(ReadTraceCsv(dir_ + "/none.csv").status().code(), StatusCode::kNotFound);
  // Jobs that never ran or use no GPU are skipped and counted.
  auto s = ReadTraceCsv(Write("s.csv", "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
                                       "a,0,1,,x,\nb,0,0,5,x,\nc,1,2,0,x,\n"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->jobs.size(), 1u);
  EXPECT_EQ(s->jobs[0].duration_s, 1);
  EXPECT_EQ(s->skipped_never_ran, 1);
  EXPECT_EQ(s->skipped_no_gpu, 1);
  for (const char* bad : {"", "64", "64x", "x8", "0x8", "64x0", "64x8:H100,", "-1x8"}) {
    EXPECT_FALSE(ParseClusterSpec(bad).ok()) << bad;
  }
  auto two = ParseClusterSpec("2x8:H100,3x4:A100");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->total_gpus(), 28);
  EXPECT_EQ(two->Workers().size(), 5u);
  EXPECT_EQ(two->Workers()[4].gpu_type, "A100");
  auto file = LoadClusterFile(Write("c.yaml", "nodeGroups:\n  - {count: 2, gpusPerNode: 8, gpuType: H200}\n"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->total_gpus(), 16);
  EXPECT_DOUBLE_EQ(file->groups[0].gpu_memory_gib, 141);
  EXPECT_FALSE(LoadClusterFile(Write("e.yaml", "nodeGroups: []\n")).ok());
}


// One 4-GPU node, jobs of g >= 2 GPUs elastic down to half. B (2 GPUs, 10 s) takes 2 GPUs; A
// (4 GPUs x 20 s = 80 GPU-s of work) starts on the other 2, at half speed.
//   fifo:          A never grows: 80 / 2 = 40 s.
//   fifo+elastic:  when B ends at 10, A has done 20 GPU-s and grows to 4: 60 / 4 = 15 s -> 25.
//   with 4 s checkpoints the restart loses 2 s at 2 GPUs: 64 / 4 = 16 s -> 26.
TEST_F(SimTest, KnownAnswerElasticGrowth) {
  auto trace = ReadTraceCsv(Write("e.csv",
                                  "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
                                  "B,0,2,10,x,\n"
                                  "A,0,4,20,x,\n"));
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  auto cluster = ParseClusterSpec("1x4");
  ASSERT_TRUE(cluster.ok());
  SimOptions options;
  options.elastic_min_fraction = 0.5;
  auto run = [&](const char* policy, double checkpoint_s) {
    options.policy = *ParsePolicyName(policy);
    options.policy.resize_min_interval_ms = 0;
    options.checkpoint_interval_s = checkpoint_s;
    auto r = Simulate(*trace, *cluster, options);
    EXPECT_TRUE(r.ok());
    return *r;
  };
  SimResult rigid = run("fifo", 0);
  EXPECT_EQ(rigid.jobs[0].end_s, 10);
  EXPECT_EQ(rigid.jobs[1].end_s, 40);
  SimResult grown = run("fifo+elastic", 0);
  EXPECT_EQ(grown.jobs[1].end_s, 25);
  EXPECT_EQ(grown.jobs[1].resizes, 1);
  EXPECT_EQ(grown.metrics.resizes, 1);
  EXPECT_EQ(run("fifo+elastic", 4).jobs[1].end_s, 26);
  options.elastic_min_fraction = 1.5;
  EXPECT_FALSE(Simulate(*trace, *cluster, options).ok());
}

}  // namespace
}  // namespace shoal::sim
