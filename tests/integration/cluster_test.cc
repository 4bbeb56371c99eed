// End-to-end behaviour of scheduler + workers + trainers as real processes on loopback.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include <chrono>
#include <set>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The demo job, shortened to `epochs`.
std::string DemoJob(int epochs) {
  std::string yaml = Cluster::ReadRepoFile("configs/jobs/fashion-mnist-mlp.yaml");
  return Replace(yaml, "epochs: 5", "epochs: " + std::to_string(epochs));
}

// Whether the job's timeline has an event of `type` whose message `matches`.
bool HasEvent(const json& job, std::string_view type,
              const std::function<bool(std::string_view)>& matches) {
  for (const auto& e : job["events"]) {
    if (e.value("type", "") == type && matches(e.value("message", ""))) return true;
  }
  return false;
}

// Cancels the job; its trainers must be gone within 15 s.
void CancelAndAwaitTrainers(Cluster& c, int64_t id) {
  ASSERT_TRUE(c.client().Do("DELETE", "/v1/jobs/" + std::to_string(id)).ok());
  EXPECT_TRUE(Cluster::WaitUntil([&] { return c.TrainerPids().empty(); }, 15s));
}

int UsedSlots(const json& workers) {
  int used = 0;
  for (const auto& w : workers) used += w.value("usedSlots", 0);
  return used;
}

TEST(ClusterTest, DemoJobTrainsToAccuracyWithIdenticalParametersOnBothRanks) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  c.StartWorker("w1");
  c.StartWorker("w2");
  int64_t id = c.Submit(DemoJob(2));
  ASSERT_GT(id, 0);
  ASSERT_TRUE(c.WaitForState(id, "SUCCEEDED", 180s)) << c.Job(id).dump(2);
  json job = c.Job(id);
  EXPECT_GE(job["result"]["testAccuracy"].get<double>(), 0.80) << job.dump(2);
  json sums = job["result"]["rankChecksums"];
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[0], sums[1]) << "ranks ended with different parameters";
  EXPECT_EQ(sums[0].get<std::string>().size(), 16u);
  // The gang spanned both workers (one slot each) and both were freed afterwards.
  std::set<std::string> nodes(job["placement"].begin(), job["placement"].end());
  EXPECT_EQ(nodes.size(), 2u);
  EXPECT_TRUE(Cluster::WaitUntil([&] { return UsedSlots(c.Workers()) == 0; }, 10s));
  // Logs of both ranks reached the scheduler.
  auto logs = c.client().DoJson("GET", "/v1/jobs/" + std::to_string(id) + "/logs?limit=10000");
  ASSERT_TRUE(logs.ok());
  std::set<int> ranks;
  bool saw_epoch = false;
  for (const auto& l : (*logs)["lines"]) {
    ranks.insert(l["rank"].get<int>());
    saw_epoch |= l["line"].get<std::string>().find("epoch 2/2") != std::string::npos;
  }
  EXPECT_EQ(ranks, (std::set<int>{0, 1}));
  EXPECT_TRUE(saw_epoch);
  // Loss series were recorded.
  auto metrics = c.client().DoJson("GET", "/v1/jobs/" + std::to_string(id) + "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
  EXPECT_GE((*metrics)["points"].size(), 2u);
}

TEST(ClusterTest, SameSeedSameWorldSizeIsDeterministic) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  c.StartWorker("w1");
  c.StartWorker("w2");
  std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  tiny = Replace(tiny, "min: 1", "min: 2");
  tiny = Replace(tiny, "max: 1", "max: 2");
  int64_t a = c.Submit(tiny);
  ASSERT_TRUE(c.WaitForState(a, "SUCCEEDED", 120s)) << c.Job(a).dump(2);
  int64_t b = c.Submit(tiny);
  ASSERT_TRUE(c.WaitForState(b, "SUCCEEDED", 120s)) << c.Job(b).dump(2);
  EXPECT_EQ(c.Job(a)["result"]["paramChecksum"], c.Job(b)["result"]["paramChecksum"]);
  EXPECT_EQ(c.Job(a)["result"]["testAccuracy"], c.Job(b)["result"]["testAccuracy"]);
}

