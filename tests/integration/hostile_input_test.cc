// Input a stranger controls must not take a daemon down (issue 12): a job spec with invalid UTF-8
// (refused at submission, where it would otherwise poison every heartbeat reply that carries it)
// and a job whose trainer prints non-UTF-8 bytes (the job fails with the trainer's reason; the
// worker stays up and runs the next job).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(HostileInputTest, ASpecWithInvalidUtf8AnywhereIsRefusedWithItsPosition) {
  Cluster c;
  c.StartScheduler();
  const std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  // In a comment, where yaml-cpp never looks: Latin-1 "é" on line 2, column 6.
  const std::string poison = "# smoke\n# caf\xE9 au lait\n" + tiny;
  auto r = c.client().Do("POST", "/v1/jobs", poison, "application/yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 400) << r->body;
  const json body = json::parse(r->body);  // the reply itself is valid UTF-8 JSON
  const std::string message = body["error"]["message"];
  EXPECT_NE(message.find("request body:2:6:"), std::string::npos) << message;
  EXPECT_NE(message.find("0xE9"), std::string::npos) << message;
  auto jobs = c.client().DoJson("GET", "/v1/jobs");
  ASSERT_TRUE(jobs.ok());
  EXPECT_TRUE((*jobs)["jobs"].empty()) << jobs->dump();
}

TEST(HostileInputTest, NonUtf8TrainerOutputFailsTheJobAndTheWorkerStaysUp) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  // A Latin-1 CSV in the worker's data root: the trainer quotes its bad field ("caf\xE9").
  const std::string root = c.dir() + "/data";
  std::filesystem::create_directories(root);
  for (const char* name : {"train.csv", "test.csv"}) {
    std::ofstream(root + "/" + name) << "label,a,b\n1,0.5,0.25\n0,caf\xE9,0.1\n";
  }
  Process* worker =
      c.StartWorker("w1", {"--data-root", root, "--data-root", "/usr/share/datasets"});
  const std::string spec =
      "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: latin1}\nspec:\n"
      "  workers: {min: 1, max: 1}\n  resources: {backend: cpu, gpusPerWorker: 0}\n"
      "  model: {layers: [2, 4, 2], activation: relu, loss: cross_entropy}\n"
      "  data: {train: " +
      root + "/train.csv, test: " + root +
      "/test.csv, format: csv}\n"
      "  training: {epochs: 1, batchSize: 2}\n  limits: {maxRetries: 1}\n";
  const int64_t bad = c.Submit(spec);
  ASSERT_TRUE(c.WaitForState(bad, "FAILED", 60s)) << c.Job(bad).dump();
  const json job = c.Job(bad);  // readable: the reply serialises
  const std::string reason = job["reason"];
  EXPECT_NE(reason.find("expected a number"), std::string::npos) << reason;
  EXPECT_NE(reason.find("caf\xEF\xBF\xBD"), std::string::npos) << reason;  // U+FFFD for 0xE9
  // Bad data is the job's fault: not retried on the next contributor.
  EXPECT_EQ(job["attempts"], 1) << job.dump();
  // The worker survived and still runs work.
  EXPECT_TRUE(worker->running());
  const int64_t good = c.Submit(Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml"));
  ASSERT_TRUE(c.WaitForState(good, "SUCCEEDED", 120s)) << c.Job(good).dump();
  EXPECT_TRUE(worker->running());
}

}  // namespace
}  // namespace shoal::testing
