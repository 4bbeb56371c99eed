// shoal-sim: a replay whose answer is known exactly, determinism, and bad input.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

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
  // The floors: every job started at submission (no restart delay here).
  EXPECT_DOUBLE_EQ(fm.no_wait_avg_jct_s, (10 + 10 + 5 + 100) / 4.0);
  EXPECT_DOUBLE_EQ(fm.no_wait_p99_jct_s, 100);
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
  auto r = ReadTraceCsv(Write("bad.csv",
                              "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
                              "a,0,1,10,x,\nb,zero,1,10,x,\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(":3: submit_time_s"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(ReadTraceCsv(Write("h.csv", "id,when\n")).ok());
  EXPECT_EQ(ReadTraceCsv(dir_ + "/none.csv").status().code(), StatusCode::kNotFound);
  // Jobs that never ran or use no GPU are skipped and counted.
  auto s = ReadTraceCsv(Write("s.csv",
                              "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
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
  auto file = LoadClusterFile(
      Write("c.yaml", "nodeGroups:\n  - {count: 2, gpusPerNode: 8, gpuType: H200}\n"));
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

// Jobs overrun a limit of half their duration (misestimate 0.5): the daemon kills each at its
// limit, and so does the replay. One 4-GPU node:
//   fifo:          A 0-10 (killed), B 10-15 (killed), C 15-17 (killed) -> JCT 10, 14, 15
//   fifo+backfill: at 2 the head B is reserved at A's kill (10); C's limit ends it at 4, before
//                  that: C 2-4, B 10-15 -> 10, 14, 2
// Before kills, A ran on to 20 while backfill counted its GPUs as free from 10 on.
TEST_F(SimTest, KnownAnswerJobsAreKilledAtTheirLimit) {
  auto trace = ReadTraceCsv(Write("k.csv",
                                  "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
                                  "A,0,2,20,x,\n"
                                  "B,1,4,10,y,\n"
                                  "C,2,2,4,x,\n"));
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  SimOptions options;
  options.misestimate = 0.5;
  auto run = [&](const char* policy) {
    options.policy = *ParsePolicyName(policy);
    auto r = Simulate(*trace, *ParseClusterSpec("1x4"), options);
    EXPECT_TRUE(r.ok());
    std::vector<int64_t> jct;
    for (const auto& j : r->jobs) {
      jct.push_back(j.end_s - j.submit_s);
      EXPECT_TRUE(j.timed_out) << policy;
    }
    EXPECT_EQ(r->metrics.timed_out, 3);
    return jct;
  };
  EXPECT_EQ(run("fifo"), (std::vector<int64_t>{10, 14, 15}));
  // A job killed at its limit could at best have run until it: the floor is the limit.
  auto limited = Simulate(*trace, *ParseClusterSpec("1x4"), options);
  ASSERT_TRUE(limited.ok());
  EXPECT_DOUBLE_EQ(limited->jobs[0].no_wait_s, 10);
  EXPECT_DOUBLE_EQ(limited->jobs[1].no_wait_s, 5);
  EXPECT_DOUBLE_EQ(limited->jobs[2].no_wait_s, 2);
  EXPECT_EQ(run("fifo+backfill"), (std::vector<int64_t>{10, 14, 2}));
  // With room to spare nothing is killed.
  options.misestimate = 1.0;
  options.policy = *ParsePolicyName("fifo");
  auto r = Simulate(*trace, *ParseClusterSpec("1x4"), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metrics.timed_out, 0);
  EXPECT_EQ(r->jobs[0].end_s, 20);
}

// Each (re)start holds the GPUs for the restart delay before progress; it and redone work are
// lost GPU time, left out of utilisation. A limit covers the work's estimate and one delay. One
// GPU, X0 (1000 s) preempted at 700 by Y1 (10 s), 60 s delays, a checkpoint after every 200 s of
// progress (at 260, 460 and 660 s, so the 40 s since the last are redone):
//   X0 0-700 (60 lost + 640 done, 40 of it redone), Y1 700-770, X0 770-1230 (60 + 400 left).
TEST_F(SimTest, RestartDelaysAndRedoneWorkAreLost) {
  auto trace = ReadTraceCsv(Write("r.csv",
                                  "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
                                  "X0,0,1,1000,x,\n"
                                  "Y1,700,1,10,y,\n"));
  ASSERT_TRUE(trace.ok());
  SimOptions options;
  options.policy = *ParsePolicyName("fairshare+preempt");
  options.restart_delay_s = 60;
  options.checkpoint_interval_s = 200;
  auto r = Simulate(*trace, *ParseClusterSpec("1x1"), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs[1].start_s, 700);
  EXPECT_EQ(r->jobs[1].end_s, 770);
  EXPECT_EQ(r->jobs[0].end_s, 1230);
  EXPECT_EQ(r->jobs[0].starts, 2);
  EXPECT_DOUBLE_EQ(r->jobs[0].held_gpu_s, 700 + 460);
  EXPECT_DOUBLE_EQ(r->jobs[0].lost_gpu_s, 60 + 40 + 60);
  EXPECT_DOUBLE_EQ(r->jobs[1].lost_gpu_s, 60);
  EXPECT_DOUBLE_EQ(r->metrics.gpu_seconds_lost, 220);
  // Useful work: 1000 + 10 GPU-seconds over 1 GPU x 1230 s.
  EXPECT_NEAR(r->metrics.gpu_utilization, 1010.0 / 1230.0, 1e-12);
  ASSERT_EQ(r->attempts.size(), 3u);
  std::ostringstream csv;
  WriteJobsCsv(*trace, *r, csv);
  EXPECT_EQ(csv.str(),
            "job,vc,submit_s,start_s,end_s,gpus,duration_s,limit_s,starts,nodes,preemptions,"
            "resizes,timed_out,held_gpu_s,lost_gpu_s,type_speed\n"
            "X0,x,0,0,1230,1,1000,2060,2,1,1,0,0,1160,160,1\n"
            "Y1,y,700,700,770,1,10,80,1,1,0,0,0,70,60,1\n");
  options.restart_delay_s = -1;
  EXPECT_FALSE(Simulate(*trace, *ParseClusterSpec("1x1"), options).ok());
}

// Cost-aware preemption in the replay: the victim is the job with the least work since its last
// checkpoint, and --preempt-max-unsaved-s spares jobs with more. Two GPUs held by account x's A
// (from 0) and B (from 150), checkpoints after every 200 s of progress, no restart delay; y's L
// arrives at 700: A checkpointed at 600 (100 s unsaved), B at 550 (150 s unsaved).
TEST_F(SimTest, PreemptionTakesTheJobWithTheLeastUnsavedWork) {
  auto trace = ReadTraceCsv(Write("c.csv",
                                  "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
                                  "A,0,1,1000,x,\n"
                                  "B,150,1,1000,x,\n"
                                  "L,700,1,10,y,\n"));
  ASSERT_TRUE(trace.ok());
  SimOptions options;
  options.policy = *ParsePolicyName("fairshare+preempt");
  options.policy.preempt_min_runtime_ms = 0;
  options.restart_delay_s = 0;
  options.checkpoint_interval_s = 200;
  auto run = [&](double max_unsaved_s) {
    options.policy.preempt_max_unsaved_ms = std::llround(max_unsaved_s * 1000);
    auto r = Simulate(*trace, *ParseClusterSpec("1x2"), options);
    EXPECT_TRUE(r.ok());
    return *r;
  };
  SimResult r = run(0);
  EXPECT_EQ(r.jobs[0].preemptions, 1);  // A, although B started later
  EXPECT_EQ(r.jobs[1].preemptions, 0);
  EXPECT_DOUBLE_EQ(r.jobs[0].lost_gpu_s, 100);
  EXPECT_EQ(r.jobs[2].start_s, 700);
  r = run(120);  // B is exempt, but A goes first anyway: no guard changed anything
  EXPECT_EQ(r.jobs[0].preemptions, 1);
  EXPECT_EQ(r.jobs[2].start_s, 700);
  EXPECT_EQ(r.metrics.guarded_jobs, 0);
  r = run(50);  // both spared: L waits for A to finish; the guard kept A, which would have gone
  EXPECT_EQ(r.metrics.preemptions, 0);
  EXPECT_EQ(r.metrics.guarded_jobs, 1);
  EXPECT_TRUE(r.jobs[0].guarded);
  EXPECT_FALSE(r.jobs[1].guarded);
  EXPECT_EQ(r.jobs[2].start_s, 1000);
}

// A gang over two nodes runs 1.5x as long with spread_slowdown 0.5; one node, unchanged.
// Two 2-GPU nodes: A (2 GPUs, 10 s) fits one node; B (4 GPUs, 10 s) then spans both.
TEST_F(SimTest, GangsSpreadOverNodesRunSlower) {
  auto trace = ReadTraceCsv(Write("s.csv",
                                  "job_id,submit_time_s,num_gpus,duration_s,vc,status\n"
                                  "A,0,2,10,x,\n"
                                  "B,0,4,10,x,\n"));
  ASSERT_TRUE(trace.ok());
  SimOptions options;
  options.spread_slowdown = 0.5;
  auto r = Simulate(*trace, *ParseClusterSpec("2x2"), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jobs[0].nodes, 1);
  EXPECT_EQ(r->jobs[0].end_s, 10);
  EXPECT_EQ(r->jobs[1].nodes, 2);
  EXPECT_EQ(r->jobs[1].end_s - r->jobs[1].start_s, 15);
  options.spread_slowdown = -1;
  EXPECT_FALSE(Simulate(*trace, *ParseClusterSpec("2x2"), options).ok());
}

// The stress trace: one account holds the asked share of GPU-seconds, all in 8-GPU gangs, and
// the rest of the trace is what it was without it.
TEST_F(SimTest, SyntheticHeavyAccountHoldsItsShare) {
  const Trace plain = SyntheticTrace(20000, 512, 0.99, 10, 5);
  const Trace heavy = SyntheticTrace(20000, 512, 0.99, 10, 5, 0.4);
  EXPECT_EQ(SyntheticTrace(20000, 512, 0.99, 10, 5, 0).jobs.back().submit_s,
            plain.jobs.back().submit_s);
  double all = 0, of_heavy = 0;
  for (const TraceJob& j : heavy.jobs) {
    const double gpu_s = static_cast<double>(j.gpus) * static_cast<double>(j.duration_s);
    all += gpu_s;
    if (j.vc == "heavy") {
      EXPECT_EQ(j.gpus, 8);
      of_heavy += gpu_s;
    }
  }
  EXPECT_NEAR(of_heavy / all, 0.4, 0.08);
  // The same offered load: GPU-seconds submitted per second of the trace within 20 %.
  auto offered = [](const Trace& t) {
    double gpu_s = 0;
    for (const TraceJob& j : t.jobs) gpu_s += static_cast<double>(j.gpus * j.duration_s);
    return gpu_s / static_cast<double>(t.jobs.back().submit_s);
  };
  EXPECT_NEAR(offered(heavy) / offered(plain), 1.0, 0.2);
}

// A day in the arrivals: the peak half of each day gets far more jobs than the trough half, the
// mean load stays what it was, and --diurnal 0 is the constant-rate trace unchanged.
TEST_F(SimTest, SyntheticDiurnalArrivalsKeepTheLoadAndQueueAtThePeak) {
  const Trace flat = SyntheticTrace(30000, 512, 0.9, 10, 5);
  const Trace day = SyntheticTrace(30000, 512, 0.9, 10, 5, 0, 0.8);
  const Trace zero = SyntheticTrace(30000, 512, 0.9, 10, 5, 0, 0);
  ASSERT_EQ(zero.jobs.size(), flat.jobs.size());
  EXPECT_EQ(zero.jobs.back().submit_s, flat.jobs.back().submit_s);
  EXPECT_EQ(zero.jobs[1234].duration_s, flat.jobs[1234].duration_s);
  // sin > 0 in the first half of each day.
  int64_t peak = 0, trough = 0;
  for (const TraceJob& j : day.jobs) ((j.submit_s % 86400) < 43200 ? peak : trough)++;
  // Expected ratio (1 + 0.8 x 2/pi) / (1 - 0.8 x 2/pi) = 3.1.
  EXPECT_GT(static_cast<double>(peak) / static_cast<double>(trough), 2.5);
  EXPECT_LT(static_cast<double>(peak) / static_cast<double>(trough), 3.8);
  // The same mean arrival rate: the traces span the same time within 5 %.
  EXPECT_NEAR(static_cast<double>(day.jobs.back().submit_s) /
                  static_cast<double>(flat.jobs.back().submit_s),
              1.0, 0.05);
  // The busy hours queue: fifo waits longer on average than at a constant rate.
  SimOptions options;
  options.policy = *ParsePolicyName("fifo");
  auto r_flat = Simulate(flat, *ParseClusterSpec("64x8"), options);
  auto r_day = Simulate(day, *ParseClusterSpec("64x8"), options);
  ASSERT_TRUE(r_flat.ok() && r_day.ok());
  EXPECT_GT(r_day->metrics.avg_queue_s, 2 * r_flat->metrics.avg_queue_s);
}

// Nodes fail and come back in time order, alternating, the same for a seed; none without an MTBF.
TEST_F(SimTest, NodeFailuresAlternateAndAreSeeded) {
  FailureModel model;
  model.mtbf_s = 3600;
  model.repair_s = 600;
  NodeFailures a(model, 3), b(model, 3);
  std::vector<bool> down(3, false);
  int64_t last = 0;
  for (int k = 0; k < 300; ++k) {
    ASSERT_EQ(a.NextMs(), b.NextMs());
    const auto e = a.Pop();
    b.Pop();
    ASSERT_GE(e.at_ms, last);
    last = e.at_ms;
    ASSERT_NE(down[e.node], e.down) << "node " << e.node << " event " << k;
    down[e.node] = e.down;
  }
  // 300 events over 3 nodes at ~4200 s per cycle: about 58 h.
  EXPECT_NEAR(static_cast<double>(last) / 3.6e6, 58, 20);
  EXPECT_EQ(NodeFailures(FailureModel{}, 3).NextMs(), INT64_MAX);
  EXPECT_DOUBLE_EQ(YoungDalyIntervalS(60, 86400), std::sqrt(2.0 * 60 * 86400));
  EXPECT_EQ(YoungDalyIntervalS(0, 86400), 0);
  EXPECT_EQ(YoungDalyIntervalS(60, 0), 0);
}

// A volatile pool: every job still finishes, the GPUs in use never exceed the nodes that are up,
// failures cost work, and Young/Daly's interval keeps more of it than much shorter or longer ones.
TEST_F(SimTest, VolatilePoolsLoseWorkAndYoungDalyKeepsMost) {
  const Trace t = SyntheticTrace(600, 32, 0.8, 4, 3);
  auto cluster = ParseClusterSpec("4x8");
  ASSERT_TRUE(cluster.ok());
  auto run = [&](double interval_s, bool young_daly) {
    SimOptions options;
    options.policy = *ParsePolicyName("fifo+backfill");
    options.misestimate = 20;  // room for redone work: nothing is killed at its limit here
    options.failures.mtbf_s = 6 * 3600;
    options.failures.repair_s = 1800;
    options.checkpoint_cost_s = 120;
    options.checkpoint_interval_s = interval_s;
    options.young_daly = young_daly;
    auto r = Simulate(t, *cluster, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  };
  const SimResult yd = run(0, true);
  EXPECT_EQ(yd.metrics.finished, 600);
  EXPECT_EQ(yd.metrics.timed_out, 0);
  EXPECT_GT(yd.metrics.failures, 0);
  EXPECT_LT(yd.metrics.goodput, 1.0);
  int64_t failed_jobs = 0;
  for (const JobOutcome& o : yd.jobs) {
    failed_jobs += o.failures > 0;
    EXPECT_GE(o.end_s, o.start_s);
  }
  EXPECT_GT(failed_jobs, 0);
  std::vector<std::pair<int64_t, int>> deltas;
  for (const SimAttempt& a : yd.attempts) {
    deltas.push_back({a.start_ms, a.ranks});
    deltas.push_back({a.end_ms, -a.ranks});
  }
  std::sort(deltas.begin(), deltas.end());
  int in_use = 0;
  for (const auto& [at, d] : deltas) {
    in_use += d;
    ASSERT_LE(in_use, 32);
  }
  const double too_often = run(300, false).metrics.goodput;        // 120 s of every 420 s writing
  const double too_rarely = run(8 * 3600, false).metrics.goodput;  // 4 h redone per failure
  EXPECT_GT(yd.metrics.goodput, too_often);
  EXPECT_GT(yd.metrics.goodput, too_rarely);
  // Bad settings are refused.
  SimOptions bad;
  bad.young_daly = true;
  EXPECT_FALSE(Simulate(t, *cluster, bad).ok());
  bad.young_daly = false;
  bad.failures.repair_s = 0;
  EXPECT_FALSE(Simulate(t, *cluster, bad).ok());
}

// What any replay must keep, on every policy, with noisy estimates (some jobs time out),
// preemption's lost work, restart delays, elastic gangs, node failures and checkpoint costs: no
// start before submission, the cluster's GPUs never over-committed, each job's attempts back to
// back with its outcome, no job running past its limit, and every job that was not killed given
// exactly its work.
// A replay where everything happens: limits misestimated with noise (some jobs are killed at
// theirs), restarts, checkpoints that cost, elastic gangs, node failures.
SimOptions BusyReplay(const char* policy) {
  SimOptions options;
  options.policy = *ParsePolicyName(policy);
  options.policy.preempt_min_runtime_ms = 60 * 1000;
  options.misestimate = 1.5;
  options.misestimate_sigma = 0.6;
  options.restart_delay_s = 60;
  options.checkpoint_interval_s = 1800;
  options.elastic_min_fraction = 0.5;
  options.failures.mtbf_s = 24 * 3600;
  options.checkpoint_cost_s = 30;
  return options;
}

TEST_F(SimTest, EveryPolicyKeepsTheInvariants) {
  Trace t = SyntheticTrace(400, 32, 0.99, 4, 11);
  auto cluster = ParseClusterSpec("4x8");
  ASSERT_TRUE(cluster.ok());
  for (const char* name : {"fifo", "fifo+backfill", "priority", "priority+backfill", "fairshare",
                           "fairshare+backfill", "fairshare+preempt", "fairshare+backfill+preempt",
                           "fifo+backfill+elastic", "fairshare+backfill+preempt+elastic"}) {
    SCOPED_TRACE(name);
    const SimOptions options = BusyReplay(name);
    auto r = Simulate(t, *cluster, options);
    ASSERT_TRUE(r.ok());
    // The GPUs in use over time never exceed the cluster's.
    std::vector<std::pair<int64_t, int>> deltas;
    std::vector<std::vector<SimAttempt>> of(r->jobs.size());
    for (const SimAttempt& a : r->attempts) {
      ASSERT_LE(a.start_ms, a.end_ms);
      deltas.push_back({a.start_ms, a.ranks});
      deltas.push_back({a.end_ms, -a.ranks});
      of[a.job].push_back(a);
    }
    std::sort(deltas.begin(), deltas.end());  // ends (negative) before starts at one instant
    int in_use = 0;
    for (const auto& [at, d] : deltas) {
      in_use += d;
      ASSERT_LE(in_use, cluster->total_gpus()) << "at " << at;
    }
    EXPECT_EQ(in_use, 0);
    int64_t timed_out = 0, preempted = 0;
    for (size_t j = 0; j < r->jobs.size(); ++j) {
      const JobOutcome& o = r->jobs[j];
      ASSERT_GE(o.start_s, o.submit_s) << "job " << j;
      ASSERT_FALSE(of[j].empty());
      std::sort(of[j].begin(), of[j].end(),
                [](const SimAttempt& a, const SimAttempt& b) { return a.start_ms < b.start_ms; });
      EXPECT_EQ(of[j].front().start_ms / 1000, o.start_s);
      EXPECT_EQ(of[j].back().end_ms / 1000, o.end_s);
      EXPECT_EQ(static_cast<int>(of[j].size()), o.starts);
      double held = 0;
      int64_t run_ms = 0;
      for (const SimAttempt& a : of[j]) {
        EXPECT_LE(a.ranks, o.gpus);
        held += a.ranks * (a.end_ms - a.start_ms) / 1000.0;
        run_ms += a.end_ms - a.start_ms;
      }
      EXPECT_NEAR(held, o.held_gpu_s, 1e-6);
      // Nobody runs past its limit.
      EXPECT_LE(run_ms, std::llround(o.limit_s * 1000)) << "job " << j;
      if (o.timed_out) {
        EXPECT_EQ(run_ms, std::llround(o.limit_s * 1000)) << "job " << j;
      }
      // No policy beats the floor (whole-second rounding aside).
      EXPECT_GE(static_cast<double>(o.end_s - o.submit_s), o.no_wait_s - 1) << "job " << j;
      EXPECT_GT(o.no_wait_s, 60) << "job " << j;  // at least its restart delay and some work
      timed_out += o.timed_out;
      preempted += o.preemptions;
      if (!o.timed_out) {
        // Its work was done exactly once, give or take the replay's whole-second rounding and
        // a 1 s floor on the work left after a stop.
        const double useful = o.held_gpu_s - o.lost_gpu_s;
        EXPECT_NEAR(useful, static_cast<double>(o.gpus) * o.duration_s, o.gpus * (1.0 + o.starts))
            << "job " << j;
      }
    }
    EXPECT_EQ(timed_out, r->metrics.timed_out);
    EXPECT_GT(timed_out, 0) << "no job was killed: the noise shows nothing";
    EXPECT_GT(r->metrics.failures, 0) << "no node failure hit a job";
    if (std::string(name).find("preempt") != std::string::npos) {
      EXPECT_GT(preempted, 0);
    }
  }
}

// The queue index (policy/queue_index.h) changes how fast a replay runs, never what it decides:
// every job's every attempt is the same with it and without it, for every ordering and modifier,
// with +las starvation promotions, preemptions, resizes, failures and time-outs in the replay.
TEST_F(SimTest, TheQueueIndexDecidesAsSortingEveryCycle) {
  Trace t = SyntheticTrace(1500, 32, 1.05, 4, 5);
  auto cluster = ParseClusterSpec("4x8");
  ASSERT_TRUE(cluster.ok());
  for (const char* name :
       {"fifo", "fifo+backfill+las", "priority+las", "priority+backfill", "fairshare+las",
        "fairshare+backfill+preempt", "fairshare+preempt+las", "fairshare+backfill+preempt+las",
        "fairshare+preempt+elastic+las", "fifo+backfill+elastic"}) {
    SCOPED_TRACE(name);
    SimOptions options = BusyReplay(name);
    options.policy.preempt_max_per_job = 3;
    auto indexed = Simulate(t, *cluster, options);
    options.queue_index = false;
    auto sorted = Simulate(t, *cluster, options);
    ASSERT_TRUE(indexed.ok() && sorted.ok());
    EXPECT_EQ(indexed->metrics.cycles, sorted->metrics.cycles);
    EXPECT_EQ(indexed->metrics.preemptions, sorted->metrics.preemptions);
    EXPECT_EQ(indexed->metrics.resizes, sorted->metrics.resizes);
    EXPECT_EQ(indexed->metrics.avg_jct_s, sorted->metrics.avg_jct_s);
    ASSERT_EQ(indexed->attempts.size(), sorted->attempts.size());
    for (size_t i = 0; i < indexed->attempts.size(); ++i) {
      const SimAttempt& a = indexed->attempts[i];
      const SimAttempt& b = sorted->attempts[i];
      ASSERT_EQ(std::tie(a.job, a.start_ms, a.end_ms, a.ranks),
                std::tie(b.job, b.start_ms, b.end_ms, b.ranks))
          << "attempt " << i;
    }
    EXPECT_GT(indexed->metrics.avg_queue_s, 600) << "nobody waited: the order never mattered";
  }
}

}  // namespace
}  // namespace shoal::sim