TEST(ClusterTest, CancelKillsTrainersAndFreesWorkers) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  c.StartWorker("w1");
  c.StartWorker("w2");
  int64_t id = c.Submit(DemoJob(50));
  ASSERT_TRUE(c.WaitForState(id, "RUNNING", 30s));
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.TrainerPids().size() == 2; }, 30s));
  ASSERT_TRUE(Cluster::WaitUntil([&] { return UsedSlots(c.Workers()) == 2; }, 10s));
  auto r = c.client().Do("DELETE", "/v1/jobs/" + std::to_string(id));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(c.Job(id)["state"], "CANCELLED");
  EXPECT_TRUE(Cluster::WaitUntil([&] { return c.TrainerPids().empty(); }, 15s))
      << "trainers still alive after cancel";
  EXPECT_TRUE(Cluster::WaitUntil([&] { return UsedSlots(c.Workers()) == 0; }, 15s));
  // Cancelling again is a state conflict, not a crash.
  r = c.client().Do("DELETE", "/v1/jobs/" + std::to_string(id));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 409);
  // The freed workers take the next job.
  int64_t next = c.Submit(DemoJob(50));
  EXPECT_TRUE(c.WaitForState(next, "RUNNING", 30s));
}

TEST(ClusterTest, KilledWorkerFailsOrRestartsItsJobWithAReason) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  c.StartWorker("w1");
  Process* w2 = c.StartWorker("w2");
  std::string yaml = Replace(DemoJob(50), "maxRetries: 3", "maxRetries: 0");
  int64_t id = c.Submit(yaml);
  ASSERT_TRUE(c.WaitForState(id, "RUNNING", 30s));
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.TrainerPids().size() == 2; }, 30s));
  w2->Signal(SIGKILL);
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] {
        std::string s = c.Job(id).value("state", "");
        return s == "FAILED" || s == "RESTARTING";
      },
      30s))
      << c.Job(id).dump(2);
  json job = c.Job(id);
  std::string reason = job["reason"];
  EXPECT_FALSE(reason.empty());
  // Either the scheduler saw the worker go silent, or the surviving rank's collective failed.
  EXPECT_TRUE(reason.find("WorkerLost") != std::string::npos ||
              reason.find("RankFailed") != std::string::npos)
      << reason;
  // The surviving rank is stopped too: no trainer outlives the attempt.
  EXPECT_TRUE(Cluster::WaitUntil([&] { return c.TrainerPids().empty(); }, 30s));
  // And the lost worker shows as lost.
  EXPECT_TRUE(Cluster::WaitUntil(
      [&] {
        for (const auto& w : c.Workers()) {
          if (w["name"] == "w2") return w["state"] == "lost";
        }
        return false;
      },
      15s));
}

TEST(ClusterTest, KilledWorkerWithRetriesRestartsOnTheRemainingWorkers) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  c.StartWorker("w1");
  Process* w2 = c.StartWorker("w2");
  c.StartWorker("w3");
  std::string yaml = DemoJob(1);
  int64_t id = c.Submit(yaml);
  ASSERT_TRUE(c.WaitForState(id, "RUNNING", 30s));
  json placement = c.Job(id)["placement"];
  ASSERT_EQ(placement.size(), 2u);
  // Kill a worker that holds a rank.
  Process* victim = w2;
  for (const auto& w : c.Workers()) {
    if (w["id"] == placement[0]) victim = c.worker(w["name"]);
  }
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.TrainerPids().size() == 2; }, 30s));
  victim->Signal(SIGKILL);
  ASSERT_TRUE(c.WaitForState(id, "SUCCEEDED", 180s)) << c.Job(id).dump(2);
  json job = c.Job(id);
  EXPECT_GE(job["attempts"].get<int>(), 2);
  EXPECT_FALSE(job["attemptHistory"][0]["reason"].get<std::string>().empty());
}

// A machine that vanishes (its agent and trainer SIGKILLed) mid-job, with a minute's
// workerTimeout: the surviving rank's all-reduce fails at once, and the next attempt goes ahead
// without the vanished rank once its worker has not polled for 3 s after the failure, instead of
// waiting the minute until the worker counts as lost.
TEST(ClusterTest, AVanishedMachineDoesNotHoldTheRetryForTheWholeWorkerTimeout) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler({"--worker-timeout", "60s", "--heartbeat-wait", "5s"});
  c.StartWorker("w1");
  c.StartWorker("w2");
  c.StartWorker("w3");
  const int64_t id = c.Submit(DemoJob(50));
  ASSERT_TRUE(c.WaitForState(id, "RUNNING", 30s));
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.TrainerPids().size() == 2; }, 30s));
  // Rank 0's machine vanishes: no final checkpoint, no exit report.
  const json placement = c.Job(id)["placement"];
  for (const auto& w : c.Workers()) {
    if (w["id"] == placement[0]) c.worker(w["name"])->Signal(SIGKILL);
  }
  const auto killed = std::chrono::steady_clock::now();
  auto started_again = [&] {
    return HasEvent(c.Job(id), "started",
                    [](std::string_view m) { return m.rfind("attempt 2:", 0) == 0; });
  };
  ASSERT_TRUE(Cluster::WaitUntil(started_again, 40s)) << c.Job(id).dump(2);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  EXPECT_LT(seconds, 30) << "the retry waited for the lost worker";
  const json job = c.Job(id);
  EXPECT_TRUE(HasEvent(job, "wentAhead", [](std::string_view) { return true; })) << job.dump(2);
  // The vanished worker is not lost yet: its rank keeps its slot until then.
  for (const auto& w : c.Workers()) {
    if (w["id"] == placement[0]) EXPECT_EQ(w["state"], "alive");
  }
  CancelAndAwaitTrainers(c, id);
}

