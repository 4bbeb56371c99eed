// A GPT trained through the pool, as a user brings text (docs/gpt.md): `shoal tokenize` turns
// text into token shards, `shoal data push` puts them in the registry, and a spec with
// model.kind gpt trains on two workers' CPUs to SUCCEEDED, its validation loss below the text's
// unigram entropy (so the model learned more than byte frequencies), with identical parameters on
// both ranks. Published, the model then writes text: `shoal models generate` pulls it into a
// local cache once (again only when the cached bytes no longer match the version's digest) and
// samples the same text for the same seed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Entropy in nats of the byte distribution of `path`.
double UnigramEntropy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::map<unsigned char, double> counts;
  double total = 0;
  for (char ch; in.get(ch);) {
    counts[static_cast<unsigned char>(ch)] += 1;
    total += 1;
  }
  double h = 0;
  for (const auto& [byte, n] : counts) h -= n / total * std::log(n / total);
  return h;
}

TEST(GptTrainTest, TextToTokensToRegistryToATrainedModelOnTwoWorkers) {
  const std::string fortunes = "/usr/share/games/fortunes";
  if (!fs::exists(fortunes + "/computers")) GTEST_SKIP() << "Debian's fortunes is not installed";
  Cluster c;
  c.StartScheduler();
  const std::string alice = c.CreateToken("alice", "user");
  // ~300 KB of English text; the last 10 % is the validation split.
  const std::string text = c.dir() + "/text.txt";
  {
    std::ofstream out(text, std::ios::binary);
    for (const char* name : {"computers", "cookie", "definitions", "education"}) {
      std::ifstream in(fortunes + "/" + name, std::ios::binary);
      out << in.rdbuf();
    }
  }
  const std::string shards = c.dir() + "/shards";
  auto tokenized =
      c.RunCli(alice, {"tokenize", text, "--tokenizer", "bytes", "--out", shards}, 60s);
  ASSERT_EQ(tokenized.code, 0) << tokenized.output;
  auto pushed = c.RunCli(alice,
                         {"data", "push", shards, "--name", "fortunes-bytes", "--public",
                          "--description", "fortunes as byte tokens"},
                         120s);
  ASSERT_EQ(pushed.code, 0) << pushed.output;
  c.StartWorker("w1");
  c.StartWorker("w2");
  const std::string spec = R"(apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: gpt-fortunes}
spec:
  workers: {min: 2, max: 2}
  resources: {backend: cpu, gpusPerWorker: 0}
  model: {kind: gpt, layers: 1, vocabSize: 256, contextLength: 32, heads: 2, embedDim: 32}
  data:
    train: shoal://datasets/alice/fortunes-bytes/train
    test: shoal://datasets/alice/fortunes-bytes/val
  optimizer: {kind: adamw, lr: 0.005}
  training: {epochs: 1, batchSize: 16, seed: 3}
  checkpoint: {everySeconds: 0}
)";
  const int64_t job = c.SubmitAs(alice, spec);
  ASSERT_GT(job, 0);
  ASSERT_TRUE(c.WaitForState(job, "SUCCEEDED", 200s)) << c.Job(job).dump(2);
  const nlohmann::json result = c.Job(job)["result"];
  const double entropy = UnigramEntropy(text);
  const double loss = result.value("testLoss", 99.0);
  std::cout << "gpt: test loss " << loss << " nats/byte, unigram entropy " << entropy << "\n";
  EXPECT_LT(loss, entropy - 0.3) << result.dump();
  const auto sums = result["rankChecksums"];
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[0], sums[1]);

  // Published, then sampled by `shoal models generate`: the shoal-train of this build on PATH
  // (the CLI looks beside itself first, and the build tree keeps them in separate folders), the
  // pulled version cached under XDG_CACHE_HOME.
  auto published =
      c.RunCli(alice, {"models", "publish", std::to_string(job), "--name", "tiny-gpt"});
  ASSERT_EQ(published.code, 0) << published.output;
  const std::string cache = c.dir() + "/cache";
  setenv("XDG_CACHE_HOME", cache.c_str(), 1);
  const std::string path = fs::path(SHOAL_TRAIN_BIN).parent_path().string() + ":" +
                           (std::getenv("PATH") == nullptr ? "" : std::getenv("PATH"));
  setenv("PATH", path.c_str(), 1);
  const std::vector<std::string> generate = {
      "models",        "generate", "tiny-gpt@1", "--prompt", "The computer", "--tokens", "40",
      "--temperature", "0.8",      "--top-k",    "20",       "--seed",       "7"};
  auto first = c.RunCli(alice, generate, 60s);
  ASSERT_EQ(first.code, 0) << first.output;
  EXPECT_EQ(first.output.rfind("The computer", 0), 0u) << first.output;
  EXPECT_GT(first.output.size(), std::string("The computer").size() + 10) << first.output;
  std::cout << "generated: " << first.output;
  // The second run finds the version in the cache by its digest (no new directory), and the
  // same seed gives the same text; another seed gives other text.
  std::vector<fs::path> cached;
  for (const auto& e : fs::recursive_directory_iterator(cache)) {
    if (e.path().filename() == "model.safetensors") cached.push_back(e.path());
  }
  ASSERT_EQ(cached.size(), 1u);
  struct stat before {};
  ASSERT_EQ(stat(cached[0].c_str(), &before), 0);
  auto again = c.RunCli(alice, generate, 60s);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_EQ(again.output, first.output);
  struct stat after {};
  ASSERT_EQ(stat(cached[0].c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the cached version was pulled again";
  // A cached copy whose bytes changed no longer has the version's digest: pulled again.
  {
    std::fstream file(cached[0], std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-1, std::ios::end);
    file.put('\x7f');
  }
  auto repaired = c.RunCli(alice, generate, 60s);
  ASSERT_EQ(repaired.code, 0) << repaired.output;
  EXPECT_EQ(repaired.output, first.output);
  struct stat pulled_again {};
  ASSERT_EQ(stat(cached[0].c_str(), &pulled_again), 0);
  EXPECT_NE(pulled_again.st_ino, before.st_ino) << "a changed cached copy was used";
  std::vector<std::string> other_seed = generate;
  other_seed.back() = "8";
  auto other = c.RunCli(alice, other_seed, 60s);
  ASSERT_EQ(other.code, 0) << other.output;
  EXPECT_NE(other.output, first.output);

  // A gpt that asks for a GPU backend is refused at submission, naming the field.
  const std::string on_gpu = Replace(spec, "backend: cpu, gpusPerWorker: 0", "backend: cuda");
  HttpClient http = c.client(alice);
  auto r = http.Do("POST", "/v1/jobs", on_gpu, "application/yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("spec.resources.backend"), std::string::npos) << r->body;
}

}  // namespace
}  // namespace shoal::testing
