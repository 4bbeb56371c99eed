// `shoal models`: its command line, and publish, show and ls against a scripted scheduler. The
// actions it shares with `shoal data` (pull, grant, audit, ...) are tested there
// (cli_data_transfer_test.cc); the same code runs them with the kind taken from the verb.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "cli/registry_transfer.h"
#include "common/registry/manifest.h"
#include "tests/unit/cli/fake_scheduler.h"

namespace shoal::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakeScheduler;
using Reply = FakeScheduler::Reply;
using Request = FakeScheduler::Request;

constexpr int64_t kNow = 1'750'000'000'000;
const json kGptArchitecture = {{"kind", "gpt"},       {"layers", 1}, {"vocabSize", 256},
                               {"contextLength", 32}, {"heads", 2},  {"embedDim", 32},
                               {"init", ""}};
const std::string kDigest = "0123456789abcdef" + std::string(48, 'e');

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- the command line ----

TEST(CliModelsArgsTest, GoodLines) {
  CliArgs a;
  ASSERT_TRUE(ParseArgs({"models", "publish", "tiny-mlp", "--name", "tiny", "--version", "v2",
                         "--license", "MIT", "--description", "a small one", "--private"},
                        &a)
                  .ok());
  EXPECT_EQ(a.verb, "models");
  EXPECT_EQ(a.sub, "publish");
  EXPECT_EQ(a.job_refs, (std::vector<std::string>{"tiny-mlp"}));
  EXPECT_EQ(a.name, "tiny");
  EXPECT_EQ(a.data_version, "v2");
  EXPECT_EQ(a.license, "MIT");
  EXPECT_EQ(a.description, "a small one");
  EXPECT_EQ(a.visibility, "private");
  ASSERT_TRUE(ParseArgs({"models", "publish", "7", "--name", "tiny"}, &a).ok());
  EXPECT_EQ(a.visibility, "public");  // the default
  EXPECT_EQ(a.job_refs, (std::vector<std::string>{"7"}));
  for (const std::vector<std::string>& line : std::vector<std::vector<std::string>>{
           {"models", "publish", "7", "--name", "tiny", "--public"},
           {"models", "ls"},
           {"models", "ls", "--account", "lab-b"},
           {"models", "show", "tiny"},
           {"models", "show", "lab-a/tiny@3"},
           {"models", "pull", "tiny@latest", "out"},
           {"models", "grant", "tiny", "lab-b", "--expires", "30d"},
           {"models", "revoke", "lab-a/tiny", "lab-b"},
           {"models", "access", "tiny"},
           {"models", "audit", "tiny"},
           {"models", "rm", "tiny@2"},
           {"models", "generate", "lab-a/tiny@sha256:" + kDigest},
       }) {
    EXPECT_TRUE(ParseArgs(line, &a).ok()) << line[1] << ": " << ParseArgs(line, &a).message();
  }
}

TEST(CliModelsArgsTest, GenerateTakesTheSamplingOptions) {
  CliArgs a;
  ASSERT_TRUE(ParseArgs({"models", "generate", "tiny@2", "--prompt", "", "--tokens", "40",
                         "--temperature", "0.8", "--top-k", "20", "--seed", "18446744073709551615",
                         "--gpt2-dir", "/opt/gpt2"},
                        &a)
                  .ok());
  EXPECT_EQ(a.sub, "generate");
  EXPECT_EQ(a.positional[1], "tiny@2");
  EXPECT_EQ(a.prompt, "");
  EXPECT_EQ(a.gen_tokens, 40);
  EXPECT_EQ(a.temperature, "0.8");
  EXPECT_EQ(a.top_k, 20);
  EXPECT_EQ(a.seed, 18446744073709551615u);
  EXPECT_EQ(a.gpt2_dir, "/opt/gpt2");
  CliArgs d;
  ASSERT_TRUE(ParseArgs({"models", "generate", "tiny"}, &d).ok());
  EXPECT_EQ(d.gen_tokens, 200);
  EXPECT_EQ(d.temperature, "1");
  EXPECT_EQ(d.top_k, 0);
  EXPECT_EQ(d.seed, 1u);
}

