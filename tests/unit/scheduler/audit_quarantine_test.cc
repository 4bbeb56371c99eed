// Quarantine and adaptive trust in the Scheduler, its store and its API (docs/audits.md
// "Consequences", "Adaptive trust"): a quarantined worker gets no work, stays quarantined when it
// heartbeats or re-registers and across restarts, and only an admin clears it.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "scheduler/metrics.h"
#include "tests/testing/api_harness.h"
#include "tests/testing/test_util.h"
#include "tests/unit/scheduler/scheduler_fixture.h"

namespace shoal {
namespace {

using nlohmann::json;

std::string Spec(int ranks) {
  return "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: m}\nspec:\n"
         "  workers: {min: " +
         std::to_string(ranks) + ", max: " + std::to_string(ranks) +
         "}\n  resources: {backend: cpu, gpusPerWorker: 0}\n"
         "  model: {layers: [4, 2]}\n  data: {train: /usr/share/datasets/x}\n"
         "  limits: {maxRetries: 3}\n";
}

class QuarantineTest : public ::shoal::testing::SchedulerFixture {
 protected:
  std::string AddWorker(const std::string& name, const std::string& instance = "") {
    WorkerRegistration reg{name, "host", 1, 2, {}};
    reg.instance = instance;
    auto w = sched_->RegisterWorker(reg);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? (*w)->id : "";
  }
};

TEST_F(QuarantineTest, AQuarantinedWorkerLosesItsRanksAndGetsNoWork) {
  const std::string a = AddWorker("a");
  auto job = sched_->Submit(Spec(1), "u");
  ASSERT_TRUE(job.ok());
  const Job* j = *job;
  ASSERT_EQ(j->state, JobState::kRunning);
  ASSERT_EQ(j->current_attempt()->ranks[0].worker_id, a);
  ASSERT_TRUE(sched_->QuarantineWorker(a, "job 1 step 40: rank 0 cheated").ok());
  const Worker* w = sched_->FindWorker(a);
  EXPECT_EQ(w->state, WorkerState::kQuarantined);
  EXPECT_EQ(w->quarantine, "job 1 step 40: rank 0 cheated");
  EXPECT_EQ(w->quarantined_ms, now_);
  // Its rank is gone at once (it need not confirm), and the job waits for another worker.
  EXPECT_EQ(j->attempts[0].ranks[0].state, RankState::kExited);
  EXPECT_EQ(j->attempts[0].ranks[0].message, "worker quarantined");
  EXPECT_NE(j->attempts[0].reason.find("WorkerQuarantined"), std::string::npos);
  sched_->RunCycle();
  EXPECT_NE(j->state, JobState::kRunning);
  EXPECT_TRUE(sched_->Assignments(a).empty());
  // Heartbeats do not bring it back, nor does time.
  ASSERT_TRUE(sched_->Heartbeat(a, {}).ok());
  now_ += 60'000;
  sched_->RunCycle();
  ASSERT_TRUE(sched_->Heartbeat(a, {}).ok());
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindWorker(a)->state, WorkerState::kQuarantined);
  EXPECT_TRUE(sched_->Assignments(a).empty());
  EXPECT_NE(j->state, JobState::kRunning);
  // Another worker takes the job.
  const std::string b = AddWorker("b");
  sched_->RunCycle();
  ASSERT_EQ(j->state, JobState::kRunning);
  EXPECT_EQ(j->current_attempt()->ranks[0].worker_id, b);
}

TEST_F(QuarantineTest, ReRegisteringAndRestartingKeepTheQuarantine) {
  const std::string a = AddWorker("a", "i1");
  sched_->RecordAuditOutcome(a, true);
  ASSERT_TRUE(sched_->QuarantineWorker(a, "evidence").ok());
  EXPECT_EQ(AddWorker("a", "i2"), a);
  EXPECT_EQ(sched_->FindWorker(a)->state, WorkerState::kQuarantined);
  Reopen();
  const Worker* w = sched_->FindWorker(a);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->state, WorkerState::kQuarantined);
  EXPECT_EQ(w->quarantine, "evidence");
  EXPECT_EQ(w->clean_audits, 1);
  EXPECT_DOUBLE_EQ(w->audit_rate, 0.1 * 0.9);
  auto job = sched_->Submit(Spec(1), "u");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ((*job)->state, JobState::kPending);
  EXPECT_NE(sched_->GangWarning(**job), "");  // a quarantined worker is no capacity
}

