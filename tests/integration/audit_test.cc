// Audits end to end (docs/audits.md) with real processes on loopback: a scheduler with audits on,
// four workers of four accounts, one of them started with --test-cheat. The cheater is caught in
// the trainer's in-step audit, the scheduler judges the ranks' records itself, quarantines the
// cheater's worker with its evidence, and the job finishes on the others. Honest pools lower
// their workers' audit rates; a scheduler without allowTestFaults refuses a cheating worker.
#include <cctype>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// tiny-mlp on 3..4 ranks (117 steps per epoch on 4), with room to retry after a quarantine.
std::string AuditedJob() {
  std::string yaml = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  yaml = Replace(yaml, "workers: {min: 1, max: 1}", "workers: {min: 3, max: 4}");
  yaml = Replace(yaml, "maxRetries: 1", "maxRetries: 3");
  return yaml;
}

json WorkerNamed(Cluster& c, const std::string& name) {
  for (const auto& w : c.Workers()) {
    if (w.value("name", "") == name) return w;
  }
  return json::object();
}

void StartPool(Cluster& c, const std::string& cheater_flags) {
  const char* accounts[] = {"a", "b", "c", "d"};
  for (int i = 0; i < 4; ++i) {
    std::vector<std::string> flags = {"--account", accounts[i]};
    if (i == 2 && !cheater_flags.empty())
      flags.insert(flags.end(), {"--test-cheat", cheater_flags});
    c.StartWorker("w" + std::to_string(i), flags);
  }
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 4; }, 30s));
}

// Runs the audited job on the pool to success and checks nobody was accused; returns the clean
// audits counted over the workers, and the job's id in *id.
int RunHonestly(Cluster& c, int64_t* job_id) {
  const int64_t id = *job_id = c.Submit(AuditedJob());
  EXPECT_TRUE(c.WaitForState(id, "SUCCEEDED", 200s)) << c.Job(id).dump(2);
  EXPECT_EQ(c.Job(id)["attempts"].size(), 1u) << c.Job(id).dump(2);
  int clean = 0;
  for (const auto& w : c.Workers()) {
    EXPECT_EQ(w.value("state", ""), "alive") << w.dump(2);
    EXPECT_EQ(w.value("failedAudits", 0), 0) << w.dump(2);
    clean += w.value("cleanAudits", 0);
    if (w.value("cleanAudits", 0) > 0) {
      EXPECT_LT(w.value("auditRate", 1.0), 0.1) << w.dump(2);  // trusted more than a new worker
    }
  }
  return clean;
}

// The same job again on the pool as it is now (its cheaters quarantined): its test accuracy.
double HonestAccuracy(Cluster& c) {
  const int64_t id = c.Submit(AuditedJob());
  EXPECT_TRUE(c.WaitForState(id, "SUCCEEDED", 200s)) << c.Job(id).dump(2);
  return c.Job(id)["result"].value("testAccuracy", 0.0);
}

// Worker w2 cheats with `mode`: it is quarantined with the evidence, and the job finishes
// without it, within a point of test accuracy of an honest run of the same job. With
// `whole_pool` the job needs all four workers, so that a retry cannot start without w2 while its
// rank is still exiting, and a fifth worker joins once w2 is quarantined. Returns the job's
// attempts, and its events (as JSON text) in *events when given.
int ExpectCaughtAndFinished(const std::string& mode, bool whole_pool = false,
                            std::string* events = nullptr) {
  Cluster c;
  c.StartScheduler({"--audits", "true", "--allow-test-faults", "true"});
  StartPool(c, mode);
  std::string yaml = AuditedJob();
  if (whole_pool) yaml = Replace(yaml, "workers: {min: 3, max: 4}", "workers: {min: 4, max: 4}");
  const int64_t id = c.Submit(yaml);
  if (whole_pool) {
    if (!Cluster::WaitUntil(
            [&] { return WorkerNamed(c, "w2").value("state", "") == "quarantined"; }, 200s)) {
      ADD_FAILURE() << c.Job(id).dump(2);
      return 0;
    }
    c.StartWorker("w4", {"--account", "e"});
  }
  if (!c.WaitForState(id, "SUCCEEDED", 200s)) {
    ADD_FAILURE() << c.Job(id).dump(2);
    return 0;
  }
  const json cheater = WorkerNamed(c, "w2");
  EXPECT_EQ(cheater.value("state", ""), "quarantined") << cheater.dump(2);
  EXPECT_NE(cheater.value("quarantine", "").find("cheated"), std::string::npos) << cheater.dump(2);
  EXPECT_GE(cheater.value("failedAudits", 0), 1);
  const json job = c.Job(id);
  bool audit_event = false;
  for (const auto& e : job["events"]) audit_event |= e.value("type", "") == "audit";
  EXPECT_TRUE(audit_event) << job["events"].dump(2);
  // The last attempt ran without the quarantined worker, and still learned.
  for (const auto& w : job["placement"]) EXPECT_NE(w, cheater["id"]) << job.dump(2);
  EXPECT_GT(job["result"].value("testAccuracy", 0.0), 0.7) << job["result"].dump(2);
  for (const char* honest : {"w0", "w1", "w3"}) {
    EXPECT_EQ(WorkerNamed(c, honest).value("state", ""), "alive") << honest;
  }
  if (events != nullptr) *events = job["events"].dump();
  if (!whole_pool) {
    EXPECT_NEAR(job["result"].value("testAccuracy", 0.0), HonestAccuracy(c), 0.01)
        << job["result"].dump(2);
  }
  return job.value("attempts", 0);
}