TEST(CliModelsArgsTest, BadLinesSayWhatIsWrongAndExit2) {
  struct Case {
    std::vector<std::string> line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"models"}, "needs publish JOB"},
      {{"models", "frob"}, "takes publish, ls, show"},
      {{"models", "push", "dir", "--name", "m"}, "'shoal models publish JOB --name NAME'"},
      {{"models", "publish", "7"}, "needs --name NAME"},
      {{"models", "publish", "--name", "m"}, "usage: shoal models publish JOB"},
      {{"models", "publish", "7", "--name", "lab-a/m"}, "a model NAME"},
      {{"models", "publish", "7", "--name", "Tiny"}, "a model NAME"},
      {{"models", "publish", "0", "--name", "m"}, "a job ID is a positive integer"},
      {{"models", "publish", "7", "--name", "m", "--public", "--private"}, "one of --public"},
      {{"models", "publish", "7", "--name", "m", "--version", "latest"}, "--version"},
      {{"models", "publish", "7", "--name", "m", "--format", "x"}, "--format"},
      {{"models", "publish", "7", "--name", "m", "--trusted-workers", "a"}, "--trusted-workers"},
      {{"models", "show", "m", "--license", "MIT"}, "go with 'shoal models publish'"},
      {{"models", "show", "m@"}, "bad version"},
      {{"models", "pull", "m"}, "usage: shoal models pull NAME[@V] DIR"},
      {{"models", "rm", "m"}, "needs a version"},
      {{"models", "grant", "m", "Bob"}, "'shoal models grant' needs an ACCOUNT name"},
      {{"models", "revoke", "m", "bob", "--expires", "1d"}, "--expires goes with 'shoal models"},
      {{"models", "access", "m", "--account", "x"}, "--account goes with 'shoal models ls'"},
      {{"models", "ls", "extra"}, "usage: shoal models ls"},
      {{"models", "generate"}, "usage: shoal models generate NAME[@V]"},
      {{"models", "generate", "m", "--tokens", "0"}, "--tokens needs an integer in 1..100000"},
      {{"models", "generate", "m", "--tokens", "100001"}, "--tokens needs"},
      {{"models", "generate", "m", "--tokens", "5x"}, "--tokens needs"},
      {{"models", "generate", "m", "--temperature", "-0.5"}, "--temperature needs a number >= 0"},
      {{"models", "generate", "m", "--temperature", "nan"}, "--temperature needs"},
      {{"models", "generate", "m", "--top-k", "-1"}, "--top-k needs an integer >= 0"},
      {{"models", "generate", "m", "--seed", "-1"}, "--seed needs an integer"},
      {{"models", "generate", "m", "--gpt2-dir", ""}, "--gpt2-dir needs a DIR"},
      {{"models", "generate", "m@"}, "bad version"},
      {{"models", "generate", "m", "--name", "x"}, "go with 'shoal models publish'"},
      {{"models", "show", "m", "--prompt", "hi"}, "go with 'shoal models generate'"},
      {{"models", "pull", "m", "d", "--seed", "3"}, "go with 'shoal models generate'"},
  };
  for (const Case& c : cases) {
    CliArgs out;
    Status st = ParseArgs(c.line, &out);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.line.back();
    EXPECT_TRUE(Contains(st.message(), c.message)) << st.message();
    std::ostringstream text, err;
    EXPECT_EQ(RunCli(c.line, text, err), kExitUsage) << c.line.back();
    EXPECT_TRUE(Contains(err.str(), "shoal models")) << err.str();
  }
}

TEST(CliModelsArgsTest, HelpAndCompletionKnowTheVerb) {
  EXPECT_TRUE(Contains(HelpText("models"), "model-card.json"));
  EXPECT_TRUE(Contains(HelpText("models"), "generate NAME[@V]"));
  EXPECT_TRUE(Contains(HelpText(""), "models"));
  bool found = false;
  for (const VerbFlags& v : CompletionTable()) {
    if (v.verb != "models") continue;
    found = true;
    EXPECT_NE(std::find(v.actions.begin(), v.actions.end(), "publish"), v.actions.end());
    EXPECT_NE(std::find(v.actions.begin(), v.actions.end(), "generate"), v.actions.end());
    EXPECT_NE(std::find(v.flags.begin(), v.flags.end(), "--top-k"), v.flags.end());
    EXPECT_EQ(std::find(v.actions.begin(), v.actions.end(), "push"), v.actions.end());
    EXPECT_NE(std::find(v.flags.begin(), v.flags.end(), "--license"), v.flags.end());
  }
  EXPECT_TRUE(found);
}