TEST_F(QuarantineTest, ClearingBringsItBackAtTheInitialRate) {
  const std::string a = AddWorker("a");
  EXPECT_EQ(sched_->ClearQuarantine(a).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sched_->ClearQuarantine("w-99").code(), StatusCode::kNotFound);
  EXPECT_EQ(sched_->QuarantineWorker("w-99", "x").code(), StatusCode::kNotFound);
  for (int i = 0; i < 5; ++i) sched_->RecordAuditOutcome(a, true);
  sched_->RecordAuditOutcome(a, false);
  sched_->RecordAuditOutcome(a, true);
  const Worker* w = sched_->FindWorker(a);
  EXPECT_EQ(w->clean_audits, 6);
  EXPECT_EQ(w->failed_audits, 1);
  EXPECT_DOUBLE_EQ(w->audit_rate, 0.1 * 0.9);
  ASSERT_TRUE(sched_->QuarantineWorker(a, "evidence").ok());
  ASSERT_TRUE(sched_->ClearQuarantine(a).ok());
  EXPECT_EQ(w->state, WorkerState::kAlive);
  EXPECT_DOUBLE_EQ(sched_->AuditRate(*w), 0.1);
  auto job = sched_->Submit(Spec(1), "u");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ((*job)->state, JobState::kRunning);
  // Cleared after it went silent: lost, until it heartbeats.
  ASSERT_TRUE(sched_->QuarantineWorker(a, "again").ok());
  now_ += 60'000;
  ASSERT_TRUE(sched_->ClearQuarantine(a).ok());
  EXPECT_EQ(w->state, WorkerState::kLost);
}

TEST_F(QuarantineTest, MetricsCountQuarantinedWorkersAndShowRates) {
  const std::string a = AddWorker("a");
  AddWorker("b");
  ASSERT_TRUE(sched_->QuarantineWorker(a, "e").ok());
  const std::string pooled = RenderMetrics(*sched_, false);
  EXPECT_NE(pooled.find("shoal_workers_quarantined 1\n"), std::string::npos) << pooled;
  EXPECT_NE(pooled.find("shoal_workers{state=\"quarantined\"} 1\n"), std::string::npos);
  EXPECT_EQ(pooled.find("shoal_worker_audit_rate"), std::string::npos);  // ids only with names
  const std::string text = RenderMetrics(*sched_, true);
  EXPECT_NE(text.find("shoal_worker_audit_rate{worker=\"w-2\"} 0.1\n"), std::string::npos) << text;
}

TEST_F(QuarantineTest, DatabaseFromBeforeAuditsGetsTheColumns) {
  sched_.reset();
  store_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/shoal.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE workers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                         "host TEXT NOT NULL, slots INTEGER NOT NULL, cpus INTEGER NOT NULL, "
                         "gpus TEXT NOT NULL, state TEXT NOT NULL, registered_ms INTEGER NOT NULL, "
                         "account TEXT NOT NULL DEFAULT 'default', instance TEXT NOT NULL DEFAULT "
                         "'', completed_ranks INTEGER NOT NULL DEFAULT 0, memory_total INTEGER "
                         "NOT NULL DEFAULT 0, memory_lent INTEGER NOT NULL DEFAULT 0);"
                         "INSERT INTO workers VALUES('w-1', 'old', 'h', 2, 4, '[]', 'alive', 5, "
                         "'default', '', 7, 0, 0);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Reopen();
  const Worker* w = sched_->FindWorker("w-1");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->state, WorkerState::kAlive);
  EXPECT_EQ(w->completed_ranks, 7);
  EXPECT_EQ(w->audit_rate, 0);  // never audited
  EXPECT_EQ(w->clean_audits, 0);
  EXPECT_EQ(w->quarantine, "");
  sched_->RecordAuditOutcome("w-1", false);
  ASSERT_TRUE(sched_->QuarantineWorker("w-1", "caught").ok());
  Reopen();
  w = sched_->FindWorker("w-1");
  EXPECT_EQ(w->state, WorkerState::kQuarantined);
  EXPECT_EQ(w->failed_audits, 1);
  EXPECT_DOUBLE_EQ(w->audit_rate, 0.1);
  EXPECT_EQ(w->quarantine, "caught");
  EXPECT_EQ(w->quarantined_ms, now_);
}

