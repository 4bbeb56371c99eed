// The agent with a rank whose spec reads a registry dataset: against a scripted scheduler that
// serves the pinned manifest and chunks, the agent fetches them with the attempt's capability,
// starts the trainer with local paths in its spec, logs what it fetched, and removes the data
// when the rank ends.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>

#include "common/file_util.h"
#include "common/registry/manifest.h"
#include "common/spec/job_spec.h"
#include "tests/unit/cli/fake_scheduler.h"
#include "worker/agent/agent.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;
using cli::testing::FakeScheduler;
using nlohmann::json;

constexpr char kSpec[] = R"(apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: fetchy}
spec:
  model: {layers: [784, 10]}
  data:
    train: shoal://datasets/alice/mnist@v1/train
    test: shoal://datasets/alice/mnist/t10k
  training: {epochs: 3}
)";

class AgentFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-agent-fetch-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/src");
    std::mt19937 rng(3);
    for (const auto& [name, size] :
         std::map<std::string, size_t>{{"t10k-images-idx3-ubyte", 2000},
                                       {"train-images-idx3-ubyte", 6000},
                                       {"train-labels-idx1-ubyte", 500}}) {
      std::string bytes(size, '\0');
      for (auto& c : bytes) c = static_cast<char>(rng());
      files_[name] = bytes;
      std::ofstream(dir_ + "/src/" + name, std::ios::binary) << bytes;
    }
    ChunkerParams params;
    params.min = 64;
    params.avg = 256;
    params.max = 1024;
    auto m = BuildManifest(dir_ + "/src", params, [&](std::string_view c, const std::string& sha) {
      chunks_[sha] = std::string(c);
      return Status::Ok();
    });
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    manifest_text_ = CanonicalManifestText(*m);
    digest_ = ManifestDigest(*m);
    // The trainer: keeps a copy of what it was given, as the rank saw it.
    trainer_ = dir_ + "/trainer.sh";
    std::ofstream(trainer_) << "#!/bin/sh\n"
                               "cp \"$1\" "
                            << dir_
                            << "/seen-job.yaml\n"
                               "stat -c %a data > "
                            << dir_
                            << "/seen-mode\n"
                               "cp -r data "
                            << dir_
                            << "/seen-data\n"
                               "echo trained\n";
    fs::permissions(trainer_, fs::perms::owner_all);
  }
  void TearDown() override { fs::remove_all(dir_); }

  json Assignment() {
    return {{"job", 7},
            {"attempt", 1},
            {"rank", 0},
            {"worldSize", 1},
            {"name", "fetchy"},
            {"spec", kSpec},
            {"pins",
             {{{"kind", "datasets"},
               {"account", "alice"},
               {"name", "mnist"},
               {"version", "v1"},
               {"digest", digest_},
               {"bytes", 8500}}}},
            {"readCapability", "shoalcap_7_1_abc"}};
  }

  FakeScheduler::Reply Handle(const FakeScheduler::Request& r) {
    const std::string base = "/v1/datasets/alice/mnist";
    if (r.target == "/v1/workers/register") return {200, R"({"id":"w-9"})"};
    if (r.target.starts_with("/v1/workers/w-9/heartbeat")) {
      std::lock_guard<std::mutex> lock(mu_);
      // What the agent says its cache holds (placement by cached chunks).
      const json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_object() && body.contains("cached") && !body["cached"].empty()) {
        cached_ = body["cached"];
        cache_stats_ = body.value("cache", json());
      }
      json reply = {{"heartbeatWaitMs", 50}, {"assignments", json::array()}};
      if (!exited_) reply["assignments"].push_back(Assignment());
      return {200, reply.dump()};
    }
    if (r.target == "/v1/workers/w-9/events") {
      json body = json::parse(r.body);
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& ev : body["events"]) {
        events_.push_back(ev);
        if (ev["type"] == "exit") exited_ = true;
      }
      return {200, "{}"};
    }
    if (r.target.starts_with("/v1/jobs/7/checkpoints")) return {200, R"({"checkpoints":[]})"};
    if (r.target == base + "/versions/sha256:" + digest_) return {200, manifest_text_};
    if (r.target.starts_with(base + "/chunks/")) {
      const std::string sha = r.target.substr(base.size() + 8);
      auto it = chunks_.find(sha);
      if (it == chunks_.end()) return {404, R"({"error":{"code":"NotFound","message":"no"}})"};
      auto range = r.headers.find("range");
      if (range == r.headers.end()) return {200, it->second};
      long long first = 0, last = 0;
      if (std::sscanf(range->second.c_str(), "bytes=%lld-%lld", &first, &last) != 2) {
        return {400, R"({"error":{"code":"InvalidArgument","message":"range"}})"};
      }
      return {206, it->second.substr(first, last - first + 1)};
    }
    return {404, R"({"error":{"code":"NotFound","message":"no route"}})"};
  }

  std::string dir_, trainer_, manifest_text_, digest_;
  std::map<std::string, std::string> files_, chunks_;
  std::mutex mu_;
  std::vector<json> events_;
  bool exited_ = false;
  json cached_, cache_stats_;  // from the latest heartbeat that reported a cached version
};

