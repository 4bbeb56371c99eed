// `shoal models` against a real scheduler and one worker (docs/registry.md, "Model library"): the
// CLI binary publishes a tiny job that succeeded, shows its card (the job and its accuracy), lists
// it, pulls it (model.safetensors byte for byte the job's checkpoint, and model-card.json), refuses
// to generate text from it (an mlp), and refuses to publish a job that has not succeeded, with the
// scheduler's message.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using CliResult = Cluster::CliResult;

Cluster::CliResult Shoal(const Cluster& c, const std::string& token,
                         const std::vector<std::string>& args) {
  return c.RunCli(token, args, std::chrono::seconds(120));
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(ModelsCliTest, PublishShowListPullAndRefuseAnUnfinishedJob) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  const std::string alice = c.CreateToken("alice", "user");
  c.StartWorker("w1");
  const std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  const int64_t job = c.SubmitAs(alice, tiny);
  ASSERT_GT(job, 0);
  // Two workers' worth of ranks on a pool of one: it stays PENDING.
  const int64_t waiting =
      c.SubmitAs(alice, Replace(Replace(tiny, "name: tiny-mlp", "name: too-wide"),
                                "workers: {min: 1, max: 1}", "workers: {min: 2, max: 2}"));
  ASSERT_GT(waiting, 0);
  ASSERT_TRUE(c.WaitForState(job, "SUCCEEDED", 180s)) << c.Job(job).dump(2);
  const double accuracy = c.Job(job)["result"]["testAccuracy"].get<double>();
  const std::string id = std::to_string(job);

  // By the job's name, as other job commands take it.
  CliResult publish = Shoal(c, alice,
                            {"models", "publish", "tiny-mlp", "--name", "tiny", "--license", "MIT",
                             "--description", "the smoke job"});
  ASSERT_EQ(publish.code, 0) << publish.output;
  EXPECT_TRUE(Contains(publish.output, "published models/alice/tiny@1 from job " + id + " ("))
      << publish.output;
  EXPECT_TRUE(Contains(publish.output, "digest sha256:")) << publish.output;

  char shown[32];
  std::snprintf(shown, sizeof shown, "%.4f", accuracy);
  CliResult show = Shoal(c, alice, {"models", "show", "tiny"});
  ASSERT_EQ(show.code, 0) << show.output;
  const std::vector<std::string> lines = {"name:           models/alice/tiny",
                                          "job:            " + id + " (tiny-mlp)",
                                          "test accuracy:  " + std::string(shown),
                                          "architecture:   mlp 784-32-10, relu",
                                          "license:        MIT",
                                          "format:         safetensors"};
  for (const std::string& line : lines) {
    EXPECT_TRUE(Contains(show.output, line)) << line << " in:\n" << show.output;
  }
  CliResult ls = Shoal(c, alice, {"models", "ls"});
  ASSERT_EQ(ls.code, 0) << ls.output;
  EXPECT_TRUE(Contains(ls.output, "alice/tiny")) << ls.output;
  EXPECT_TRUE(Contains(ls.output, "public")) << ls.output;

  // The pulled weights are the job's checkpoint of the card's step, byte for byte.
  const fs::path dir = c.dir() + "/pulled";
  CliResult pull = Shoal(c, alice, {"models", "pull", "tiny@1", dir.string()});
  ASSERT_EQ(pull.code, 0) << pull.output;
  EXPECT_TRUE(Contains(pull.output, "pulled models/alice/tiny@1 into")) << pull.output;
  const json card = json::parse(ReadFile(dir / "model-card.json"), nullptr, false);
  ASSERT_TRUE(card.is_object()) << ReadFile(dir / "model-card.json");
  EXPECT_EQ(card["job"], job);
  EXPECT_EQ(card["metrics"]["testAccuracy"], accuracy);
  const int64_t step = card["checkpoint"]["step"].get<int64_t>();
  auto checkpoint =
      c.client(alice).Do("GET", "/v1/jobs/" + id + "/checkpoints/" + std::to_string(step));
  ASSERT_TRUE(checkpoint.ok() && checkpoint->status == 200);
  const std::string weights = ReadFile(dir / "model.safetensors");
  EXPECT_FALSE(weights.empty());
  EXPECT_TRUE(weights == checkpoint->body) << weights.size() << " vs " << checkpoint->body.size();

  // generate samples from gpt models only: an mlp is refused before anything is pulled.
  CliResult generate = Shoal(c, alice, {"models", "generate", "tiny", "--prompt", "hello"});
  EXPECT_EQ(generate.code, 2) << generate.output;
  EXPECT_TRUE(Contains(generate.output, "models/alice/tiny@1 is an mlp model")) << generate.output;

  // A job that has not succeeded is refused with the scheduler's reason; nothing is published.
  CliResult refused =
      Shoal(c, alice, {"models", "publish", std::to_string(waiting), "--name", "wide"});
  EXPECT_NE(refused.code, 0) << refused.output;
  EXPECT_TRUE(
      Contains(refused.output, "is PENDING: a model is published from a job that succeeded"))
      << refused.output;
  EXPECT_EQ(Shoal(c, alice, {"models", "show", "wide"}).code, 4);
  // Models come from jobs: there is no push.
  CliResult push = Shoal(c, alice, {"models", "push", c.dir(), "--name", "x"});
  EXPECT_EQ(push.code, 2) << push.output;
  EXPECT_TRUE(Contains(push.output, "models publish JOB")) << push.output;
}

}  // namespace
}  // namespace shoal::testing