// The API: GET /v1/workers shows trust and the quarantine; POST /v1/workers/{id}/clear is an
// admin's.
class QuarantineApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = harness_.Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    admin_ = harness_.NewToken("ops", Role::kAdmin);
    user_ = harness_.NewToken("alice", Role::kUser);
    contributor_ = harness_.NewToken("alice", Role::kContributor);
  }
  HttpReply Call(const std::string& method, const std::string& path, const std::string& token) {
    return harness_.Handle(harness_.Request(method, path, token));
  }

  ::shoal::testing::InProcessApi harness_;
  std::string admin_, user_, contributor_;
};

TEST_F(QuarantineApiTest, ListShowsItAndOnlyAnAdminClearsIt) {
  WorkerRegistration reg{"a", "host", 1, 2, {}};
  reg.account = "alice";
  auto w = harness_.scheduler()->RegisterWorker(reg);
  ASSERT_TRUE(w.ok());
  const std::string id = (*w)->id;
  harness_.scheduler()->RecordAuditOutcome(id, true);
  ASSERT_TRUE(harness_.scheduler()->QuarantineWorker(id, "job 3 step 9: rank 1 cheated").ok());

  HttpReply list = Call("GET", "/v1/workers", admin_);
  ASSERT_EQ(list.status, 200) << list.body;
  json shown = json::parse(list.body)["workers"][0];
  EXPECT_EQ(shown["state"], "quarantined");
  EXPECT_EQ(shown["quarantine"], "job 3 step 9: rank 1 cheated");
  EXPECT_DOUBLE_EQ(shown["auditRate"].get<double>(), 0.09);
  EXPECT_EQ(shown["cleanAudits"], 1);
  EXPECT_EQ(shown["failedAudits"], 0);

  EXPECT_EQ(Call("POST", "/v1/workers/" + id + "/clear", user_).status, 403);
  EXPECT_EQ(Call("POST", "/v1/workers/" + id + "/clear", contributor_).status, 403);
  EXPECT_EQ(Call("POST", "/v1/workers/w-99/clear", admin_).status, 404);
  EXPECT_EQ(Call("GET", "/v1/workers/" + id + "/clear", admin_).status, 405);
  EXPECT_EQ(harness_.scheduler()->FindWorker(id)->state, WorkerState::kQuarantined);
  HttpReply cleared = Call("POST", "/v1/workers/" + id + "/clear", admin_);
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(json::parse(cleared.body)["state"], "alive");
  EXPECT_FALSE(json::parse(cleared.body).contains("quarantine"));
  EXPECT_EQ(Call("POST", "/v1/workers/" + id + "/clear", admin_).status, 409);
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

double Contributed(const Scheduler& s, const std::string& account, bool total) {
  for (const LedgerEntry& e : s.LedgerEntries()) {
    if (e.account == account) return total ? e.total_contributed : e.contributed;
  }
  return 0;
}

TEST_F(QuarantineTest, ACheatersCreditForTheJobIsClawedBack) {
  const std::string a = AddWorker("a");
  const std::string account = sched_->FindWorker(a)->account;
  auto job = sched_->Submit(Spec(1), "u");
  ASSERT_TRUE(job.ok());
  const int64_t id = (*job)->id;
  now_ += 100'000;  // the rank runs 100 s and succeeds: 100 slot-seconds earned
  wire::WorkerEvent exit = wire::ExitEvent(id, 1, 0, 0);
  exit.result = nlohmann::json{{"paramChecksum", "0123456789abcdef"}};
  ASSERT_TRUE(sched_->ApplyEvents(a, {exit}).ok());
  ASSERT_EQ((*job)->state, JobState::kSucceeded);
  const double earned = Contributed(*sched_, account, /*total=*/true);
  ASSERT_NEAR(earned, 100, 1e-6);
  EXPECT_NEAR(sched_->ClawBackCredit(**job, a), 100, 1e-6);
  EXPECT_NEAR(Contributed(*sched_, account, /*total=*/true), 0, 1e-6);
  EXPECT_NEAR(Contributed(*sched_, account, /*total=*/false), 0, 1e-6);
  // A worker that ran none of the job's ranks loses nothing.
  const std::string b = AddWorker("b");
  EXPECT_EQ(sched_->ClawBackCredit(**job, b), 0);
}

}  // namespace
}  // namespace shoal
