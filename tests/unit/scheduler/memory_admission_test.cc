// Memory admission in the scheduler's state machine: workers' lent memory is stored and gates
// placement, a job too large for every worker waits with reason Constraint, and a rank that ran
// out of memory fails its job with reason OutOfMemory without a retry.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "common/memory_estimate.h"
#include "scheduler/api/views.h"
#include "tests/testing/test_util.h"
#include "tests/unit/scheduler/scheduler_fixture.h"

namespace shoal {
namespace {

using nlohmann::json;

// A one-rank cpu job with these layers (retries allowed, so that "not retried" means something).
std::string Spec(const std::string& layers) {
  return "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: m}\nspec:\n"
         "  workers: {min: 1, max: 1}\n  resources: {backend: cpu, gpusPerWorker: 0}\n"
         "  model: {layers: " +
         layers +
         "}\n  data: {train: /usr/share/datasets/x}\n"
         "  limits: {maxRetries: 3}\n";
}

class MemoryAdmissionTest : public ::shoal::testing::SchedulerFixture {
 protected:
  std::string AddWorker(const std::string& name, int64_t lent) {
    WorkerRegistration reg{name, "host", 1, 2, {}};
    reg.memory_total_bytes = 2 * lent;
    reg.memory_lent_bytes = lent;
    auto w = sched_->RegisterWorker(reg);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return (*w)->id;
  }
};

TEST_F(MemoryAdmissionTest, TooLargeWaitsWithNumbersAndTheWarningSaysSo) {
  AddWorker("small", 1 * kGiB);
  // 4096 x 16384 x 2 layers: ~100 M parameters, ~2.9 GiB per rank.
  auto job = sched_->Submit(Spec("[4096, 16384, 2]"), "u");
  ASSERT_TRUE(job.ok());
  const Job* j = *job;
  EXPECT_EQ(j->state, JobState::kPending);
  EXPECT_EQ(j->reason, kReasonConstraint);
  EXPECT_NE(j->reason_message.find("of RAM per rank; the largest worker lends 1.0 GiB per slot"),
            std::string::npos)
      << j->reason_message;
  EXPECT_NE(sched_->GangWarning(*j).find("GiB of RAM per rank; the largest worker lends 1.0 GiB"),
            std::string::npos)
      << sched_->GangWarning(*j);
  // A worker that lends enough joins: it starts there.
  const std::string big = AddWorker("big", 8 * kGiB);
  ASSERT_EQ(j->state, JobState::kRunning);
  EXPECT_EQ(j->current_attempt()->ranks[0].worker_id, big);
}

TEST_F(MemoryAdmissionTest, LentMemoryIsStoredAndReported) {
  const std::string id = AddWorker("w", 3 * kGiB);
  Reopen();
  const Worker* w = sched_->FindWorker(id);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->memory_lent_bytes, 3 * kGiB);
  EXPECT_EQ(w->memory_total_bytes, 6 * kGiB);
  const json j = ToJson(*w);
  EXPECT_EQ(j["memoryLentBytes"], 3 * kGiB);
  EXPECT_EQ(j["memoryBytes"], 6 * kGiB);
}

TEST_F(MemoryAdmissionTest, DatabaseFromBeforeMemoryGetsTheColumnsAsUnknown) {
  // A workers table as stored before memory admission, with one worker in it.
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
                         "'');"
                         "INSERT INTO workers VALUES('w-1', 'old', 'h', 2, 4, '[]', 'alive', 5, "
                         "'default', '');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Reopen();
  const Worker* w = sched_->FindWorker("w-1");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->memory_lent_bytes, 0);
  EXPECT_EQ(w->memory_total_bytes, 0);
  // And it stores memory from now on.
  WorkerRegistration reg{"old", "h", 2, 4, {}};
  reg.memory_lent_bytes = 5 * kGiB;
  ASSERT_TRUE(sched_->RegisterWorker(reg).ok());
  Reopen();
  EXPECT_EQ(sched_->FindWorker("w-1")->memory_lent_bytes, 5 * kGiB);
}

TEST_F(MemoryAdmissionTest, WorkersThatDoNotReportMemoryRunAnything) {
  auto w = sched_->RegisterWorker({"old", "host", 1, 2, {}});
  ASSERT_TRUE(w.ok());
  auto job = sched_->Submit(Spec("[4096, 16384, 2]"), "u");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ((*job)->state, JobState::kRunning);
}

TEST_F(MemoryAdmissionTest, OutOfMemoryFailsTheJobWithoutRetry) {
  const std::string a = AddWorker("a", 8 * kGiB);
  AddWorker("b", 8 * kGiB);
  auto job = sched_->Submit(Spec("[784, 32, 10]"), "u");
  ASSERT_TRUE(job.ok());
  const Job* j = *job;
  ASSERT_EQ(j->state, JobState::kRunning);
  const std::string on = j->current_attempt()->ranks[0].worker_id;
  json ev = Exit(*j, 0, 137);
  ev["signal"] = 9;
  ev["cause"] = "OutOfMemory";
  ev["message"] = "the rank used 1.2 GiB of RAM, over its limit of 1.0 GiB";
  ASSERT_TRUE(ApplyEvents(on, json::array({ev})).ok());
  EXPECT_EQ(j->state, JobState::kFailed);
  EXPECT_EQ(j->attempts.size(), 1u);
  EXPECT_EQ(j->reason.rfind("OutOfMemory: rank 0 on worker ", 0), 0u) << j->reason;
  EXPECT_NE(j->reason.find("over its limit of 1.0 GiB"), std::string::npos) << j->reason;
}

TEST_F(MemoryAdmissionTest, TrainerAllocationFailureExitCodeIsOutOfMemoryToo) {
  const std::string a = AddWorker("a", 8 * kGiB);
  auto job = sched_->Submit(Spec("[784, 32, 10]"), "u");
  ASSERT_TRUE(job.ok());
  const Job* j = *job;
  ASSERT_EQ(j->state, JobState::kRunning);
  ASSERT_TRUE(ApplyEvents(a, json::array({Exit(*j, 0, 4)})).ok());
  EXPECT_EQ(j->state, JobState::kFailed);
  EXPECT_EQ(j->reason.rfind("OutOfMemory:", 0), 0u) << j->reason;
  // An ordinary failure is still retried.
  auto other = sched_->Submit(Spec("[784, 32, 10]"), "u");
  ASSERT_TRUE(other.ok());
  ASSERT_EQ((*other)->state, JobState::kRunning);
  ASSERT_TRUE(ApplyEvents(a, json::array({Exit(**other, 0, 1)})).ok());
  EXPECT_EQ((*other)->attempts.size(), 2u);  // restarted at once on the free worker
  EXPECT_EQ((*other)->state, JobState::kRunning);
}

}  // namespace
}  // namespace shoal