// The same with a vanished machine of several slots: the retry is placed on it (it has free slots
// beside its silent rank), is placed again without it once it is known silent, and then goes
// ahead without the ranks it left behind, all well inside the minute's workerTimeout and without
// using up a retry.
TEST(ClusterTest, ARetryPlacedOnAVanishedMachineIsPlacedAgainWithoutIt) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler({"--worker-timeout", "60s", "--heartbeat-wait", "5s"});
  Process* big = c.StartWorker("big", {"--slots", "3"});
  // A new worker holds one rank of a job of another account: the job spans big and w2.
  c.StartWorker("w2");
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 2; }, 30s));
  const int64_t id = c.Submit(Replace(DemoJob(50), "maxRetries: 3", "maxRetries: 1"));
  ASSERT_TRUE(c.WaitForState(id, "RUNNING", 30s));
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.TrainerPids().size() == 2; }, 30s));
  c.StartWorker("w3");
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 3; }, 30s));
  big->Signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  auto trains_without_big = [&] {
    return HasEvent(c.Job(id), "started",
                    [](std::string_view m) { return m.rfind("attempt 1:", 0) != 0; });
  };
  ASSERT_TRUE(Cluster::WaitUntil(trains_without_big, 40s)) << c.Job(id).dump(2);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count(), 30);
  const json job = c.Job(id);
  bool replaced = false;
  for (const auto& a : job["attemptHistory"]) {
    replaced |= a.value("reason", "").rfind("Replaced: ", 0) == 0;
  }
  EXPECT_TRUE(replaced) << job.dump(2);
  EXPECT_EQ(job["state"], "RUNNING");
  std::string big_id;
  for (const auto& w : c.Workers()) {
    if (w["name"] == "big") big_id = w["id"];
  }
  for (const auto& w : job["placement"]) EXPECT_NE(w, big_id);
  CancelAndAwaitTrainers(c, id);
}

