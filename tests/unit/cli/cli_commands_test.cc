// The verbs against a scripted scheduler: what they request, what they print, how they exit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "common/sha256.h"
#include "tests/unit/cli/fake_scheduler.h"

namespace shoal::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::FakeScheduler;
using Reply = FakeScheduler::Reply;
using Request = FakeScheduler::Request;

constexpr int64_t kNow = 1'750'000'000'000;

fs::path RepoRoot() {
  for (fs::path start : {fs::current_path(), fs::path(__FILE__).parent_path()}) {
    for (fs::path dir = fs::absolute(start); !dir.empty(); dir = dir.parent_path()) {
      if (fs::is_directory(dir / "configs" / "jobs")) return dir;
      if (dir == dir.parent_path()) break;
    }
  }
  ADD_FAILURE() << "no configs/jobs above " << fs::current_path();
  return fs::current_path();
}

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliEnv TestEnv() {
  CliEnv env;
  env.token_env = "tok-alice";
  env.poll_interval = std::chrono::milliseconds(1);
  env.unreachable_grace = std::chrono::milliseconds(0);
  env.now_ms = [] { return kNow; };
  return env;
}

CliRun RunAt(const FakeScheduler& fake, std::vector<std::string> args, CliEnv env = TestEnv()) {
  args.push_back("--scheduler");
  args.push_back(fake.url());
  std::ostringstream out, err;
  int code = RunCli(args, out, err, env);
  return {code, out.str(), err.str()};
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Reply Json(int status, const json& body) { return {status, body.dump()}; }
Reply Error(int status, const std::string& code, const std::string& message) {
  return Json(status, {{"error", {{"code", code}, {"message", message}}}});
}

json Job(int64_t id, const std::string& name, const std::string& state) {
  return {{"id", id},
          {"name", name},
          {"project", "default"},
          {"owner", "alice"},
          {"state", state},
          {"reason", ""},
          {"submittedMs", kNow - 300'000},
          {"startedMs", kNow - 290'000},
          {"finishedMs", 0},
          {"workers", {{"min", 1}, {"max", 1}}},
          {"attempts", 1},
          {"progress", json::object()},
          {"result", json::object()}};
}

json SampleJobs() {
  json running = Job(3, "fashion-mlp", "RUNNING");
  running["worldSize"] = 2;
  running["workers"] = {{"min", 2}, {"max", 2}};
  running["placement"] = {"w-1", "w-2"};
  running["progress"] = {{"epoch", 2}, {"epochs", 5}, {"loss", 0.35123}};
  json pending = Job(4, "big", "PENDING");
  pending["reason"] = "Resources";
  pending["startedMs"] = 0;
  pending["workers"] = {{"min", 2}, {"max", 4}};
  json old = Job(1, "old-run", "SUCCEEDED");
  old["finishedMs"] = kNow - 2 * 3'600'000;
  json recent = Job(2, "tiny-mlp", "SUCCEEDED");
  recent["finishedMs"] = kNow - 60'000;
  recent["result"] = {{"testAccuracy", 0.8778}};
  return {{"jobs", {pending, running, old, recent}}};
}

TEST(ListTest, TableOfLiveAndRecentJobs) {
  FakeScheduler fake([](const Request&) { return Json(200, SampleJobs()); });
  CliRun r = RunAt(fake, {"list"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "ID   NAME          OWNER   STATE       REASON      WORKERS   AGE   PROGRESS\n"
            "2    tiny-mlp      alice   SUCCEEDED   -           1         5m    acc 0.878\n"
            "3    fashion-mlp   alice   RUNNING     -           2         5m    ep 2/5 loss 0.351\n"
            "4    big           alice   PENDING     Resources   2..4      5m    -\n");
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/v1/jobs");
  EXPECT_EQ(reqs[0].authorization, "Bearer tok-alice");
}

TEST(ListTest, AllShowsOldFinishedJobsAndWideAddsColumns) {
  FakeScheduler fake([](const Request&) { return Json(200, SampleJobs()); });
  CliRun r = RunAt(fake, {"list", "--all", "-o", "wide"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(Contains(r.out, "old-run"));
  std::string header = r.out.substr(0, r.out.find('\n'));
  for (const char* col : {"PROJECT", "ATTEMPTS", "NODES"}) EXPECT_TRUE(Contains(header, col));
  EXPECT_TRUE(Contains(r.out, "w-1,w-2"));
}

TEST(ListTest, StateFilterIsSentAndShowsOldJobs) {
  FakeScheduler fake([](const Request&) { return Json(200, SampleJobs()); });
  CliRun r = RunAt(fake, {"list", "--state", "succeeded"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake.requests().at(0).target, "/v1/jobs?state=SUCCEEDED");
  EXPECT_TRUE(Contains(r.out, "old-run"));
}

TEST(ListTest, JsonIsPrettyAndParses) {
  FakeScheduler fake([](const Request&) { return Json(200, SampleJobs()); });
  CliRun r = RunAt(fake, {"-o", "json", "list"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  json parsed = json::parse(r.out);
  EXPECT_EQ(parsed["jobs"].size(), 3u);  // the hour-old job is hidden here too
  EXPECT_TRUE(Contains(r.out, "{\n  \"jobs\": [\n    {\n"));
}

TEST(ListTest, EmptyListSaysSoOnStderr) {
  FakeScheduler fake([](const Request&) { return Json(200, {{"jobs", json::array()}}); });
  CliRun r = RunAt(fake, {"list"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(Contains(r.err, "No jobs found"));
}

TEST(ErrorsTest, MalformedRepliesExit3WithoutCrashing) {
  for (Reply reply :
       {Reply{200, "<html>proxy error</html>"}, Reply{200, "[1,2]"}, Json(200, {{"jobs", 5}}),
        Reply{500, "boom"}, Error(503, "Unavailable", "not ready")}) {
    FakeScheduler fake([&](const Request&) { return reply; });
    CliRun r = RunAt(fake, {"list"});
    EXPECT_EQ(r.code, kExitUnavailable) << reply.body << "\n" << r.err;
    EXPECT_TRUE(r.err.rfind("shoal: ", 0) == 0) << r.err;
  }
}

TEST(ErrorsTest, OddlyTypedFieldsAreTolerated) {
  json jobs = {{"jobs", {{{"id", "x"}, {"state", 7}, {"progress", "fast"}, {"workers", 3}}, 5}}};
  FakeScheduler fake([&](const Request& req) {
    if (req.target.rfind("/v1/jobs/", 0) == 0) return Json(200, jobs["jobs"][0]);
    if (req.target == "/v1/workers") return Json(200, {{"workers", {{{"gpus", "many"}}}}});
    return Json(200, jobs);
  });
  EXPECT_EQ(RunAt(fake, {"list", "-o", "wide"}).code, kExitOk);
  EXPECT_EQ(RunAt(fake, {"status", "1"}).code, kExitOk);
  EXPECT_EQ(RunAt(fake, {"workers", "-o", "wide"}).code, kExitOk);
}

TEST(AccountsTest, TableInGpuHoursAndJson) {
  json reply = {{"accounts",
                 {{{"name", "alice"},
                   {"contributedGpuSeconds", 36000.0},
                   {"usedGpuSeconds", 7200.0},
                   {"balanceGpuSeconds", 28800.0},
                   {"share", 0.5},
                   {"usage", 0.25},
                   {"fairShareFactor", 0.7071}},
                  {{"name", "bob"}, {"usedGpuSeconds", "lots"}}}},
                {"halfLifeSeconds", 604800.0},
                {"policy", "fairshare"}};
  FakeScheduler fake([&](const Request& req) {
    if (req.target == "/v1/accounts") return Json(200, reply);
    return Error(404, "NotFound", "no route");
  });
  CliRun r = RunAt(fake, {"accounts"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(
      Contains(r.out, "ACCOUNT   CONTRIBUTED   USED   BALANCE   SHARE   USAGE   FAIR-SHARE"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "alice     10.0          2.0    8.0       0.500   0.250   0.707"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "bob       0.0")) << r.out;  // an odd field is shown as 0
  EXPECT_TRUE(Contains(r.out, "\n(GPU-hours, half-life 7d, policy fairshare)\n")) << r.out;
  r = RunAt(fake, {"accounts", "-o", "json"});
  ASSERT_EQ(r.code, kExitOk);
  EXPECT_EQ(json::parse(r.out)["accounts"][0]["name"], "alice");
  FakeScheduler empty([](const Request&) { return Json(200, {{"accounts", json::array()}}); });
  r = RunAt(empty, {"accounts"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_TRUE(Contains(r.err, "No accounts yet"));
  FakeScheduler broken([](const Request&) { return Json(200, {{"accounts", 3}}); });
  EXPECT_EQ(RunAt(broken, {"accounts"}).code, kExitUnavailable);
}

// A pool whose workers have no GPUs keeps its ledger in slot-seconds (scheduler/ledger.h).
TEST(AccountsTest, AccountsTheSchedulerHidesAreCountedInTheFooter) {
  json reply = {{"accounts", {{{"name", "bob"}, {"contributedGpuSeconds", 3600.0}}}},
                {"halfLifeSeconds", 604800.0},
                {"policy", "fairshare"},
                {"otherAccounts", 4}};
  FakeScheduler fake([&](const Request& req) {
    if (req.target == "/v1/accounts") return Json(200, reply);
    return Error(404, "NotFound", "no route");
  });
  CliRun r = RunAt(fake, {"accounts"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(Contains(r.out, "policy fairshare; 4 other accounts not shown)\n")) << r.out;
}

TEST(AccountsTest, CpuOnlyPoolIsShownInSlotHours) {
  json reply = {{"accounts", {{{"name", "alice"}, {"contributedGpuSeconds", 5400.0}}}},
                {"halfLifeSeconds", 86400 * 3 + 3600 * 12},
                {"policy", "fairshare"}};
  json workers = {{"workers", {{{"id", "w-1"}, {"gpus", json::array()}, {"slots", 4}}}}};
  FakeScheduler fake([&](const Request& req) {
    if (req.target == "/v1/accounts") return Json(200, reply);
    return Json(200, workers);
  });
  CliRun r = RunAt(fake, {"accounts"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(Contains(r.out, "alice     1.5 ")) << r.out;
  EXPECT_TRUE(Contains(r.out,
                       "(slot-hours (a CPU-only pool: one worker slot counts as one GPU), "
                       "half-life 3d12h, policy fairshare)\n"))
      << r.out;
  workers["workers"][0]["gpus"] = {{{"name", "H200"}}};
  reply.erase("halfLifeSeconds");
  r = RunAt(fake, {"accounts"});
  EXPECT_TRUE(Contains(r.out, "\n(GPU-hours, policy fairshare)\n")) << r.out;
}

TEST(ErrorsTest, PermissionDeniedExits4) {
  FakeScheduler fake([](const Request&) { return Error(403, "PermissionDenied", "not yours"); });
  CliRun r = RunAt(fake, {"status", "3"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_EQ(r.err, "shoal: not yours\n");
}

json DetailedJob() {
  json job = Job(7, "tiny-mlp", "SUCCEEDED");
  job["finishedMs"] = kNow - 269'000;
  job["worldSize"] = 2;
  job["placement"] = {"w-1", "w-2"};
  job["attempts"] = 2;
  job["result"] = {{"testAccuracy", 0.8778}, {"trainLoss", 0.41}, {"rankChecksums", {"ab", "ab"}}};
  job["attemptHistory"] = {
      {{"number", 1},
       {"worldSize", 2},
       {"state", "failed"},
       {"reason", "RankFailed: rank 1 on worker w-2 exited with code 1"},
       {"startedMs", kNow - 290'000},
       {"endedMs", kNow - 285'000},
       {"ranks",
        {{{"rank", 0}, {"worker", "w-1"}, {"state", "exited"}, {"exitCode", 0}},
         {{"rank", 1},
          {"worker", "w-2"},
          {"state", "exited"},
          {"exitCode", 1},
          {"message", "out of memory"}}}}},
      {{"number", 2},
       {"worldSize", 2},
       {"state", "succeeded"},
       {"startedMs", kNow - 280'000},
       {"endedMs", kNow - 269'000},
       {"ranks",
        {{{"rank", 0}, {"worker", "w-1"}, {"state", "exited"}, {"exitCode", 0}},
         {{"rank", 1}, {"worker", "w-2"}, {"state", "exited"}, {"exitCode", 0}}}}}};
  return job;
}

TEST(StatusTest, DescribesTheJob) {
  FakeScheduler fake([](const Request&) { return Json(200, DetailedJob()); });
  CliRun r = RunAt(fake, {"status", "7"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake.requests().at(0).target, "/v1/jobs/7");
  for (const char* want :
       {"Name:               tiny-mlp\n", "State:              SUCCEEDED\n",
        "Workers:            1..1 requested, world size 2\n",
        "Placement:          rank 0 on w-1, rank 1 on w-2\n", "  Test accuracy:    0.8778\n",
        "  Param checksums:  rank 0: ab\n", "rank 1: ab  (identical on all ranks)\n",
        "  #1 failed, world size 2", "ran 5s", "reason: RankFailed: rank 1 on worker w-2",
        "RANK   WORKER   STATE    EXIT   MESSAGE\n",
        "1      w-2      exited   1      out of memory\n", "  #2 succeeded"}) {
    EXPECT_TRUE(Contains(r.out, want)) << want << "\n---\n" << r.out;
  }
}

TEST(StatusTest, ShowsTheRegistryBytesEachRankFetched) {
  json job = DetailedJob();
  // Attempt 2 read registry data: rank 0's worker had it all cached.
  job["attemptHistory"][1]["ranks"][0]["fetchedBytes"] = 0;
  job["attemptHistory"][1]["ranks"][1]["fetchedBytes"] = 3 * 1024 * 1024;
  FakeScheduler fake([&](const Request&) { return Json(200, job); });
  CliRun r = RunAt(fake, {"status", "7"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  for (const char* want : {"RANK   WORKER   STATE    EXIT   MESSAGE\n",  // attempt 1: no column
                           "RANK   WORKER   STATE    EXIT   FETCHED   MESSAGE\n",
                           "0      w-1      exited   0      0 B ",
                           "1      w-2      exited   0      3.0 MiB "}) {
    EXPECT_TRUE(Contains(r.out, want)) << want << "\n---\n" << r.out;
  }
}

TEST(StatusTest, NotFoundExits4) {
  FakeScheduler fake([](const Request&) { return Error(404, "NotFound", "job 9 not found"); });
  CliRun r = RunAt(fake, {"status", "9"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_EQ(r.err, "shoal: job 9 not found\n");
}

TEST(StatusTest, JsonPrintsTheServerReply) {
  FakeScheduler fake([](const Request&) { return Json(200, DetailedJob()); });
  CliRun r = RunAt(fake, {"status", "7", "-o", "json"});
  ASSERT_EQ(r.code, kExitOk);
  EXPECT_EQ(json::parse(r.out), DetailedJob());
  EXPECT_EQ(r.out, DetailedJob().dump(2) + "\n");
}

FakeScheduler::Handler CancelHandler() {
  return [](const Request& req) {
    if (req.method != "DELETE") return Error(405, "MethodNotAllowed", "no");
    if (req.target == "/v1/jobs/7") return Json(200, Job(7, "a", "CANCELLED"));
    if (req.target == "/v1/jobs/8") {
      return Error(409, "FailedPrecondition", "job 8 already finished (SUCCEEDED)");
    }
    return Error(404, "NotFound", "job not found");
  };
}

TEST(CancelTest, ExitCodes) {
  FakeScheduler fake(CancelHandler());
  CliRun ok = RunAt(fake, {"cancel", "7"});
  EXPECT_EQ(ok.code, kExitOk);
  EXPECT_EQ(ok.out, "cancelled job 7\n");
  CliRun finished = RunAt(fake, {"cancel", "7", "8"});
  EXPECT_EQ(finished.code, kExitJobFailed);
  EXPECT_EQ(finished.err, "shoal: job 8 already finished (SUCCEEDED)\n");
  CliRun missing = RunAt(fake, {"cancel", "8", "9", "7"});
  EXPECT_EQ(missing.code, kExitNotFound);  // not found wins over already finished
  EXPECT_TRUE(Contains(missing.err, "shoal: job 9 not found\n"));
  EXPECT_EQ(missing.out, "cancelled job 7\n");  // the others are still cancelled
}

fs::path TinySpec() { return RepoRoot() / "configs" / "jobs" / "tiny-mlp.yaml"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SubmitTest, PostsTheFileAndPrintsHints) {
  FakeScheduler fake([](const Request&) {
    return Json(201, {{"id", 7}, {"name", "tiny-mlp"}, {"state", "PENDING"}});
  });
  CliRun r = RunAt(fake, {"submit", TinySpec().string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/v1/jobs");
  EXPECT_EQ(reqs[0].content_type, "application/yaml");
  EXPECT_EQ(reqs[0].body, ReadFile(TinySpec()));
  EXPECT_EQ(reqs[0].authorization, "Bearer tok-alice");
  EXPECT_TRUE(r.out.rfind("submitted job 7 (tiny-mlp)\n", 0) == 0) << r.out;
  EXPECT_TRUE(Contains(r.out, "shoal status 7 --scheduler " + fake.url()));
  EXPECT_TRUE(Contains(r.out, "shoal logs 7 -f"));
}

TEST(SubmitTest, JsonPrintsTheReply) {
  FakeScheduler fake([](const Request&) {
    return Json(201, {{"id", 7}, {"name", "tiny-mlp"}, {"state", "PENDING"}});
  });
  CliRun r = RunAt(fake, {"submit", TinySpec().string(), "-o", "json"});
  ASSERT_EQ(r.code, kExitOk);
  EXPECT_EQ(json::parse(r.out)["id"], 7);
}

TEST(SubmitTest, ServerRejectionIsASpecError) {
  FakeScheduler fake([](const Request&) {
    return Error(400, "InvalidArgument", "spec.resources.gpuTypes: no such GPU");
  });
  CliRun r = RunAt(fake, {"submit", TinySpec().string()});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, "rejected")) << r.err;
  EXPECT_TRUE(Contains(r.err, "gpuTypes")) << r.err;
}

// The token comes from --token, else $SHOAL_TOKEN, else the token file; none sends no header.
TEST(TokenTest, FlagThenEnvironmentThenFileThenNone) {
  FakeScheduler fake([](const Request&) { return Json(200, {{"workers", json::array()}}); });
  const auto file =
      std::filesystem::temp_directory_path() / ("shoal-cli-token-" + std::to_string(::getpid()));
  std::ofstream(file) << "tok-from-file\n";
  CliEnv env = TestEnv();
  env.token_file = file.string();
  EXPECT_EQ(RunAt(fake, {"workers", "--token", "tok-flag"}, env).code, kExitOk);
  EXPECT_EQ(RunAt(fake, {"workers"}, env).code, kExitOk);
  env.token_env = "";
  EXPECT_EQ(RunAt(fake, {"workers"}, env).code, kExitOk);
  env.token_file = (file.string() + ".missing");
  EXPECT_EQ(RunAt(fake, {"workers"}, env).code, kExitOk);
  std::filesystem::remove(file);
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].authorization, "Bearer tok-flag");
  EXPECT_EQ(reqs[1].authorization, "Bearer tok-alice");
  EXPECT_EQ(reqs[2].authorization, "Bearer tok-from-file");  // the trailing newline is dropped
  EXPECT_EQ(reqs[3].authorization, "");
}

TEST(TokenTest, RefusedTokenExitsFourWithTheSchedulersReason) {
  FakeScheduler fake(
      [](const Request&) { return Error(401, "Unauthenticated", "token 3 has been revoked"); });
  CliRun r = RunAt(fake, {"list"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_TRUE(Contains(r.err, "token 3 has been revoked")) << r.err;
}

TEST(TokensTest, CreatePrintsOnlyTheTokenOnStdout) {
  FakeScheduler fake([](const Request& req) {
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.target, "/v1/tokens");
    json body = json::parse(req.body);
    EXPECT_EQ(body["account"], "lab-a");
    EXPECT_EQ(body["role"], "contributor");
    return Json(201,
                {{"id", 4}, {"account", "lab-a"}, {"role", "contributor"}, {"token", "shoal_abc"}});
  });
  CliRun r = RunAt(fake, {"tokens", "create", "lab-a", "--role", "contributor"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "shoal_abc\n");
  EXPECT_TRUE(Contains(r.err, "token 4")) << r.err;
}

TEST(TokensTest, ExpiresIsSentAndListingShowsExpiryAndLastUse) {
  FakeScheduler fake([](const Request& req) {
    if (req.method == "POST") {
      json body = json::parse(req.body);
      EXPECT_EQ(body["expiresIn"], "30d");
      return Json(201, {{"id", 5}, {"account", "lab-a"}, {"role", "user"}, {"token", "shoal_x"}});
    }
    return Json(200, {{"tokens",
                       {{{"id", 5},
                         {"account", "lab-a"},
                         {"role", "user"},
                         {"label", "laptop"},
                         {"createdMs", kNow - 3'600'000},
                         {"lastUsedMs", kNow - 120'000},
                         {"expiresMs", kNow + 2 * 86'400'000LL},
                         {"state", "valid"}},
                        {{"id", 6},
                         {"account", "lab-a"},
                         {"role", "user"},
                         {"label", "old"},
                         {"createdMs", kNow - 3'600'000},
                         {"expiresMs", kNow - 1000},
                         {"state", "expired"}}}}});
  });
  CliRun created = RunAt(fake, {"tokens", "create", "lab-a", "--role", "user", "--expires", "30d"});
  EXPECT_EQ(created.code, kExitOk) << created.err;
  CliRun listed = RunAt(fake, {"tokens"});
  EXPECT_EQ(listed.code, kExitOk) << listed.err;
  EXPECT_TRUE(Contains(listed.out, "LAST-USED")) << listed.out;
  EXPECT_TRUE(Contains(listed.out, "EXPIRES")) << listed.out;
  EXPECT_TRUE(Contains(listed.out, "2m")) << listed.out;       // last used 2 minutes ago
  EXPECT_TRUE(Contains(listed.out, "in 2d")) << listed.out;    // expires in 2 days
  EXPECT_TRUE(Contains(listed.out, "expired")) << listed.out;  // token 6
}

TEST(TokensTest, UsageErrorsExitTwoWithoutARequest) {
  FakeScheduler fake([](const Request&) { return Json(200, json::object()); });
  EXPECT_EQ(RunAt(fake, {"tokens", "create", "lab-a"}).code, kExitUsage);  // no --role
  EXPECT_EQ(RunAt(fake, {"tokens", "create", "lab-a", "--role", "root"}).code, kExitUsage);
  EXPECT_EQ(RunAt(fake, {"tokens", "revoke"}).code, kExitUsage);
  EXPECT_EQ(RunAt(fake, {"tokens", "revoke", "x"}).code, kExitUsage);
  EXPECT_EQ(RunAt(fake, {"tokens", "burn"}).code, kExitUsage);
  for (const char* bad : {"30x", "0s", "1.5d", "30 d"}) {
    CliRun r = RunAt(fake, {"tokens", "create", "lab-a", "--role", "user", "--expires", bad});
    EXPECT_EQ(r.code, kExitUsage) << bad;
    EXPECT_TRUE(Contains(r.err, "--expires")) << bad << ": " << r.err;
  }
  EXPECT_EQ(RunAt(fake, {"tokens", "list", "--expires", "1d"}).code, kExitUsage);
  EXPECT_EQ(RunAt(fake, {"accounts", "create"}).code, kExitUsage);
  EXPECT_EQ(RunAt(fake, {"accounts", "delete", "x"}).code, kExitUsage);
  EXPECT_TRUE(fake.requests().empty());
}

// Serves a submit, then a scripted series of job states on successive GETs (the last repeats).
FakeScheduler::Handler Lifecycle(std::vector<json> states) {
  auto polls = std::make_shared<std::atomic<size_t>>(0);
  return [states, polls](const Request& req) {
    if (req.method == "POST") return Json(201, {{"id", 7}, {"name", "tiny-mlp"}});
    size_t i = std::min(polls->fetch_add(1), states.size() - 1);
    return Json(200, states[i]);
  };
}

std::vector<json> SucceedingJob() {
  json pending = Job(7, "tiny-mlp", "PENDING");
  pending["reason"] = "Resources";
  json running = Job(7, "tiny-mlp", "RUNNING");
  running["progress"] = {{"epoch", 1},           {"epochs", 2},  {"step", 100},
                         {"stepsPerEpoch", 468}, {"loss", 0.61}, {"attempt", 1}};
  json epoch_end = running;
  epoch_end["progress"] = {{"epoch", 1},           {"epochs", 2},           {"step", 468},
                           {"stepsPerEpoch", 468}, {"loss", 0.5},           {"trainAccuracy", 0.82},
                           {"testAccuracy", 0.84}, {"samplesPerSec", 9000}, {"epochDone", true},
                           {"attempt", 1}};
  json done = epoch_end;
  done["state"] = "SUCCEEDED";
  done["finishedMs"] = kNow - 269'000;
  done["result"] = {{"testAccuracy", 0.8778}};
  return {pending, running, epoch_end, epoch_end, done};
}

CliEnv SteppingClockEnv() {
  // Each reading is 2 s later, so the non-TTY once-a-second limit never hides a change.
  CliEnv env = TestEnv();
  auto t = std::make_shared<int64_t>(kNow - 60'000);
  env.now_ms = [t] { return *t += 2000; };
  return env;
}

TEST(SubmitTest, FollowPrintsProgressEpochsAndTheResult) {
  FakeScheduler fake(Lifecycle(SucceedingJob()));
  CliRun r = RunAt(fake, {"submit", TinySpec().string(), "--follow"}, SteppingClockEnv());
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(r.out.rfind("submitted job 7 (tiny-mlp)\n", 0) == 0) << r.out;
  EXPECT_TRUE(Contains(r.out, "(Resources): waiting for 1 worker\n")) << r.out;
  EXPECT_TRUE(Contains(r.out, "| epoch 1/2 | step 100/468 | loss 0.6100\n")) << r.out;
  std::string epoch = "epoch 1/2: loss 0.5000 | train acc 0.8200 | test acc 0.8400";
  EXPECT_TRUE(Contains(r.out, epoch)) << r.out;
  EXPECT_EQ(r.out.find(epoch), r.out.rfind(epoch)) << "epoch line printed twice:\n" << r.out;
  EXPECT_TRUE(r.out.size() > 0 && Contains(r.out, "job 7 SUCCEEDED in 31s: test accuracy 0.8778\n"))
      << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos);   // not a TTY: no carriage returns
  EXPECT_FALSE(Contains(r.out, "shoal status 7"));  // no hints when following
}

TEST(SubmitTest, FollowOnATtyRewritesOneLine) {
  FakeScheduler fake(Lifecycle(SucceedingJob()));
  CliEnv env = SteppingClockEnv();
  env.stdout_is_tty = true;
  env.terminal_columns = 40;
  CliRun r = RunAt(fake, {"submit", TinySpec().string(), "-f"}, env);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(Contains(r.out, "\r")) << r.out;
  EXPECT_TRUE(Contains(r.out, "\x1b[K"));
  EXPECT_TRUE(Contains(r.out, "\r\x1b[Kjob 7 SUCCEEDED")) << r.out;  // the live line is cleared
  // Lines are cut to the terminal width so '\r' can rewrite them.
  std::string live = r.out.substr(r.out.find("\rPENDING") + 1);
  EXPECT_LE(live.find("\x1b[K"), 39u);
}

TEST(SubmitTest, WaitExits1WhenTheJobFails) {
  json failed = Job(7, "tiny-mlp", "FAILED");
  failed["reason"] = "RankFailed: rank 0 on worker w-1 exited with code 3";
  failed["finishedMs"] = kNow - 288'000;
  FakeScheduler fake(Lifecycle({Job(7, "tiny-mlp", "RUNNING"), failed}));
  CliRun r = RunAt(fake, {"submit", TinySpec().string(), "--wait"});
  EXPECT_EQ(r.code, kExitJobFailed);
  EXPECT_EQ(r.out,
            "submitted job 7 (tiny-mlp)\n"
            "job 7 FAILED after 12s: RankFailed: rank 0 on worker w-1 exited with code 3\n");
}

TEST(SubmitTest, WaitWithJsonPrintsOnlyTheFinishedJob) {
  json cancelled = Job(7, "tiny-mlp", "CANCELLED");
  FakeScheduler fake(Lifecycle({cancelled}));
  CliRun r = RunAt(fake, {"submit", TinySpec().string(), "--follow", "-o", "json"});
  EXPECT_EQ(r.code, kExitJobFailed);
  EXPECT_EQ(json::parse(r.out), cancelled);
}

TEST(SubmitTest, WaitGivesUpWhenTheJobDisappears) {
  FakeScheduler fake([](const Request& req) {
    if (req.method == "POST") return Json(201, {{"id", 7}});
    return Error(404, "NotFound", "gone");
  });
  CliRun r = RunAt(fake, {"submit", TinySpec().string(), "--wait"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_TRUE(Contains(r.err, "job 7 not found"));
}

json LogLine(int64_t seq, int attempt, int rank, const std::string& line) {
  return {{"seq", seq}, {"attempt", attempt}, {"rank", rank}, {"tsMs", kNow}, {"line", line}};
}

TEST(LogsTest, PagesUntilAReplyHasNoLines) {
  FakeScheduler fake([](const Request& req) {
    if (Contains(req.target, "after=0&")) {
      return Json(200, {{"lines", {LogLine(1, 1, 0, "hello"), LogLine(2, 1, 1, "world")}},
                        {"next", 2},
                        {"done", false}});
    }
    if (Contains(req.target, "after=2&")) {
      return Json(200, {{"lines", {LogLine(5, 2, 0, "again")}}, {"next", 5}, {"done", false}});
    }
    return Json(200, {{"lines", json::array()}, {"next", 5}, {"done", false}});
  });
  CliRun r = RunAt(fake, {"logs", "7"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "[rank 0] hello\n[rank 1] world\n--- attempt 2 ---\n[rank 0] again\n");
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].target, "/v1/jobs/7/logs?after=0&limit=1000");
  EXPECT_EQ(reqs[2].target, "/v1/jobs/7/logs?after=5&limit=1000");
}

TEST(LogsTest, RankFilterDropsThePrefix) {
  FakeScheduler fake([](const Request& req) {
    if (Contains(req.target, "after=0&")) {
      return Json(200, {{"lines", {LogLine(4, 1, 1, "only me")}}, {"next", 4}, {"done", true}});
    }
    return Json(200, {{"lines", json::array()}, {"next", 4}, {"done", true}});
  });
  CliRun r = RunAt(fake, {"logs", "7", "--rank", "1"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "only me\n");
  EXPECT_EQ(fake.requests().at(0).target, "/v1/jobs/7/logs?after=0&limit=1000&rank=1");
}

TEST(LogsTest, FollowLongPollsUntilDone) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  FakeScheduler fake([calls](const Request& req) {
    int n = calls->fetch_add(1);
    if (n == 0)
      return Json(200, {{"lines", {LogLine(1, 1, 0, "a")}}, {"next", 1}, {"done", false}});
    if (n == 1) return Json(200, {{"lines", json::array()}, {"next", 1}, {"done", false}});
    return Json(200, {{"lines", {LogLine(2, 1, 0, "b")}}, {"next", 2}, {"done", true}});
  });
  CliRun r = RunAt(fake, {"logs", "7", "-f"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "[rank 0] a\n[rank 0] b\n");
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].target, "/v1/jobs/7/logs?after=1&limit=1000&wait=10000");
}

TEST(LogsTest, JsonCollectsEveryLine) {
  FakeScheduler fake([](const Request& req) {
    if (Contains(req.target, "after=0&")) {
      return Json(
          200,
          {{"lines", {LogLine(1, 1, 0, "a"), LogLine(2, 1, 1, "b")}}, {"next", 2}, {"done", true}});
    }
    return Json(200, {{"lines", json::array()}, {"next", 2}, {"done", true}});
  });
  CliRun r = RunAt(fake, {"logs", "7", "-o", "json"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  json parsed = json::parse(r.out);
  EXPECT_EQ(parsed["lines"].size(), 2u);
  EXPECT_EQ(parsed["lines"][1]["line"], "b");
  EXPECT_EQ(parsed["done"], true);
}

TEST(LogsTest, StuckCursorIsAnError) {
  FakeScheduler fake([](const Request&) {
    return Json(200, {{"lines", {LogLine(1, 1, 0, "a")}}, {"next", 0}, {"done", false}});
  });
  EXPECT_EQ(RunAt(fake, {"logs", "7"}).code, kExitUnavailable);
}

TEST(LogsTest, UnknownJobExits4) {
  FakeScheduler fake([](const Request&) { return Error(404, "NotFound", "job 7 not found"); });
  CliRun r = RunAt(fake, {"logs", "7"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_EQ(r.err, "shoal: job 7 not found\n");
}

// A job that never ran has no log: `logs` says why on stderr and exits with the job's code.
TEST(LogsTest, EmptyLogOfAJobThatNeverStartedExplainsWhy) {
  json failed = Job(7, "big", "FAILED");
  failed["startedMs"] = 0;
  failed["reason"] = "Unschedulable";
  failed["reasonMessage"] = "needs 3 workers with a CPU slot; 2 alive fit";
  json job = failed;
  FakeScheduler fake([&job](const Request& req) {
    if (Contains(req.target, "/logs?")) {
      return Json(200, {{"lines", json::array()}, {"next", 0}, {"done", true}});
    }
    return Json(200, job);
  });
  CliRun r = RunAt(fake, {"logs", "7"});
  EXPECT_EQ(r.code, kExitJobFailed);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "shoal: no log lines: job 7 FAILED before it started (Unschedulable: needs 3 workers "
            "with a CPU slot; 2 alive fit)\n");
  EXPECT_EQ(fake.requests().back().target, "/v1/jobs/7");
  job = Job(7, "big", "CANCELLED");
  job["startedMs"] = 0;
  r = RunAt(fake, {"logs", "7", "-f"});
  EXPECT_EQ(r.code, kExitJobFailed);
  EXPECT_EQ(r.err, "shoal: no log lines: job 7 CANCELLED before it started\n");
  job = Job(7, "quiet", "SUCCEEDED");
  r = RunAt(fake, {"logs", "7"});
  EXPECT_EQ(r.code, kExitOk);
  job = Job(7, "big", "PENDING");
  job["reason"] = "Resources";
  r = RunAt(fake, {"logs", "7"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.err, "shoal: no log lines yet: job 7 is PENDING (Resources)\n");
}

TEST(ListTest, NoTestSetShowsADash) {
  json job = Job(2, "no-test", "SUCCEEDED");
  job["finishedMs"] = kNow - 60'000;
  job["result"] = {{"testAccuracy", -1.0}, {"trainLoss", 0.2}};
  FakeScheduler fake([&](const Request& req) {
    if (req.target == "/v1/jobs/2") return Json(200, job);
    return Json(200, {{"jobs", {job}}});
  });
  CliRun r = RunAt(fake, {"list"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(Contains(r.out, "   acc -\n")) << r.out;
  EXPECT_FALSE(Contains(r.out, "-1.0")) << r.out;
  r = RunAt(fake, {"status", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(Contains(r.out, "  Test accuracy:    -\n")) << r.out;
  EXPECT_FALSE(Contains(r.out, "-1.0")) << r.out;
}

// Jobs can be named instead of numbered wherever a command takes a job.
FakeScheduler::Handler NamedJobs() {
  return [](const Request& req) {
    json a = Job(2, "dup", "RUNNING"), b = Job(5, "dup", "PENDING"),
         c = Job(7, "tiny-mlp", "RUNNING");
    if (req.target == "/v1/jobs?name=tiny-mlp") return Json(200, {{"jobs", {c}}});
    if (req.target == "/v1/jobs?name=dup") return Json(200, {{"jobs", {b, a}}});
    if (req.target.rfind("/v1/jobs?name=", 0) == 0) return Json(200, {{"jobs", json::array()}});
    if (req.target == "/v1/jobs/7" && req.method == "DELETE")
      return Json(200, Job(7, "tiny-mlp", "CANCELLED"));
    if (req.target == "/v1/jobs/7") return Json(200, c);
    return Error(404, "NotFound", "no route " + req.target);
  };
}

TEST(JobNamesTest, ANameResolvesToItsOneJob) {
  FakeScheduler fake(NamedJobs());
  CliRun r = RunAt(fake, {"status", "tiny-mlp"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(Contains(r.out, "ID:                 7\n")) << r.out;
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/v1/jobs?name=tiny-mlp");
  EXPECT_EQ(reqs[1].target, "/v1/jobs/7");
  CliRun c = RunAt(fake, {"cancel", "tiny-mlp"});
  EXPECT_EQ(c.code, kExitOk) << c.err;
  EXPECT_EQ(c.out, "cancelled job 7\n");
}

TEST(JobNamesTest, SeveralMatchesExit2AndNoneExits4) {
  FakeScheduler fake(NamedJobs());
  CliRun dup = RunAt(fake, {"logs", "dup"});
  EXPECT_EQ(dup.code, kExitUsage);
  EXPECT_EQ(dup.err, "shoal: 2 jobs are named \"dup\" (2, 5); give an ID\n");
  CliRun none = RunAt(fake, {"status", "nothing"});
  EXPECT_EQ(none.code, kExitNotFound);
  EXPECT_EQ(none.err, "shoal: no job named \"nothing\"\n");
  EXPECT_EQ(RunAt(fake, {"cancel", "nothing"}).code, kExitNotFound);
  // Nothing is cancelled when one of the names does not resolve.
  for (const auto& req : fake.requests()) EXPECT_NE(req.method, "DELETE") << req.target;
}

FakeScheduler::Handler CancelAllHandler() {
  return [](const Request& req) {
    if (req.method == "DELETE") return Json(200, json::object());
    json p1 = Job(4, "a", "PENDING"), p2 = Job(9, "b", "PENDING"), r = Job(3, "c", "RUNNING");
    json done = Job(1, "d", "SUCCEEDED");
    if (req.target == "/v1/jobs?state=PENDING") return Json(200, {{"jobs", {p2, p1}}});
    return Json(200, {{"jobs", {p2, p1, r, done}}});
  };
}

std::vector<std::string> Deleted(const FakeScheduler& fake) {
  std::vector<std::string> out;
  for (const auto& req : fake.requests()) {
    if (req.method == "DELETE") out.push_back(req.target);
  }
  return out;
}

TEST(CancelTest, AllRefusesWithoutYesWhenStdinIsNotATerminal) {
  FakeScheduler fake(CancelAllHandler());
  CliRun r = RunAt(fake, {"cancel", "--all", "--state", "pending"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_TRUE(Contains(r.err, "would cancel 2 jobs; confirm with --yes")) << r.err;
  EXPECT_TRUE(Deleted(fake).empty());
  r = RunAt(fake, {"cancel", "--all", "--state", "pending", "--yes"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(Deleted(fake), (std::vector<std::string>{"/v1/jobs/4", "/v1/jobs/9"}));
  EXPECT_EQ(r.out, "cancelled job 4\ncancelled job 9\n");
}

TEST(CancelTest, AllIgnoresAJobThatFinishedMeanwhile) {
  FakeScheduler fake([](const Request& req) {
    if (req.method == "DELETE" && req.target == "/v1/jobs/9") {
      return Error(409, "FailedPrecondition", "job 9 already finished (SUCCEEDED)");
    }
    if (req.method == "DELETE") return Json(200, json::object());
    return Json(200, {{"jobs", {Job(4, "a", "PENDING"), Job(9, "b", "RUNNING")}}});
  });
  CliRun r = RunAt(fake, {"cancel", "--all", "-y"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "cancelled job 4\n");
  EXPECT_EQ(RunAt(fake, {"cancel", "4", "9"}).code, kExitJobFailed);  // named: it counts
}

TEST(CancelTest, AllAsksOnATerminal) {
  FakeScheduler fake(CancelAllHandler());
  CliEnv env = TestEnv();
  env.stdin_is_tty = true;
  std::istringstream no("n\n");
  env.in = &no;
  CliRun r = RunAt(fake, {"cancel", "--all"}, env);
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_TRUE(Contains(r.err, "cancel 3 jobs? [y/N] ")) << r.err;  // the finished one is left
  EXPECT_TRUE(Deleted(fake).empty());
  std::istringstream yes("y\n");
  env.in = &yes;
  r = RunAt(fake, {"cancel", "--all"}, env);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(Deleted(fake).size(), 3u);
}

TEST(ListTest, OwnerNameFiltersAndWideReasonAndEstimatedStart) {
  json pending = Job(4, "big", "PENDING");
  pending["reason"] = "Unschedulable";
  pending["reasonMessage"] = "needs 3 workers with a CPU slot; 2 alive fit";
  pending["estimatedStartMs"] = kNow + 2 * 3'600'000 + 10 * 60'000;
  FakeScheduler fake([&](const Request&) { return Json(200, {{"jobs", {pending}}}); });
  CliRun r = RunAt(fake, {"list", "--owner", "bob", "--name", "big", "-o", "wide"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake.requests().at(0).target, "/v1/jobs?owner=bob&name=big");
  EXPECT_TRUE(Contains(r.out, "Unschedulable: needs 3 workers with a CPU slot; 2 alive fit"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "in 2h10m")) << r.out;
  EXPECT_TRUE(Contains(r.out.substr(0, r.out.find('\n')), "START")) << r.out;
}

TEST(ListTest, WatchRedrawsUntilStopped) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  FakeScheduler fake([calls](const Request&) {
    json job = Job(3, calls->fetch_add(1) == 0 ? "first" : "second", "RUNNING");
    return Json(200, {{"jobs", {job}}});
  });
  CliEnv env = TestEnv();
  env.watch_rounds = 2;
  env.watch_interval = std::chrono::milliseconds(1);
  CliRun r = RunAt(fake, {"list", "--watch"}, env);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fake.requests().size(), 2u);
  EXPECT_TRUE(Contains(r.out, "first")) << r.out;
  EXPECT_TRUE(Contains(r.out, "\n\nEvery 0s: shoal list")) << r.out;  // a blank line between
  EXPECT_TRUE(Contains(r.out, "second")) << r.out;
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos);  // not a TTY: no screen clearing
  env.stdout_is_tty = true;
  r = RunAt(fake, {"list", "-w"}, env);
  EXPECT_EQ(r.out.rfind("\x1b[H\x1b[2JEvery 0s: shoal list", 0), 0u) << r.out;
}

TEST(StatusTest, ReasonMessageEstimatedStartAndEvents) {
  json job = Job(4, "big", "PENDING");
  job["startedMs"] = 0;
  job["reason"] = "Resources";
  job["reasonMessage"] = "needs 3 workers with a CPU slot; 2 alive fit";
  job["estimatedStartMs"] = kNow + 2 * 3'600'000 + 10 * 60'000;
  job["events"] = {{{"timeMs", kNow - 300'000}, {"type", "submitted"}, {"message", "by alice"}},
                   {{"timeMs", kNow - 120'000}, {"type", "preempted"}, {"message", "for job 9"}},
                   {{"timeMs", kNow - 5'000}, {"type", "restarting"}}};
  FakeScheduler fake([&](const Request&) { return Json(200, job); });
  CliRun r = RunAt(fake, {"status", "4"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_TRUE(Contains(
      r.out, "Reason:             Resources: needs 3 workers with a CPU slot; 2 alive fit\n"))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "Estimated start:    ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "(in 2h10m)\n")) << r.out;
  EXPECT_TRUE(Contains(r.out,
                       "Events:\n"
                       "  AGE   TYPE         MESSAGE\n"
                       "  5m    submitted    by alice\n"
                       "  2m    preempted    for job 9\n"
                       "  5s    restarting   -\n"))
      << r.out;
}

TEST(SubmitTest, WarningsGoToStderr) {
  FakeScheduler fake([](const Request&) {
    return Json(201, {{"id", 7},
                      {"name", "tiny-mlp"},
                      {"warnings", {"no registered worker set can ever hold this gang: 4 GPUs"}}});
  });
  CliRun r = RunAt(fake, {"submit", TinySpec().string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.err, "shoal: warning: no registered worker set can ever hold this gang: 4 GPUs\n");
  EXPECT_TRUE(r.out.rfind("submitted job 7 (tiny-mlp)\n", 0) == 0) << r.out;
}

TEST(LogsTest, TailThenFollowAndTimestamps) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  FakeScheduler fake([calls](const Request& req) {
    int n = calls->fetch_add(1);
    if (n == 0) {
      return Json(200, {{"lines", {LogLine(41, 1, 0, "x"), LogLine(42, 1, 0, "y")}},
                        {"next", 42},
                        {"done", false}});
    }
    return Json(200, {{"lines", {LogLine(43, 1, 0, "z")}}, {"next", 43}, {"done", true}});
  });
  CliRun r = RunAt(fake, {"logs", "7", "--tail", "2", "-f", "--timestamps"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/v1/jobs/7/logs?tail=2");
  EXPECT_EQ(reqs[1].target, "/v1/jobs/7/logs?after=42&limit=1000&wait=10000");
  // kNow is 2025-06-15T15:06:40Z.
  EXPECT_EQ(r.out,
            "2025-06-15T15:06:40.000Z [rank 0] x\n2025-06-15T15:06:40.000Z [rank 0] y\n"
            "2025-06-15T15:06:40.000Z [rank 0] z\n");
}

TEST(LogsTest, SinceSkipsOlderLines) {
  FakeScheduler fake([](const Request& req) {
    if (!Contains(req.target, "after=0&")) {
      return Json(200, {{"lines", json::array()}, {"next", 2}, {"done", true}});
    }
    json old = LogLine(1, 1, 0, "old");
    old["tsMs"] = kNow - 3 * 3'600'000;
    return Json(200, {{"lines", {old, LogLine(2, 1, 0, "new")}}, {"next", 2}, {"done", true}});
  });
  CliRun r = RunAt(fake, {"logs", "7", "--since", "2h"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "[rank 0] new\n");
}

json Checkpoints() {
  return {{"job", 7},
          {"checkpoints",
           {{{"step", 100},
             {"attempt", 1},
             {"bytes", 1536},
             {"sha256", Sha256Hex("ckpt-100")},
             {"createdMs", kNow - 600'000}},
            {{"step", 200},
             {"attempt", 2},
             {"bytes", 8},
             {"sha256", Sha256Hex("ckpt-200")},
             {"createdMs", kNow - 60'000}}}}};
}

FakeScheduler::Handler CheckpointHandler(bool corrupt = false) {
  return [corrupt](const Request& req) {
    if (req.target == "/v1/jobs/7/checkpoints") return Json(200, Checkpoints());
    if (req.target == "/v1/jobs/7/checkpoints/200")
      return Reply{200, corrupt ? "ckpt-2OO" : "ckpt-200"};
    if (req.target == "/v1/jobs/7/checkpoints/100") return Reply{200, "ckpt-100"};
    if (req.target == "/v1/jobs/7") return Json(200, Job(7, "tiny-mlp", "RUNNING"));
    return Error(404, "NotFound", "no route");
  };
}

TEST(CheckpointsTest, ListTable) {
  FakeScheduler fake(CheckpointHandler());
  CliRun r = RunAt(fake, {"checkpoints", "ls", "7"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const std::string sha100 = Sha256Hex("ckpt-100").substr(0, 12);
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "STEP   ATTEMPT   SIZE      SHA256         AGE");
  EXPECT_TRUE(Contains(r.out, "100    1         1.5 KiB   " + sha100 + "   10m\n")) << r.out;
  EXPECT_EQ(json::parse(RunAt(fake, {"checkpoints", "ls", "7", "-o", "json"}).out), Checkpoints());
}

TEST(CheckpointsTest, GetVerifiesAndWritesTheNewestOrTheGivenStep) {
  FakeScheduler fake(CheckpointHandler());
  const fs::path dir = fs::temp_directory_path() / ("shoal-cli-ckpt-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "model.safetensors";
  CliRun r = RunAt(fake, {"checkpoints", "get", "7", "-O", file.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(ReadFile(file), "ckpt-200");
  EXPECT_TRUE(Contains(r.out, "step 200")) << r.out;
  EXPECT_TRUE(Contains(r.out, "SHA-256 verified")) << r.out;
  r = RunAt(fake, {"checkpoints", "get", "7", "100", "-O", file.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(ReadFile(file), "ckpt-100");
  EXPECT_EQ(RunAt(fake, {"checkpoints", "get", "7", "150", "-O", file.string()}).code,
            kExitNotFound);
  // The default file name: JOBNAME-STEP.safetensors in the working directory.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir);
  r = RunAt(fake, {"checkpoints", "get", "7"});
  fs::current_path(cwd);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(ReadFile(dir / "tiny-mlp-200.safetensors"), "ckpt-200");
  // A corrupted download is not written.
  FakeScheduler corrupt(CheckpointHandler(/*corrupt=*/true));
  const fs::path bad = dir / "bad.safetensors";
  r = RunAt(corrupt, {"checkpoints", "get", "7", "-O", bad.string()});
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_TRUE(Contains(r.err, "arrived corrupted")) << r.err;
  EXPECT_FALSE(fs::exists(bad));
  fs::remove_all(dir);
}

TEST(WorkersTest, Table) {
  json gpu = {{"name", "H200"}, {"memoryMiB", 143771}, {"computeCapability", "9.0"}};
  json workers = {{"workers",
                   {{{"id", "w-1"},
                     {"name", "gpu-box"},
                     {"host", "10.0.0.5"},
                     {"slots", 1},
                     {"usedSlots", 1},
                     {"cpus", 16},
                     {"gpus", {gpu}},
                     {"memoryLentBytes", int64_t{15} << 30},
                     {"state", "alive"},
                     {"auditRate", 0.09},
                     {"cleanAudits", 1},
                     {"lastSeenMs", kNow - 2000},
                     {"ranks", {{{"job", 7}, {"attempt", 1}, {"rank", 0}, {"state", "running"}}}}},
                    {{"id", "w-2"},
                     {"name", "laptop"},
                     {"host", "10.0.0.6"},
                     {"slots", 2},
                     {"usedSlots", 0},
                     {"cpus", 8},
                     {"gpus", json::array()},
                     {"state", "quarantined"},
                     {"auditRate", 0.1},
                     {"cleanAudits", 3},
                     {"failedAudits", 1},
                     {"quarantine", "job 3 step 9: rank 1 cheated"},
                     {"lastSeenMs", kNow - 400'000},
                     {"ranks", json::array()}}}}};
  FakeScheduler fake([&](const Request&) { return Json(200, workers); });
  CliRun r = RunAt(fake, {"workers"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "ID    NAME      STATE         RATE   AUDITS   SLOTS   CPUS   GPUS             "
            "LAST-SEEN\n"
            "w-1   gpu-box   alive         0.09   1/0      1/1     16     1x H200 140GiB   2s\n"
            "w-2   laptop    quarantined   0.1    3/1      0/2     8      -                6m\n");
  CliRun wide = RunAt(fake, {"workers", "-o", "wide"});
  EXPECT_TRUE(Contains(wide.out, "HOST")) << wide.out;
  EXPECT_TRUE(Contains(wide.out, "7/r0")) << wide.out;
  EXPECT_TRUE(Contains(wide.out, "MEMORY")) << wide.out;
  EXPECT_TRUE(Contains(wide.out, "15.0 GiB")) << wide.out;
  CliRun js = RunAt(fake, {"workers", "-o", "json"});
  EXPECT_EQ(json::parse(js.out), workers);
}

TEST(CliTraceTest, PrintsOrWritesTheCsvAndSendsTheWindow) {
  const std::string csv =
      "job_id,submit_time_s,num_gpus,duration_s,vc,status,limit_s,queue_s,jct_s,attempts\n"
      "shoal-1,0,2,21,alice,SUCCEEDED,3600,10,40,2\n";
  // The replay hint names the pool's alive workers as --cluster: GPUs per node, or slots.
  const json workers = {
      {"workers",
       {{{"id", "w-1"}, {"state", "alive"}, {"slots", 1}, {"gpus", json::array()}},
        {{"id", "w-2"}, {"state", "alive"}, {"slots", 1}, {"gpus", json::array()}},
        {{"id", "w-3"}, {"state", "lost"}, {"slots", 4}, {"gpus", json::array()}},
        {{"id", "w-4"},
         {"state", "alive"},
         {"slots", 8},
         {"gpus", json::array({{{"name", "H100"}}, {{"name", "H100"}}})}}}}};
  FakeScheduler fake([&](const Request& req) -> Reply {
    if (req.target.rfind("/v1/trace", 0) == 0) return {200, csv, {{"Content-Type", "text/csv"}}};
    if (req.target == "/v1/workers") return Json(200, workers);
    return Error(404, "NotFound", "no route");
  });
  CliRun r = RunAt(fake, {"trace"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, csv);
  EXPECT_EQ(fake.requests().back().target, "/v1/trace");
  // --since 1h: jobs submitted since an hour before now.
  const std::string file = ::testing::TempDir() + "/shoal-trace-" + std::to_string(::getpid());
  r = RunAt(fake, {"trace", "--since", "1h", "-O", file});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto sent = fake.requests();
  EXPECT_EQ(sent[sent.size() - 2].target, "/v1/trace?since=" + std::to_string(kNow - 3'600'000));
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(Contains(r.err, "wrote " + file + ": 1 jobs")) << r.err;
  EXPECT_TRUE(Contains(r.err, "shoal-sim --trace " + file + " --cluster 1x2,2x1)")) << r.err;
  std::ifstream in(file);
  std::stringstream written;
  written << in.rdbuf();
  EXPECT_EQ(written.str(), csv);
  fs::remove(file);
  EXPECT_EQ(RunAt(fake, {"trace", "--since", "soon"}).code, kExitUsage);
  EXPECT_EQ(RunAt(fake, {"trace", "extra"}).code, kExitUsage);
  FakeScheduler refusing([](const Request&) {
    return Error(403, "PermissionDenied", "the pool's job trace needs a token with the role admin");
  });
  r = RunAt(refusing, {"trace"});
  EXPECT_EQ(r.code, kExitNotFound);
  EXPECT_TRUE(Contains(r.err, "role admin")) << r.err;
}

}  // namespace
}  // namespace shoal::cli
