// What a user and an operator see of a real scheduler (issue 11): one scheduler per state dir,
// the version endpoint, unknown queues refused, the gang warning at submission, the pending
// reason in numbers, the event timeline of a job that trains, jobs by name and the last lines of
// a job's log.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "common/version.h"
#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(StateDirTest, ASecondSchedulerOnTheSameStateDirStopsAtOnceNamingTheFirst) {
  Cluster c;
  c.StartScheduler();
  Process second({SHOAL_SCHEDULER_BIN, "--port", "0", "--state-dir", c.dir() + "/state"},
                 c.dir() + "/second-scheduler.log");
  ASSERT_TRUE(second.Start());
  EXPECT_EQ(second.Wait(10s), 1);
  const std::string log = ReadFile(second.log_file());
  EXPECT_NE(log.find("is in use by another shoal-scheduler (pid " +
                     std::to_string(c.scheduler()->pid()) + ","),
            std::string::npos)
      << log;
  // The first one is untouched and still answers.
  auto health = HttpClient(c.url(), 5s).Do("GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);
}

// (Two agents without --name on one host: worker_names_test.cc.)
TEST(WorkerNameTest, ASecondLiveAgentUnderOneNameIsRefusedWhileTheFirstLives) {
  Cluster c;
  c.StartScheduler();
  c.StartWorker("w1");
  auto alive = [&](size_t n) {
    size_t count = 0;
    for (const auto& w : c.Workers()) count += w["state"] == "alive";
    return count == n;
  };
  ASSERT_TRUE(Cluster::WaitUntil([&] { return alive(1); }, 20s)) << c.Workers().dump();
  const std::string token_file = c.dir() + "/token-pool";  // the one StartWorker wrote
  auto agent = [&](const std::string& tag, std::vector<std::string> name_flags) {
    std::vector<std::string> argv = {SHOAL_WORKER_BIN, "--scheduler",       c.url(),
                                     "--no-gpu",       "--trainer",         SHOAL_TRAIN_BIN,
                                     "--work-dir",     c.dir() + "/" + tag, "--token-file",
                                     token_file};
    argv.insert(argv.end(), name_flags.begin(), name_flags.end());
    return std::make_unique<Process>(argv, c.dir() + "/" + tag + ".log");
  };
  // The same --name while w1 lives: refused, and the agent ends with exit 2 saying why.
  auto twin = agent("twin", {"--name", "w1"});
  ASSERT_TRUE(twin->Start());
  EXPECT_EQ(twin->Wait(20s), 2);
  const std::string log = ReadFile(twin->log_file());
  EXPECT_NE(log.find("is held by a live worker"), std::string::npos) << log;
  json workers = c.Workers();
  ASSERT_EQ(workers.size(), 1u) << workers.dump();
  EXPECT_EQ(workers[0]["name"], "w1");
}

TEST(FollowingTest, SubmissionWaitingTrainingAndTheTimeline) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  HttpClient admin = c.client();

  // The version needs no token, and is this build's.
  auto version = HttpClient(c.url(), 5s).DoJson("GET", "/v1/version");
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ((*version)["version"], Version());
  EXPECT_EQ((*version)["commit"], GitCommit());

  const std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  // An unknown queue is refused, naming the field; nothing is stored.
  auto bad = admin.Do("POST", "/v1/jobs", Replace(tiny, "spec:\n", "spec:\n  queue: gpus\n"),
                      "application/yaml");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_EQ(json::parse(bad->body)["error"]["field"], "spec.queue");
  EXPECT_NE(bad->body.find("unknown queue"), std::string::npos) << bad->body;

  // No worker yet: accepted with a warning, then PENDING with the numbers.
  const std::string two = Replace(Replace(tiny, "min: 1", "min: 2"), "max: 1", "max: 2");
  auto submitted = admin.Do("POST", "/v1/jobs", two, "application/yaml");
  ASSERT_TRUE(submitted.ok());
  ASSERT_EQ(submitted->status, 201) << submitted->body;
  json reply = json::parse(submitted->body);
  ASSERT_TRUE(reply.contains("warnings")) << reply.dump();
  EXPECT_NE(reply["warnings"][0].get<std::string>().find("no worker has registered yet"),
            std::string::npos)
      << reply.dump();
  const int64_t id = reply["id"];
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] {
        return c.Job(id).value("reasonMessage", "").find("no worker is alive") != std::string::npos;
      },
      10s))
      << c.Job(id).dump();
  c.StartWorker("w1");
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] {
        return c.Job(id).value("reasonMessage", "") ==
               "needs 2 ranks (one slot each); the alive workers that fit have 1 slot in all";
      },
      20s))
      << c.Job(id).dump();
  EXPECT_EQ(c.Job(id)["reason"], "Constraint");
  c.StartWorker("w2");
  ASSERT_TRUE(c.WaitForState(id, "SUCCEEDED", 120s)) << c.Job(id).dump();

  json job = c.Job(id);
  std::vector<std::string> types;
  for (const auto& e : job["events"]) types.push_back(e["type"]);
  ASSERT_GE(types.size(), 5u) << job["events"].dump();
  EXPECT_EQ(types.front(), "submitted");
  EXPECT_EQ(types[1], "placed");
  EXPECT_EQ(types[2], "started");
  EXPECT_NE(std::find(types.begin(), types.end(), "checkpoint"), types.end())
      << job["events"].dump();  // the final checkpoint at the end of training
  EXPECT_EQ(types.back(), "succeeded");
  EXPECT_FALSE(job.contains("reasonMessage")) << job.dump();

  // By name: the job, and no other.
  auto named = admin.DoJson("GET", "/v1/jobs?name=tiny-mlp");
  ASSERT_TRUE(named.ok());
  ASSERT_EQ((*named)["jobs"].size(), 1u);
  EXPECT_EQ((*named)["jobs"][0]["id"], id);
  EXPECT_EQ((*admin.DoJson("GET", "/v1/jobs?name=other"))["jobs"].size(), 0u);

  // The last 3 lines of its log, then nothing new after them.
  auto all = admin.DoJson("GET", "/v1/jobs/" + std::to_string(id) + "/logs?limit=10000");
  ASSERT_TRUE(all.ok());
  const auto& lines = (*all)["lines"];
  ASSERT_GE(lines.size(), 4u);
  auto tail = admin.DoJson("GET", "/v1/jobs/" + std::to_string(id) + "/logs?tail=3");
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  ASSERT_EQ((*tail)["lines"].size(), 3u);
  EXPECT_EQ((*tail)["lines"][2]["seq"], lines.back()["seq"]);
  EXPECT_EQ((*tail)["lines"][0]["seq"], lines[lines.size() - 3]["seq"]);
  auto rest = admin.DoJson("GET", "/v1/jobs/" + std::to_string(id) + "/logs?after=" +
                                      std::to_string((*tail)["next"].get<int64_t>()));
  EXPECT_EQ((*rest)["lines"].size(), 0u);
  auto both = admin.Do("GET", "/v1/jobs/" + std::to_string(id) + "/logs?tail=3&after=1");
  EXPECT_EQ(both->status, 400);
}

}  // namespace
}  // namespace shoal::testing
