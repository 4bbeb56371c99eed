// Store::WriteBatch / InsertJobs: a batch is one transaction, stored whole or not at all.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "scheduler/state/store.h"
#include "tests/testing/test_util.h"

namespace shoal {
namespace {

class StoreBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-store-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto store = Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Job NewJob(const std::string& owner) {
    Job j;
    j.owner = owner;
    j.spec_text =
        ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / "configs/jobs/tiny-mlp.yaml");
    j.state = JobState::kPending;
    j.reason = kReasonResources;
    j.submitted_ms = 1000;
    return j;
  }
  // Makes every insert of a job owned by "boom" fail, from a second connection (as a failing
  // disk would fail a write in the middle of a batch).
  void FailInsertsOfBoom() {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/shoal.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TRIGGER boom BEFORE INSERT ON jobs WHEN NEW.owner = 'boom' "
                           "BEGIN SELECT RAISE(ABORT, 'boom'); END;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  std::vector<std::string> StoredOwners() {
    auto snap = store_->LoadAll();
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    std::vector<std::string> owners;
    if (snap.ok()) {
      for (const Job& j : snap->jobs) owners.push_back(j.owner);
    }
    return owners;
  }
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreBatchTest, InsertJobsAssignsIncreasingIdsInOrder) {
  Job a = NewJob("a"), b = NewJob("b"), c = NewJob("c");
  auto ids = store_->InsertJobs({&a, &b, &c});
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_LT((*ids)[0], (*ids)[1]);
  EXPECT_LT((*ids)[1], (*ids)[2]);
  EXPECT_EQ(StoredOwners(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(StoreBatchTest, AFailedBatchStoresNothingAndCommittedIdsAreNotReused) {
  Job first = NewJob("first");
  auto id0 = store_->InsertJob(first);
  ASSERT_TRUE(id0.ok());
  FailInsertsOfBoom();
  Job a = NewJob("a"), boom = NewJob("boom"), c = NewJob("c");
  auto failed = store_->InsertJobs({&a, &boom, &c});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(StoredOwners(), (std::vector<std::string>{"first"}));  // not even "a"
  // The store works on after the rollback, and ids continue after every committed one.
  Job d = NewJob("d");
  auto ids = store_->InsertJobs({&d});
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_GT(ids->front(), *id0);
  EXPECT_EQ(StoredOwners(), (std::vector<std::string>{"first", "d"}));
}

TEST_F(StoreBatchTest, WriteBatchUpdatesJobsAndWorkersWithTheInsertsInOneTransaction) {
  Job old = NewJob("old");
  auto id = store_->InsertJob(old);
  ASSERT_TRUE(id.ok());
  old.id = *id;
  old.reason = kReasonPriority;
  Worker w1, w1_later;
  w1.id = w1_later.id = "w-1";
  w1.name = w1_later.name = "one";
  w1.slots = w1_later.slots = 1;
  w1.state = WorkerState::kLost;
  w1_later.state = WorkerState::kAlive;
  FailInsertsOfBoom();
  // With a failing insert, the updates in the same batch are not stored either.
  Job boom = NewJob("boom");
  ASSERT_FALSE(store_->WriteBatch({{&boom}, {&old}, {&w1}}).ok());
  auto snap = store_->LoadAll();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->jobs.front().reason, kReasonResources);
  EXPECT_TRUE(snap->workers.empty());
  // Without it, everything is; a worker listed twice ends as its last entry.
  Job fresh = NewJob("fresh");
  auto ids = store_->WriteBatch({{&fresh}, {&old}, {&w1, &w1_later}});
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 1u);
  snap = store_->LoadAll();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->jobs.size(), 2u);
  EXPECT_EQ(snap->jobs[0].reason, kReasonPriority);
  EXPECT_EQ(snap->jobs[1].owner, "fresh");
  ASSERT_EQ(snap->workers.size(), 1u);
  EXPECT_EQ(snap->workers[0].state, WorkerState::kAlive);
}

// The rollback rule's memory (docs/audits.md): each worker's last clean audit step per attempt
// survives a restart of the store, as the rest of the attempt does.
// The rollback rule's memory and the cost guard's last checkpoint survive a restart.
TEST_F(StoreBatchTest, AttemptsKeepTheirCleanAuditStepsAndLastCheckpoint) {
  Job job = NewJob("u");
  auto id = store_->InsertJob(job);
  ASSERT_TRUE(id.ok());
  job.id = *id;
  job.attempts.resize(2);
  job.attempts[0].number = 1;
  job.attempts[0].clean_audit_steps = {{"w-1", 120}, {"w-2", 80}};
  job.attempts[0].last_checkpoint_ms = 1'700'000'123'456;
  job.attempts[1].number = 2;  // none passed yet: nothing stored
  ASSERT_TRUE(store_->SaveJob(job).ok());
  store_.reset();
  auto reopened = Store::Open(dir_);
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(reopened).value();
  auto snap = store_->LoadAll();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_EQ(snap->jobs.size(), 1u);
  ASSERT_EQ(snap->jobs[0].attempts.size(), 2u);
  EXPECT_EQ(snap->jobs[0].attempts[0].clean_audit_steps,
            (std::map<std::string, int64_t>{{"w-1", 120}, {"w-2", 80}}));
  EXPECT_TRUE(snap->jobs[0].attempts[1].clean_audit_steps.empty());
  EXPECT_EQ(snap->jobs[0].attempts[0].last_checkpoint_ms, 1'700'000'123'456);
  EXPECT_EQ(snap->jobs[0].attempts[1].last_checkpoint_ms, 0);
}

}  // namespace
}  // namespace shoal