TEST(AuditTest, ACheaterIsQuarantinedAndTheJobFinishesWithoutIt) {
  ExpectCaughtAndFinished("zero");
}

// Every other fault mode of the issue, end to end (the trainer-level test runs each on Gloo
// ranks in one process): stale gradients, noise, a scaled gradient, and cheating on half of the
// steps only.
class AuditFaultModeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AuditFaultModeTest, TheCheaterIsQuarantinedAndTheJobFinishesAsAnHonestRun) {
  ExpectCaughtAndFinished(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Modes, AuditFaultModeTest,
                         ::testing::Values("stale", "noise:0.001", "scale:1.5", "skip:0.5"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.find(':'));
                           name[0] = static_cast<char>(std::toupper(name[0]));
                           return name;
                         });

// Two workers of one account (c) send zeros and, auditing each other, report the partner's claim
// as their recomputation. Audits by ranks of the other accounts catch both: each is quarantined,
// and the job finishes on the three honest workers.
TEST(AuditTest, ColludersOfOneAccountAreCaughtByTheOthers) {
  Cluster c;
  c.StartScheduler({"--audits", "true", "--allow-test-faults", "true"});
  const std::vector<std::pair<std::string, std::vector<std::string>>> pool = {
      {"w0", {"--account", "a"}},
      {"w1", {"--account", "b"}},
      {"w2", {"--account", "c", "--test-cheat", "collude"}},
      {"w3", {"--account", "c", "--test-cheat", "collude"}},
      {"w4", {"--account", "d"}}};
  for (const auto& [name, flags] : pool) c.StartWorker(name, flags);
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 5; }, 30s));
  const int64_t id =
      c.Submit(Replace(AuditedJob(), "workers: {min: 3, max: 4}", "workers: {min: 3, max: 5}"));
  ASSERT_TRUE(c.WaitForState(id, "SUCCEEDED", 300s)) << c.Job(id).dump(2);
  for (const char* colluder : {"w2", "w3"}) {
    const json w = WorkerNamed(c, colluder);
    EXPECT_EQ(w.value("state", ""), "quarantined") << w.dump(2);
    EXPECT_NE(w.value("quarantine", "").find("cheated"), std::string::npos) << w.dump(2);
  }
  for (const char* honest : {"w0", "w1", "w4"}) {
    EXPECT_EQ(WorkerNamed(c, honest).value("state", ""), "alive") << honest;
  }
  const json job = c.Job(id);
  EXPECT_NEAR(job["result"].value("testAccuracy", 0.0), HonestAccuracy(c), 0.01)
      << job["result"].dump(2);
}

// w2 commits to its honest gradient, sends zeros and claims their sum-check projections: the
// norm screen and the hash see nothing, the projections in its audit records give it away
// (docs/audits.md "The sum check").
TEST(AuditTest, ARankThatSendsOtherThanItCommittedIsQuarantined) {
  ExpectCaughtAndFinished("split-sent");
}