TEST_F(AgentFetchTest, FetchesThePinnedDatasetAndRunsTheRankOnALocalCopy) {
  FakeScheduler fake([this](const FakeScheduler::Request& r) { return Handle(r); });
  AgentOptions o;
  o.scheduler_url = fake.url();
  o.name = "box-0";
  o.token = "t0k3n";
  o.detect_gpus = false;
  o.trainer_path = trainer_;
  o.work_dir = dir_ + "/work";
  o.cache_max_bytes = 1 << 20;
  // A leftover of a crashed attempt, removed at start.
  fs::create_directories(o.work_dir + "/job-1/attempt-0/rank-0/data/datasets/x/y");
  Agent agent(o);
  auto done = std::async(std::launch::async, [&] { return agent.Run(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (exited_ && !cached_.is_null()) break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "the rank never exited, or no heartbeat said what the cache holds";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  agent.Stop();
  ASSERT_TRUE(done.get().ok());
  // Its heartbeats say the cache holds the whole version now.
  EXPECT_EQ(cached_, json::array({{{"digest", digest_}, {"bytes", 8500}}}));
  EXPECT_GT(cache_stats_.value("misses", 0), 0);  // every chunk was downloaded
  EXPECT_EQ(cache_stats_.value("hits", -1), 0);
  EXPECT_EQ(cache_stats_.value("bytes", -1), 8500);

  std::string log;
  int exit_code = -1;
  for (const auto& ev : events_) {
    if (ev["type"] == "log") {
      for (const auto& l : ev["lines"]) log += l.get<std::string>() + "\n";
    }
    if (ev["type"] == "exit") exit_code = ev["exitCode"];
  }
  EXPECT_EQ(exit_code, 0) << log;
  // The bytes it downloaded, with the "fetched" line: shoal status's FETCHED.
  bool fetched_reported = false;
  for (const auto& ev : events_) {
    if (ev.contains("fetchedBytes")) {
      EXPECT_EQ(ev["fetchedBytes"], 8500);
      fetched_reported = true;
    }
  }
  EXPECT_TRUE(fetched_reported);
  EXPECT_NE(
      log.find("[shoal-worker] fetched 8500 of 8500 bytes for datasets/alice/mnist@v1 (0 of "),
      std::string::npos)
      << log;
  EXPECT_NE(log.find("trained"), std::string::npos) << log;

  // The rank saw its data in a private directory, byte for byte, and a spec naming it.
  EXPECT_EQ(ReadFileLimited(dir_ + "/seen-mode", 100).value(), "700\n");
  const std::string local = dir_ + "/seen-data/datasets/alice/mnist/";
  for (const auto& [name, bytes] : files_) {
    auto got = ReadFileLimited(local + name, 1 << 20);
    ASSERT_TRUE(got.ok()) << name;
    EXPECT_EQ(*got, bytes) << name;
  }
  auto seen = LoadJobSpecFile(dir_ + "/seen-job.yaml");
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  const std::string data_dir = o.work_dir + "/job-7/attempt-1/rank-0/data";
  EXPECT_EQ(seen->data.train, data_dir + "/datasets/alice/mnist/train");
  EXPECT_EQ(seen->data.test, data_dir + "/datasets/alice/mnist/t10k");
  JobSpec expected = std::move(ParseJobSpec(kSpec)).value();
  expected.data.train = seen->data.train;
  expected.data.test = seen->data.test;
  EXPECT_EQ(*seen, expected);

  // Gone with the rank; the leftover too; the chunks stay cached.
  EXPECT_FALSE(fs::exists(data_dir));
  EXPECT_TRUE(fs::exists(o.work_dir + "/job-7/attempt-1/rank-0/job.yaml"));
  EXPECT_FALSE(fs::exists(o.work_dir + "/job-1/attempt-0/rank-0/data"));
  EXPECT_TRUE(fs::exists(o.work_dir + "/cache/" + chunks_.begin()->first.substr(0, 2) + "/" +
                         chunks_.begin()->first));

  struct stat st {};
  ASSERT_EQ(::stat((o.work_dir + "/cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // Every registry read carried the capability, the worker's id and its token.
  int chunk_reads = 0;
  for (const auto& r : fake.requests()) {
    if (!r.target.starts_with("/v1/datasets/")) continue;
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.authorization, "Bearer t0k3n");
    EXPECT_EQ(r.headers.count("x-shoal-capability") ? r.headers.at("x-shoal-capability") : "",
              "shoalcap_7_1_abc");
    EXPECT_EQ(r.headers.count("x-shoal-worker") ? r.headers.at("x-shoal-worker") : "", "w-9");
    if (r.target.find("/chunks/") != std::string::npos) {
      ++chunk_reads;
      EXPECT_TRUE(r.headers.count("range")) << r.target;
    }
  }
  EXPECT_EQ(chunk_reads, static_cast<int>(chunks_.size()));
}

TEST_F(AgentFetchTest, ARegistryUriWithoutAPinFailsTheRankWithExit2) {
  FakeScheduler fake([this](const FakeScheduler::Request& r) {
    if (r.target.starts_with("/v1/workers/w-9/heartbeat")) {
      std::lock_guard<std::mutex> lock(mu_);
      json a = Assignment();
      a["pins"] = json::array();
      json reply = {{"heartbeatWaitMs", 50}, {"assignments", json::array()}};
      if (!exited_) reply["assignments"].push_back(a);
      return FakeScheduler::Reply{200, reply.dump()};
    }
    return Handle(r);
  });
  AgentOptions o;
  o.scheduler_url = fake.url();
  o.name = "box-0";
  o.token = "t0k3n";
  o.detect_gpus = false;
  o.trainer_path = trainer_;
  o.work_dir = dir_ + "/work";
  Agent agent(o);
  auto done = std::async(std::launch::async, [&] { return agent.Run(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (exited_) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  agent.Stop();
  ASSERT_TRUE(done.get().ok());
  json exit;
  for (const auto& ev : events_) {
    if (ev["type"] == "exit") exit = ev;
  }
  ASSERT_FALSE(exit.is_null());
  EXPECT_EQ(exit["exitCode"], 2);
  EXPECT_NE(exit.value("message", "").find("did not pin"), std::string::npos) << exit.dump();
  EXPECT_FALSE(fs::exists(dir_ + "/seen-job.yaml"));  // the trainer never ran
}

}  // namespace
}  // namespace shoal