// ---- against a scripted scheduler ----

Reply Json(int status, const json& body) { return {status, body.dump()}; }

// The card of lab-a/tiny as the scheduler answers it, published from job 7.
json ModelCard(bool with_versions) {
  json card = {{"kind", "models"},
               {"account", "lab-a"},
               {"name", "tiny"},
               {"visibility", "public"},
               {"description", ""},
               {"license", "MIT"},
               {"format", "safetensors"},
               {"trustedWorkers", json::array()},
               {"created", kNow - 60'000},
               {"updated", kNow - 60'000},
               {"card",
                {{"architecture",
                  {{"kind", "mlp"},
                   {"layers", {784, 32, 10}},
                   {"activation", "relu"},
                   {"loss", "cross_entropy"}}},
                 {"datasets",
                  {{{"kind", "datasets"},
                    {"account", "lab-a"},
                    {"name", "fashion"},
                    {"version", "1"},
                    {"digest", std::string(64, 'a')},
                    {"bytes", 30'000'000}}}},
                 {"job", 7},
                 {"jobName", "tiny-mlp"},
                 {"spec", "apiVersion: shoal/v1\n"},
                 {"metrics", {{"testAccuracy", 0.81234}, {"testLoss", 0.5237}}},
                 {"checkpoint", {{"step", 469}, {"sha256", std::string(64, 'c')}}},
                 {"license", "MIT"},
                 {"publisher", "lab-a"},
                 {"created", kNow - 60'000}}}};
  const json version = {
      {"version", "1"}, {"digest", kDigest},    {"bytes", 104'000},        {"files", 2},
      {"chunks", 1},    {"publisher", "lab-a"}, {"created", kNow - 60'000}};
  if (with_versions) {
    card["bytes"] = 104'000;
    card["versions"] = json::array({version});
  } else {
    card["version"] = version;  // the reply to publish
  }
  return card;
}

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

class CliModelsTest : public ::testing::Test {
 protected:
  CliRun Run(std::vector<std::string> args, const std::string& cache_dir = "",
             const std::string& train_bin = "") {
    args.push_back("--scheduler");
    args.push_back(fake_.url());
    CliEnv env;
    env.cache_dir = cache_dir;
    env.train_bin = train_bin;
    env.token_env = "tok-lab-a";
    env.now_ms = [] { return kNow; };
    std::ostringstream out, err;
    int code = RunCli(args, out, err, env);
    return {code, out.str(), err.str()};
  }

  Reply Handle(const Request& r) {
    if (r.target == "/v1/whoami") return Json(200, {{"account", "lab-a"}, {"role", "user"}});
    if (r.target == "/v1/jobs?name=tiny-mlp") {
      return Json(200, {{"jobs", {{{"id", 7}, {"name", "tiny-mlp"}}}}});
    }
    if (r.target == "/v1/jobs/7/publish" && r.method == "POST") {
      publish_body_ = json::parse(r.body);
      return Json(201, ModelCard(false));
    }
    if (r.target == "/v1/jobs/8/publish") {
      return Json(
          409,
          {{"error",
            {{"code", "FailedPrecondition"},
             {"message", "job 8 is FAILED: a model is published from a job that succeeded"}}}});
    }
    if (r.target == "/v1/models/lab-a/tiny" && r.method == "GET") {
      return Json(200, ModelCard(true));
    }
    if (r.target == "/v1/models") return Json(200, {{"items", {ModelCard(true)}}});
    if (r.target == "/v1/models/lab-a/gpt-small" && r.method == "GET") {
      json card = ModelCard(true);
      card["name"] = "gpt-small";
      card["card"]["architecture"] = kGptArchitecture;
      card["versions"][0]["digest"] = gpt_digest_;
      return Json(200, card);
    }
    return Json(404, {{"error", {{"code", "NotFound"}, {"message", "no route " + r.target}}}});
  }

  json publish_body_;
  std::string gpt_digest_;  // of the version of lab-a/gpt-small
  FakeScheduler fake_{[this](const Request& r) { return Handle(r); }};
};

// What show prints of a model's card (and publish after its first line).
void ExpectModelCard(const std::string& out) {
  for (const char* line : {
           "name:           models/lab-a/tiny",
           "format:         safetensors",
           "architecture:   mlp 784-32-10, relu, cross_entropy loss",
           "trained on:     datasets/lab-a/fashion@1 (digest aaaaaaaaaaaa)",
           "job:            7 (tiny-mlp)",
           "test accuracy:  0.8123",
           "test loss:      0.5237",
           "checkpoint:     step 469, sha256:cccc",
           "license:        MIT",
           "publisher:      lab-a",
           "versions:",
       }) {
    EXPECT_TRUE(Contains(out, line)) << line << " in:\n" << out;
  }
  EXPECT_TRUE(Contains(out, "0123456789ab")) << out;  // the version's digest, short
}

TEST_F(CliModelsTest, PublishByJobNameSendsTheCardAndPrintsIt) {
  CliRun run = Run({"models", "publish", "tiny-mlp", "--name", "tiny", "--license", "MIT",
                    "--description", "small"});
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(publish_body_, json({{"name", "tiny"},
                                 {"visibility", "public"},
                                 {"license", "MIT"},
                                 {"description", "small"}}));
  EXPECT_TRUE(Contains(
      run.out, "published models/lab-a/tiny@1 from job 7 (0.1 MB, digest sha256:" + kDigest + ")"))
      << run.out;
  ExpectModelCard(run.out);

  CliRun as_json = Run(
      {"models", "publish", "7", "--name", "tiny", "--private", "--version", "v2", "-o", "json"});
  ASSERT_EQ(as_json.code, kExitOk) << as_json.err;
  EXPECT_EQ(publish_body_["visibility"], "private");
  EXPECT_EQ(publish_body_["version"], "v2");
  EXPECT_EQ(json::parse(as_json.out)["version"]["digest"], kDigest);
}

TEST_F(CliModelsTest, PublishingAnUnfinishedJobSaysWhy) {
  CliRun run = Run({"models", "publish", "8", "--name", "tiny"});
  EXPECT_EQ(run.code, kExitJobFailed);
  EXPECT_TRUE(Contains(run.err, "job 8 is FAILED: a model is published from a job that succeeded"))
      << run.err;
  CliRun missing = Run({"models", "publish", "nope", "--name", "tiny"});
  EXPECT_EQ(missing.code, kExitNotFound) << missing.err;
}

TEST_F(CliModelsTest, ShowAndListUseTheModelsRoutes) {
  CliRun show = Run({"models", "show", "tiny"});
  ASSERT_EQ(show.code, kExitOk) << show.err;
  ExpectModelCard(show.out);
  CliRun ls = Run({"models", "ls"});
  ASSERT_EQ(ls.code, kExitOk) << ls.err;
  EXPECT_TRUE(Contains(ls.out, "lab-a/tiny")) << ls.out;
  EXPECT_TRUE(Contains(ls.out, "public")) << ls.out;
  CliRun gone = Run({"models", "show", "lab-a/other"});
  EXPECT_EQ(gone.code, kExitNotFound);
  EXPECT_TRUE(Contains(gone.err, "models/lab-a/other not found")) << gone.err;
}

// generate refuses what it cannot sample from before pulling anything: the fake scheduler
// answers no version route, so a pull would fail with 404, not with these messages.
TEST_F(CliModelsTest, GenerateRefusesAModelThatIsNotAGptBeforePulling) {
  CliRun mlp = Run({"models", "generate", "tiny", "--prompt", "hi"}, "/tmp/shoal-cache-unused");
  EXPECT_EQ(mlp.code, kExitUsage);
  EXPECT_TRUE(Contains(mlp.err,
                       "models/lab-a/tiny@1 is an mlp model: 'shoal models generate' samples "
                       "text from gpt models only"))
      << mlp.err;
  EXPECT_TRUE(mlp.out.empty()) << mlp.out;
  CliRun no_version = Run({"models", "generate", "tiny@9"}, "/tmp/shoal-cache-unused");
  EXPECT_EQ(no_version.code, kExitNotFound);
  EXPECT_TRUE(Contains(no_version.err, "models/lab-a/tiny has no version 9")) << no_version.err;
  CliRun no_model = Run({"models", "generate", "other"}, "/tmp/shoal-cache-unused");
  EXPECT_EQ(no_model.code, kExitNotFound);
  CliRun no_cache = Run({"models", "generate", "tiny"}, "");
  EXPECT_EQ(no_cache.code, kExitUsage);
  EXPECT_TRUE(Contains(no_cache.err, "no cache directory")) << no_cache.err;
}

// A version already in the cache (found by its digest: the fake scheduler serves no version
// route, so a pull would fail) is handed to shoal-train with the card's architecture and the
// sampling flags; shoal-train's refusal and its absence exit 2.
TEST_F(CliModelsTest, GenerateRunsShoalTrainOnTheCachedVersion) {
  const fs::path root = fs::temp_directory_path() / ("shoal-generate-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "staging");
  std::ofstream(root / "staging" / "model.safetensors") << "weights";
  std::ofstream(root / "staging" / "model-card.json") << json{{"architecture", kGptArchitecture}};
  Result<Manifest> manifest = ScanPath((root / "staging").string());
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  gpt_digest_ = ManifestDigest(*manifest);
  const fs::path cache = root / "cache";
  const fs::path dir = cache / "models" / "lab-a" / "gpt-small" / gpt_digest_;
  fs::create_directories(dir.parent_path());
  fs::rename(root / "staging", dir);
  // A stand-in for shoal-train that prints its arguments, one a line.
  const fs::path echo = root / "echo-train";
  std::ofstream(echo) << "#!/bin/sh\nprintf '%s\\n' \"$@\"\n";
  fs::permissions(echo, fs::perms::owner_all);
  CliRun run = Run({"models", "generate", "gpt-small", "--prompt", "hi there", "--tokens", "5",
                    "--temperature", "0.7", "--top-k", "3", "--seed", "9"},
                   cache.string(), echo.string());
  ASSERT_EQ(run.code, kExitOk) << run.err;
  EXPECT_EQ(run.out, "--generate\n" + (dir / "model.safetensors").string() + "\n--model-json\n" +
                         kGptArchitecture.dump() +
                         "\n--prompt\nhi there\n--tokens\n5\n--temperature\n0.7\n--top-k\n3\n"
                         "--sample-seed\n9\n");
  CliRun as_json =
      Run({"models", "generate", "gpt-small", "-o", "json"}, cache.string(), echo.string());
  ASSERT_EQ(as_json.code, kExitOk) << as_json.err;
  EXPECT_EQ(json::parse(as_json.out)["digest"], gpt_digest_);
  EXPECT_TRUE(Contains(json::parse(as_json.out)["text"], "--sample-seed\n1")) << as_json.out;

  const fs::path refuse = root / "refusing-train";
  std::ofstream(refuse) << "#!/bin/sh\necho 'error: model.init: tensor wte.weight is missing' >&2\n"
                           "exit 2\n";
  fs::permissions(refuse, fs::perms::owner_all);
  CliRun refused = Run({"models", "generate", "gpt-small"}, cache.string(), refuse.string());
  EXPECT_EQ(refused.code, kExitUsage);
  EXPECT_TRUE(Contains(refused.err, "tensor wte.weight is missing")) << refused.err;
  EXPECT_TRUE(refused.out.empty()) << refused.out;

  CliRun missing =
      Run({"models", "generate", "gpt-small"}, cache.string(), (root / "no-such-train").string());
  EXPECT_EQ(missing.code, kExitUsage);
  EXPECT_TRUE(Contains(missing.err, "cannot run " + (root / "no-such-train").string()))
      << missing.err;
  EXPECT_TRUE(Contains(missing.err, "install it beside shoal or on PATH")) << missing.err;
  fs::remove_all(root);
}

}  // namespace
}  // namespace shoal::cli