// w2 sends zeros and claims its commitment's projections: the sum check stops the first attempt
// without naming anyone, the retry reduces transparently and names it.
TEST(AuditTest, AfterAFailedSumCheckTheRetryNamesTheRank) {
  // Stopped by the sum check, caught in the transparent retry, finished in a third attempt; the
  // job's timeline says why it went transparent. With its culprit named, the third attempt
  // all-reduces again.
  std::string events;
  EXPECT_GE(ExpectCaughtAndFinished("split", /*whole_pool=*/true, &events), 3);
  EXPECT_NE(events.find("is not the sum of the gradients"), std::string::npos) << events;
  EXPECT_NE(events.find("attempt 2 reduces transparently"), std::string::npos) << events;
  EXPECT_EQ(events.find("attempt 3 reduces transparently"), std::string::npos) << events;
}

// Rank 0 alone writes checkpoints (docs/audits.md "Checkpoints"). w2 registers first, so it has
// the lowest worker id and the gang's rank 0 (placement breaks ties by id); it trains honestly
// but writes forged weights into every checkpoint (`checkpoint` is the job's schedule). Ranks 1-3,
// of three other accounts, attest the state they hold: the scheduler sees the file hold another,
// quarantines w2 with the evidence, and the retry on a fifth worker resumes from no forged
// checkpoint, while its own ones are vouched for.
void ExpectForgerCaught(const std::string& checkpoint) {
  Cluster c;
  c.StartScheduler({"--audits", "true", "--allow-test-faults", "true"});
  c.StartWorker("w2", {"--account", "c", "--test-cheat", "forge"});
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 1; }, 30s));
  for (const auto& [name, account] :
       {std::pair{"w0", "a"}, std::pair{"w1", "b"}, std::pair{"w3", "d"}}) {
    c.StartWorker(name, {"--account", account});
  }
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 4; }, 30s));
  std::string yaml =
      Replace(AuditedJob(), "workers: {min: 3, max: 4}", "workers: {min: 4, max: 4}");
  yaml = Replace(yaml, "checkpoint: {everySeconds: 0, keep: 1}", checkpoint);
  const int64_t id = c.Submit(yaml);
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] { return WorkerNamed(c, "w2").value("state", "") == "quarantined"; }, 200s))
      << c.Job(id).dump(2);
  c.StartWorker("w4", {"--account", "e"});
  ASSERT_TRUE(c.WaitForState(id, "SUCCEEDED", 200s)) << c.Job(id).dump(2);
  const json forger = WorkerNamed(c, "w2");
  EXPECT_NE(forger.value("quarantine", "").find("forged a checkpoint"), std::string::npos)
      << forger.dump(2);
  EXPECT_NE(forger.value("quarantine", "").find("while ranks 1 (account "), std::string::npos)
      << forger.dump(2);
  EXPECT_EQ(c.Job(id)["attemptHistory"][0]["ranks"][0]["worker"], forger["id"]);
  for (const char* honest : {"w0", "w1", "w3", "w4"}) {
    EXPECT_EQ(WorkerNamed(c, honest).value("state", ""), "alive") << honest;
  }
  const json job = c.Job(id);
  EXPECT_GE(job.value("attempts", 0), 2) << job.dump(2);
  // Every checkpoint of attempt 1 was forged or never vouched for: the retry started over.
  EXPECT_EQ(job["result"].value("resumedStep", int64_t{-1}), 0) << job["result"].dump(2);
  EXPECT_GT(job["result"].value("testAccuracy", 0.0), 0.7) << job["result"].dump(2);
  bool event = false;
  for (const auto& e : job["events"]) {
    event |=
        e.value("message", "").find("the checkpoint rank 0 wrote at step") != std::string::npos;
  }
  EXPECT_TRUE(event) << job["events"].dump(2);
  // The retry's checkpoints (they replaced attempt 1's, step by step) are each vouched for, and a
  // later attempt would resume from them.
  const std::string target = "/v1/jobs/" + std::to_string(id) + "/checkpoints";
  auto all = c.client().DoJson("GET", target);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_FALSE((*all)["checkpoints"].empty()) << all->dump(2);
  for (const auto& ck : (*all)["checkpoints"]) {
    if (ck.value("attempt", 0) == 1) {
      EXPECT_NE(ck.value("trust", ""), "attested") << ck.dump();
    } else {
      EXPECT_EQ(ck.value("trust", ""), "attested") << ck.dump();
    }
  }
  auto resumable = c.client().DoJson(
      "GET", target + "?beforeAttempt=" + std::to_string(job.value("attempts", 0) + 1));
  ASSERT_TRUE(resumable.ok());
  EXPECT_EQ((*resumable)["checkpoints"].back().value("step", 0), job["result"].value("steps", -1))
      << resumable->dump(2);
}