// Young/Daly with real processes: rank 0's worker reports each checkpoint's write time with its
// upload; when a worker is killed, the retry is told a Young/Daly interval (shown in the job's
// attemptHistory) and its trainers get it as --checkpoint-every-seconds.
TEST(ClusterTest, AfterAWorkerIsLostTheRetryCheckpointsAtTheYoungDalyInterval) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler({"--young-daly", "true", "--worker-mtbf-prior", "1d"});
  c.StartWorker("w1");
  c.StartWorker("w2");
  c.StartWorker("w3");
  const int64_t id = c.Submit(Replace(DemoJob(3), "everySeconds: 60", "everySeconds: 1"));
  ASSERT_TRUE(c.WaitForState(id, "RUNNING", 30s));
  // The first checkpoint's write time arrives with its upload.
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] { return c.Job(id)["attemptHistory"][0].value("checkpointWriteSeconds", 0.0) > 0; }, 60s))
      << c.Job(id).dump(2);
  EXPECT_EQ(c.Job(id)["attemptHistory"][0].value("checkpointEverySeconds", 0), 0);
  const json placement = c.Job(id)["placement"];
  for (const auto& w : c.Workers()) {
    if (w["id"] == placement[1]) c.worker(w["name"])->Signal(SIGKILL);
  }
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Job(id)["attemptHistory"].size() >= 2; }, 60s))
      << c.Job(id).dump(2);
  // Small checkpoints on workers with a day's MTBF: sqrt(2 x write time x 12 h) is about a
  // minute, never below the 60 s floor.
  const int every = c.Job(id)["attemptHistory"][1].value("checkpointEverySeconds", 0);
  EXPECT_GE(every, 60);
  EXPECT_LE(every, 86400);
  // Both trainers of the retry were started with it.
  auto told = [&] {
    int n = 0;
    for (pid_t pid : c.TrainerPids()) {
      std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
      std::string cmdline((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      n += cmdline.find("--checkpoint-every-seconds " + std::to_string(every)) != std::string::npos;
    }
    return n;
  };
  EXPECT_TRUE(Cluster::WaitUntil([&] { return told() == 2; }, 60s)) << told();
  ASSERT_TRUE(c.WaitForState(id, "SUCCEEDED", 240s)) << c.Job(id).dump(2);
}

TEST(ClusterTest, WorkerSurvivesTrainerCrashAndBadData) {
  if (!Cluster::HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  Cluster c;
  c.StartScheduler();
  Process* w1 = c.StartWorker("w1");
  std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  // A trainer killed by a signal: the attempt fails with that reason, the worker lives on.
  std::string longer = Replace(Replace(tiny, "epochs: 1", "epochs: 100"), "maxRetries: 1",
                               "maxRetries: 0");
  int64_t crash = c.Submit(longer);
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.TrainerPids().size() == 1; }, 30s));
  ::kill(c.TrainerPids()[0], SIGKILL);
  ASSERT_TRUE(c.WaitForState(crash, "FAILED", 30s)) << c.Job(crash).dump(2);
  EXPECT_NE(c.Job(crash)["reason"].get<std::string>().find("signal 9"), std::string::npos)
      << c.Job(crash)["reason"];
  // Bad data: exit code 2, not retried, the error message reaches the job.
  std::string bad = Replace(tiny, "/usr/share/datasets/fashion-mnist/train",
                            "/usr/share/datasets/nonexistent/train");
  int64_t bad_id = c.Submit(bad);
  ASSERT_TRUE(c.WaitForState(bad_id, "FAILED", 30s)) << c.Job(bad_id).dump(2);
  json job = c.Job(bad_id);
  EXPECT_EQ(job["attempts"], 1);
  EXPECT_NE(job["reason"].get<std::string>().find("code 2"), std::string::npos) << job["reason"];
  EXPECT_NE(job["reason"].get<std::string>().find("nonexistent"), std::string::npos)
      << job["reason"];
  // Data outside the worker's data roots (default /usr/share/datasets) is refused before any
  // trainer runs, as bad input: a stranger's job cannot make a contributor's machine read
  // /etc/passwd (and quote it back in an error message).
  int64_t snoop = c.Submit(Replace(Replace(tiny, "/usr/share/datasets/fashion-mnist/train",
                                           "/usr/share/datasets/../../../etc/passwd"),
                                   "format: idx", "format: csv"));
  ASSERT_TRUE(c.WaitForState(snoop, "FAILED", 30s)) << c.Job(snoop).dump(2);
  job = c.Job(snoop);
  EXPECT_EQ(job["attempts"], 1);
  EXPECT_NE(job["reason"].get<std::string>().find("outside this worker's data roots"),
            std::string::npos)
      << job["reason"];
  EXPECT_EQ(job["reason"].get<std::string>().find("root:"), std::string::npos) << job["reason"];
  // Still the same worker process, and it runs the next job to completion.
  EXPECT_TRUE(w1->running());
  int64_t ok = c.Submit(tiny);
  EXPECT_TRUE(c.WaitForState(ok, "SUCCEEDED", 120s)) << c.Job(ok).dump(2);
}

TEST(ClusterTest, GangWaitsForEnoughSlotsAndNeverStartsPartially) {
  Cluster c;
  c.StartScheduler();
  c.StartWorker("w1");
  std::string yaml = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  yaml = Replace(yaml, "min: 1", "min: 2");
  yaml = Replace(yaml, "max: 1", "max: 2");
  int64_t id = c.Submit(yaml);
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 1; }, 10s));
  std::this_thread::sleep_for(1500ms);
  json job = c.Job(id);
  EXPECT_EQ(job["state"], "PENDING");
  // One 1-slot worker can never hold a 2-rank gang: Constraint, not a silent wait.
  EXPECT_EQ(job["reason"], "Constraint");
  EXPECT_TRUE(c.TrainerPids().empty());
  EXPECT_EQ(UsedSlots(c.Workers()), 0);
}

