// `shoal trace` end to end: jobs run by real scheduler, worker and trainer processes come out as a
// trace that shoal-sim replays with their own limits (docs/simulator.md "Replaying your own pool").
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/cluster.h"
#include "tests/testing/test_util.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;

TEST(TraceTest, ThePoolsOwnJobsReplayInShoalSim) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  c.StartWorker("w1");
  const std::string alice = c.CreateToken("alice", "user");
  const std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  const int64_t a = c.SubmitAs(alice, tiny);
  ASSERT_TRUE(c.WaitForState(a, "SUCCEEDED", 120s)) << c.Job(a).dump(2);
  const int64_t b = c.Submit(Replace(tiny, "maxRuntime: 10m", "maxRuntime: 20m"));
  ASSERT_TRUE(c.WaitForState(b, "SUCCEEDED", 120s)) << c.Job(b).dump(2);
  // Needs 8 ranks of a 1-slot pool: it never starts.
  c.Submit(Replace(Replace(tiny, "min: 1", "min: 8"), "max: 1", "max: 8"));

  const std::string file = c.dir() + "/pool.csv";
  Cluster::CliResult wrote = c.RunCli(c.admin_token(), {"trace", "-O", file});
  ASSERT_EQ(wrote.code, 0) << wrote.output;
  EXPECT_NE(wrote.output.find("3 jobs"), std::string::npos) << wrote.output;
  EXPECT_NE(wrote.output.find("--cluster 1x1)"), std::string::npos) << wrote.output;
  const std::string csv = ReadFile(file);
  EXPECT_NE(csv.find(",alice,SUCCEEDED,600,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",admin,SUCCEEDED,1200,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",8,,admin,PENDING,600,,,0"), std::string::npos) << csv;
  // Every account's jobs: not for a user.
  Cluster::CliResult refused = c.RunCli(alice, {"trace"});
  EXPECT_EQ(refused.code, 4) << refused.output;
  EXPECT_NE(refused.output.find("admin"), std::string::npos) << refused.output;

  // The replay on the pool's shape: one node of one slot.
  const std::string log = c.dir() + "/sim.log";
  Process sim({SHOAL_SIM_BIN, "--trace", file, "--cluster", "1x1", "--policy", "fifo"}, log);
  ASSERT_TRUE(sim.Start());
  ASSERT_EQ(sim.Wait(60s), 0);
  const std::string out = ReadFile(log);
  EXPECT_NE(out.find("2 jobs (skipped: 1 never ran"), std::string::npos) << out;
  EXPECT_NE(out.find("the trace's limit_s for 2 jobs"), std::string::npos) << out;
  EXPECT_NE(out.find("| fifo |"), std::string::npos) << out;
}

}  // namespace
}  // namespace shoal::testing
