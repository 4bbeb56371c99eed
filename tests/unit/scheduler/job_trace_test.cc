// The pool's job history as a shoal-sim trace (scheduler/job_trace.h): the rows of jobs in each
// state, the window, and that shoal-sim reads it back and keeps each job's limit.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "scheduler/job_trace.h"
#include "scheduler/sim/simulator.h"
#include "tests/testing/api_harness.h"
#include "tests/testing/test_util.h"

namespace shoal {
namespace {

Job MakeJob(int64_t id, const std::string& owner, int64_t submitted_ms, Backend backend, int ranks,
            int gpus_per_worker, int64_t limit_s) {
  Job j;
  j.id = id;
  j.owner = owner;
  j.submitted_ms = submitted_ms;
  j.spec.resources.backend = backend;
  j.spec.resources.gpus_per_worker = gpus_per_worker;
  j.spec.workers.min = j.spec.workers.max = ranks;
  j.spec.limits.max_runtime_seconds = limit_s;
  return j;
}

Attempt MakeAttempt(AttemptState state, int64_t started_ms, int64_t ended_ms) {
  Attempt a;
  a.state = state;
  a.started_ms = started_ms;
  a.ended_ms = ended_ms;
  return a;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class JobTraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A CPU job preempted once (10.5 s, then 10 s), a GPU job running for 50 s, a pending job.
    Job done = MakeJob(1, "alice", 1'000'000, Backend::kCpu, 2, 0, 3600);
    done.attempts = {MakeAttempt(AttemptState::kPreempted, 1'010'000, 1'020'500),
                     MakeAttempt(AttemptState::kSucceeded, 1'030'000, 1'040'000)};
    done.started_ms = 1'010'000;
    done.state = JobState::kSucceeded;
    done.finished_ms = 1'040'000;
    Job running = MakeJob(2, "bob", 1'005'500, Backend::kCuda, 3, 2, 7200);
    running.attempts = {MakeAttempt(AttemptState::kRunning, 1'050'000, 0)};
    running.started_ms = 1'050'000;
    running.state = JobState::kRunning;
    Job pending = MakeJob(3, "carol", 1'009'000, Backend::kCuda, 1, 1, 60);
    jobs_ = {done, running, pending};
  }
  std::vector<const Job*> Pointers() const {
    std::vector<const Job*> out;
    for (const Job& j : jobs_) out.push_back(&j);
    return out;
  }
  std::vector<Job> jobs_;
  const int64_t now_ms_ = 1'100'000;
};

TEST_F(JobTraceTest, OneRowPerJobWithItsRunQueueAndEnd) {
  const auto lines = Lines(JobTraceCsv(Pointers(), {}, now_ms_));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0],
            "job_id,submit_time_s,num_gpus,duration_s,vc,status,limit_s,queue_s,jct_s,attempts");
  // Run time of both attempts (20.5 s, to the nearest second), a slot per CPU rank, queued until
  // its first start, the JCT to its end.
  EXPECT_EQ(lines[1], "shoal-1,0,2,21,alice,SUCCEEDED,3600,10,40,2");
  // Submitted 5.5 s after the first, still running: its run so far, no JCT yet; 3 ranks x 2 GPUs.
  EXPECT_EQ(lines[2], "shoal-2,6,6,50,bob,RUNNING,7200,45,,1");
  // Never started: no duration (shoal-sim skips it and counts it).
  EXPECT_EQ(lines[3], "shoal-3,9,1,,carol,PENDING,60,,,0");
}

TEST_F(JobTraceTest, TheWindowSelectsBySubmissionAndTimesStartAtItsFirstJob) {
  const auto lines = Lines(JobTraceCsv(Pointers(), {1'005'000, 1'009'000}, now_ms_));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "shoal-2,0,6,50,bob,RUNNING,7200,45,,1");
  EXPECT_EQ(Lines(JobTraceCsv(Pointers(), {2'000'000, 0}, now_ms_)).size(), 1u);  // header only
}

TEST_F(JobTraceTest, AFieldNeverShiftsTheColumns) {
  jobs_[0].owner = "a,b\nc";
  const auto lines = Lines(JobTraceCsv(Pointers(), {}, now_ms_));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], "shoal-1,0,2,21,a_b_c,SUCCEEDED,3600,10,40,2");
}