TEST(AuditTest, ARankZeroThatForgesItsCheckpointsIsQuarantinedAndNotResumedFrom) {
  ExpectForgerCaught("checkpoint: {everySteps: 10, keep: 20}");
}

// Only the final checkpoint, forged: every rank's attestation and rank 0's upload reach the
// scheduler before the ranks' exits, so the attempt fails instead of succeeding on it.
TEST(AuditTest, AForgedFinalCheckpointFailsTheAttemptInsteadOfEndingTheJob) {
  ExpectForgerCaught("checkpoint: {everySeconds: 0, keep: 2}");
}

// With keep 1 and a checkpoint after every step, an audited job's store still holds, beside the
// newest, the checkpoint at each worker's last clean audit (docs/audits.md "Consequences"): what
// the rollback rule would resume from if that worker were convicted later. (Only the newest
// would remain if every worker's last clean audit were at the last step: about 1e-4 at these
// rates.)
TEST(AuditTest, AnAuditedJobKeepsTheCheckpointsItsRollbackRuleMayNeed) {
  Cluster c;
  c.StartScheduler({"--audits", "true"});
  StartPool(c, "");
  const int64_t id = c.Submit(
      Replace(Replace(AuditedJob(), "workers: {min: 3, max: 4}", "workers: {min: 4, max: 4}"),
              "checkpoint: {everySeconds: 0, keep: 1}",
              "checkpoint: {everySeconds: 0, everySteps: 1, keep: 1}"));
  ASSERT_TRUE(c.WaitForState(id, "SUCCEEDED", 200s)) << c.Job(id).dump(2);
  auto listed = c.client().DoJson("GET", "/v1/jobs/" + std::to_string(id) + "/checkpoints");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  const json& all = (*listed)["checkpoints"];
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back().value("step", 0), c.Job(id)["result"].value("steps", -1));
  // At most the newest and one per worker.
  EXPECT_GE(all.size(), 2u) << all.dump(2);
  EXPECT_LE(all.size(), 5u) << all.dump(2);
}

TEST(AuditTest, AnHonestPoolIsAuditedAndTrustedMore) {
  Cluster c;
  c.StartScheduler({"--audits", "true"});
  StartPool(c, "");
  // 117 steps x 4 ranks at 0.1 per step: about 47 audits, and at least a few.
  int64_t id = 0;
  EXPECT_GT(RunHonestly(c, &id), 5);
}

// Honest ranks on different CPU configurations (1 and 2 BLAS threads, whose gradients differ in
// the last bits): audits compare sketches within tolerance and nobody is accused. OpenBLAS's
// kernel (OPENBLAS_CORETYPE) is left as the machine sets it: some machines pin it because other
// kernels crash there, so the AVX2/AVX-512/AVX drift is measured by shoal-audit-bench instead.
TEST(AuditTest, MixedCpuConfigurationsRaiseNoAccusation) {
  Cluster c;
  c.StartScheduler({"--audits", "true", "--audit-initial-rate", "0.5"});
  const char* threads[] = {"1", "2", "1", "2"};
  const char* accounts[] = {"a", "b", "c", "d"};
  for (int i = 0; i < 4; ++i) {
    c.StartWorker("w" + std::to_string(i),
                  {"--account", accounts[i], "--threads-per-rank", threads[i]});
  }
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 4; }, 30s));
  int64_t id = 0;
  EXPECT_GT(RunHonestly(c, &id), 20);  // 117 steps x 4 ranks at 0.5, decaying: well over 20
  // The ranks did run on different configurations (so audits across them compared sketches).
  auto logs = c.client().DoJson("GET", "/v1/jobs/" + std::to_string(id) + "/logs?limit=10000");
  ASSERT_TRUE(logs.ok()) << logs.status().ToString();
  const std::string text = logs->dump();
  for (const char* config : {"/t1/b0", "/t2/b0"}) {
    EXPECT_NE(text.find(config), std::string::npos) << config << " not in the logs";
  }
}

TEST(AuditTest, ACheatingWorkerIsRefusedWithoutAllowTestFaults) {
  Cluster c;
  c.StartScheduler({"--audits", "true"});
  Process* w = c.StartWorker("cheater", {"--account", "a", "--test-cheat", "zero"});
  EXPECT_NE(w->Wait(30s), 0);
  EXPECT_TRUE(c.Workers().empty());
}

}  // namespace
}  // namespace shoal::testing