// The ledger end to end: the account of a worker's contributor token earns credit for the ranks it
// ran once their attempt completed, the account of a job's user token pays while it runs, and GET
// /v1/accounts (what `shoal accounts` shows) reports both.
TEST(ClusterTest, AccountsShowContributionAndUse) {
  Cluster c;
  c.StartScheduler({"--policy", "fairshare+backfill"});
  c.StartWorker("w1", {"--account", "lab-a"});
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 1; }, 10s));
  const std::string user = c.CreateToken("lab-b", "user");
  auto r = c.client(user).Do("POST", "/v1/jobs", Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml"),
                             "application/yaml");
  ASSERT_TRUE(r.ok() && r->status == 201) << (r.ok() ? r->body : r.status().ToString());
  const int64_t id = json::parse(r->body)["id"].get<int64_t>();
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Job(id)["state"] == "SUCCEEDED"; }, 60s))
      << c.Job(id).dump();
  std::this_thread::sleep_for(1500ms);  // a cycle or two after the job ended
  auto reply = c.client().DoJson("GET", "/v1/accounts");
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ((*reply)["policy"], "fairshare+backfill");
  std::map<std::string, json> by;
  for (const auto& a : (*reply)["accounts"]) by[a["name"].get<std::string>()] = a;
  ASSERT_TRUE(by.count("lab-a")) << reply->dump();
  ASSERT_TRUE(by.count("lab-b")) << reply->dump();
  // 1 slot for the job's run, credited when it succeeded (idle time earns nothing).
  EXPECT_GT(by["lab-a"]["contributedGpuSeconds"].get<double>(), 0.5);
  EXPECT_EQ(by["lab-a"]["usedGpuSeconds"].get<double>(), 0.0);
  EXPECT_GT(by["lab-b"]["usedGpuSeconds"].get<double>(), 0.0);
  EXPECT_EQ(by["lab-b"]["contributedGpuSeconds"].get<double>(), 0.0);
  EXPECT_GT(by["lab-a"]["fairShareFactor"].get<double>(),
            by["lab-b"]["fairShareFactor"].get<double>());
}

TEST(ClusterTest, AcknowledgedJobsSurviveKillNineOfTheScheduler) {
  Cluster c;
  c.StartScheduler();
  std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  std::vector<int64_t> ids;
  for (int i = 0; i < 25; ++i) ids.push_back(c.Submit(tiny));
  c.KillScheduler(SIGKILL);
  c.StartScheduler();
  auto list = c.client().DoJson("GET", "/v1/jobs");
  ASSERT_TRUE(list.ok());
  std::multiset<int64_t> seen;
  for (const auto& j : (*list)["jobs"]) {
    seen.insert(j["id"].get<int64_t>());
    EXPECT_EQ(j["state"], "PENDING");
  }
  EXPECT_EQ(seen, std::multiset<int64_t>(ids.begin(), ids.end()));
  // New ids continue after the old ones: none is reused.
  int64_t next = c.Submit(tiny);
  EXPECT_GT(next, ids.back());
}

TEST(ClusterTest, BadRequestsGetClearErrorsAndTheDaemonSurvives) {
  Cluster c;
  c.StartScheduler();
  HttpClient http = c.client();
  struct Case {
    std::string method, target, body;
    int status;
  };
  std::vector<Case> cases = {
      {"POST", "/v1/jobs", "not: [valid", 400},
      {"POST", "/v1/jobs", "", 400},
      {"POST", "/v1/jobs", std::string(2 << 20, 'x'), 413},
      {"POST", "/v1/workers/register", "{\"name\": 5}", 400},
      {"POST", "/v1/workers/register", "[1,2]", 400},
      {"POST", "/v1/workers/register", "{\"name\":\"a\",\"slots\":-3}", 400},
      {"POST", "/v1/workers/w-99/heartbeat", "{}", 404},
      {"POST", "/v1/workers/w-99/events", "{\"events\": 7}", 404},
      {"POST", "/v1/workers/w-99/events", "{}", 404},
      {"GET", "/v1/jobs/abc", "", 400},
      {"GET", "/v1/jobs/999", "", 404},
      {"GET", "/v1/jobs?state=bogus", "", 400},
      {"DELETE", "/v1/jobs/999", "", 404},
      {"GET", "/v1/nothing", "", 404},
      {"PUT", "/v1/jobs", "", 405},
  };
  for (const auto& tc : cases) {
    auto r = http.Do(tc.method, tc.target, tc.body);
    ASSERT_TRUE(r.ok()) << tc.method << " " << tc.target << ": " << r.status().ToString();
    EXPECT_EQ(r->status, tc.status) << tc.method << " " << tc.target << " -> " << r->body;
    auto body = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r->body;
    EXPECT_TRUE(body["error"].contains("message"));
  }
  // The spec validator's field path reaches the client.
  auto r = http.Do("POST", "/v1/jobs",
                   Replace(Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml"), "min: 1",
                           "min: -1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["field"], "spec.workers.min");
  // Nothing was stored and the scheduler still answers.
  auto list = http.DoJson("GET", "/v1/jobs");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE((*list)["jobs"].empty());
}

}  // namespace
}  // namespace shoal::testing