class JobTraceReplayTest : public JobTraceTest {
 protected:
  void SetUp() override {
    JobTraceTest::SetUp();
    char tmpl[] = "/tmp/shoal-trace-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& text) {
    const std::string path = dir_ + "/trace.csv";
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(JobTraceReplayTest, ShoalSimReadsItBackWithEachJobsLimit) {
  auto trace = sim::ReadTraceCsv(Write(JobTraceCsv(Pointers(), {}, now_ms_)));
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  ASSERT_EQ(trace->jobs.size(), 2u);
  EXPECT_EQ(trace->skipped_never_ran, 1);
  EXPECT_EQ(trace->jobs[0].id, "shoal-1");
  EXPECT_EQ(trace->jobs[0].gpus, 2);
  EXPECT_EQ(trace->jobs[0].duration_s, 21);
  EXPECT_EQ(trace->jobs[0].vc, "alice");
  EXPECT_EQ(trace->jobs[0].limit_s, 3600);
  EXPECT_EQ(trace->jobs[1].limit_s, 7200);
}

TEST_F(JobTraceReplayTest, TheReplayKillsAJobAtTheTracesLimitNotAtTheMisestimate) {
  // A needs 100 s but may run 50 (its limit_s); B gives none: duration x misestimate + restart.
  auto trace =
      sim::ReadTraceCsv(Write("job_id,submit_time_s,num_gpus,duration_s,vc,status,limit_s\n"
                              "A,0,1,100,x,,50\n"
                              "B,0,1,100,x,,\n"));
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  auto cluster = sim::ParseClusterSpec("1x2");
  ASSERT_TRUE(cluster.ok());
  sim::SimOptions options;
  options.misestimate = 2.0;
  options.restart_delay_s = 1;
  options.policy = *ParsePolicyName("fifo");
  auto r = sim::Simulate(*trace, *cluster, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& jobs = r->jobs;
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].limit_s, 50);
  EXPECT_TRUE(jobs[0].timed_out);
  EXPECT_EQ(jobs[0].end_s, 50);
  EXPECT_EQ(jobs[1].limit_s, 201);
  EXPECT_FALSE(jobs[1].timed_out);
  EXPECT_EQ(jobs[1].end_s, 101);
}

TEST_F(JobTraceReplayTest, ABadLimitIsRefusedWithItsLine) {
  auto trace =
      sim::ReadTraceCsv(Write("job_id,submit_time_s,num_gpus,duration_s,vc,status,limit_s\n"
                              "A,0,1,100,x,,50\n"
                              "B,0,1,100,x,,-3\n"));
  ASSERT_FALSE(trace.ok());
  EXPECT_NE(trace.status().message().find(":3: limit_s"), std::string::npos)
      << trace.status().message();
}

// GET /v1/trace on a real Scheduler and SQLite store (no sockets).
class ApiTraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = harness_.Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    spec_ = ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / "configs/jobs/tiny-mlp.yaml");
  }
  HttpReply Get(const std::string& token, std::map<std::string, std::string> query = {}) {
    return harness_.Handle(harness_.Request("GET", "/v1/trace", token, "", std::move(query)));
  }
  ::shoal::testing::InProcessApi harness_;
  std::string spec_;
};

TEST_F(ApiTraceTest, AnAdminGetsEveryAccountsJobsAsCsvAndNobodyElseDoes) {
  const std::string admin = harness_.AdminToken("root");
  const std::string alice = harness_.NewToken("alice", Role::kUser);
  ASSERT_EQ(harness_.Handle(harness_.Request("POST", "/v1/jobs", alice, spec_)).status, 201);
  harness_.Advance(2000);
  const int64_t second_ms = harness_.now();
  ASSERT_EQ(harness_.Handle(harness_.Request("POST", "/v1/jobs", admin, spec_)).status, 201);

  HttpReply all = Get(admin);
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.content_type, "text/csv; charset=utf-8");
  const auto lines = Lines(all.body);
  ASSERT_EQ(lines.size(), 3u) << all.body;
  EXPECT_EQ(lines[1], "shoal-1,0,1,,alice,PENDING,600,,,0");  // tiny-mlp: 1 CPU rank, 10m
  EXPECT_EQ(lines[2], "shoal-2,2,1,,root,PENDING,600,,,0");
  HttpReply later = Get(admin, {{"since", std::to_string(second_ms)}});
  ASSERT_EQ(later.status, 200) << later.body;
  EXPECT_EQ(Lines(later.body).size(), 2u) << later.body;

  HttpReply refused = Get(alice);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("admin"), std::string::npos) << refused.body;
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"since", "yesterday"}, {"until", "-1"}}) {
    HttpReply bad = Get(admin, {{name, value}});
    EXPECT_EQ(bad.status, 400) << name << "=" << value << ": " << bad.body;
    EXPECT_NE(bad.body.find(name), std::string::npos) << bad.body;
  }
  HttpReply backwards = Get(admin, {{"since", "5000"}, {"until", "5000"}});
  EXPECT_EQ(backwards.status, 400) << backwards.body;
  EXPECT_EQ(harness_.Handle(harness_.Request("POST", "/v1/trace", admin, "")).status, 405);
}

}  // namespace
}  // namespace shoal
