// Api's group commit on a real io_context, Scheduler and SQLite store (no sockets): requests
// handled in the same event-loop round share one transaction, and a failed commit fails them all.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "tests/testing/api_harness.h"
#include "tests/testing/test_util.h"

namespace shoal {
namespace {

using nlohmann::json;

class ApiGroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status started = harness_.Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
    harness_.PostSchedulingOnTheLoop();
    spec_ = ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / "configs/jobs/tiny-mlp.yaml");
  }
  // Each user is an account with an admin token (these tests are about batching, not roles).
  HttpRequest Post(const std::string& path, std::string body, const std::string& user = "u") {
    return harness_.Request("POST", path, harness_.AdminToken(user), std::move(body));
  }
  std::vector<HttpReply> HandleTogether(std::vector<HttpRequest> reqs) {
    return harness_.HandleTogether(std::move(reqs));
  }
  void FailInsertsOf(const std::string& owner) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((harness_.dir() + "/shoal.db").c_str(), &db), SQLITE_OK);
    std::string sql = "CREATE TRIGGER fail BEFORE INSERT ON jobs WHEN NEW.owner = '" + owner +
                      "' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  // What a restarted scheduler would load.
  Store::Snapshot Stored() {
    auto other = Store::Open(harness_.dir());
    EXPECT_TRUE(other.ok());
    auto snap = (*other)->LoadAll();
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    return snap.ok() ? std::move(snap).value() : Store::Snapshot{};
  }

  ::shoal::testing::InProcessApi harness_;
  std::string spec_;
};

TEST_F(ApiGroupCommitTest, ConcurrentSubmissionsAreAcknowledgedAfterTheirCommitWithDistinctIds) {
  std::vector<HttpRequest> reqs;
  for (int i = 0; i < 5; ++i) reqs.push_back(Post("/v1/jobs", spec_));
  reqs.push_back(Post("/v1/jobs", "not: [valid"));  // rejected at once, not part of the batch
  auto replies = HandleTogether(std::move(reqs));
  std::set<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(replies[i].status, 201) << replies[i].body;
    ids.insert(json::parse(replies[i].body)["id"].get<int64_t>());
  }
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(replies[5].status, 400) << replies[5].body;
  auto stored = Stored();
  ASSERT_EQ(stored.jobs.size(), 5u);
  for (const Job& j : stored.jobs) EXPECT_TRUE(ids.count(j.id)) << j.id;
}

TEST_F(ApiGroupCommitTest, AFailedCommitAnswersEverySubmissionOfTheBatch503AndStoresNone) {
  FailInsertsOf("unlucky");
  auto replies = HandleTogether({Post("/v1/jobs", spec_, "a"), Post("/v1/jobs", spec_, "unlucky"),
                                 Post("/v1/jobs", spec_, "c")});
  // One transaction for the three: the one failing insert fails all of them.
  for (const auto& r : replies) EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_TRUE(Stored().jobs.empty());
  EXPECT_TRUE(harness_.scheduler()->ListJobs(std::nullopt, "").empty());  // nothing queued either
  // The next batch is independent of the failed one.
  replies = HandleTogether({Post("/v1/jobs", spec_, "a")});
  ASSERT_EQ(replies[0].status, 201) << replies[0].body;
  EXPECT_EQ(Stored().jobs.size(), 1u);
}

TEST_F(ApiGroupCommitTest, ConcurrentRegistrationsShareACommitAndKeepNamesUnique) {
  auto reg = [](const std::string& name, int slots) {
    return json{{"name", name}, {"host", "h"}, {"slots", slots}, {"cpus", 1}}.dump();
  };
  auto replies = HandleTogether({Post("/v1/workers/register", reg("a", 1)),
                                 Post("/v1/workers/register", reg("b", 0)),  // bad: 400 alone
                                 Post("/v1/workers/register", reg("c", 2)),
                                 Post("/v1/workers/register", reg("a", 3))});  // same name again
  ASSERT_EQ(replies[0].status, 200) << replies[0].body;
  EXPECT_EQ(replies[1].status, 400) << replies[1].body;
  ASSERT_EQ(replies[2].status, 200) << replies[2].body;
  ASSERT_EQ(replies[3].status, 200) << replies[3].body;
  const std::string a = json::parse(replies[0].body)["id"], c = json::parse(replies[2].body)["id"];
  EXPECT_EQ(json::parse(replies[3].body)["id"], a);  // a re-registration keeps the id
  EXPECT_NE(a, c);
  auto stored = Stored();
  ASSERT_EQ(stored.workers.size(), 2u);
  for (const Worker& w : stored.workers) {
    if (w.id == a) {
      EXPECT_EQ(w.slots, 3);  // the later registration won
    }
  }
}

TEST_F(ApiGroupCommitTest, AJobStartIsStoredBeforeAnyReplyTellsOfIt) {
  auto replies = HandleTogether(
      {Post("/v1/workers/register", json{{"name", "w"}, {"slots", 1}, {"cpus", 1}}.dump())});
  ASSERT_EQ(replies[0].status, 200);
  const std::string worker = json::parse(replies[0].body)["id"];
  replies = HandleTogether({Post("/v1/jobs", spec_)});
  ASSERT_EQ(replies[0].status, 201);
  const int64_t id = json::parse(replies[0].body)["id"];
  // Normally the posted pass started it; one rate-limited behind the registration's pass waits
  // for the periodic cycle, which the daemon's timer would run.
  Scheduler* sched = harness_.scheduler();
  if (sched->FindJob(id)->state != JobState::kRunning) sched->RunCycle();
  // The posted pass started the job; the heartbeat answer hands the rank out, so by the time it
  // is sent the start must be stored.
  replies = HandleTogether({Post("/v1/workers/" + worker + "/heartbeat", R"({"running":[]})")});
  ASSERT_EQ(replies[0].status, 200) << replies[0].body;
  auto assignments = json::parse(replies[0].body)["assignments"];
  ASSERT_EQ(assignments.size(), 1u) << replies[0].body;
  EXPECT_EQ(assignments[0]["job"], id);
  auto stored = Stored();
  ASSERT_EQ(stored.jobs.size(), 1u);
  EXPECT_EQ(stored.jobs[0].state, JobState::kRunning);
  ASSERT_EQ(stored.jobs[0].attempts.size(), 1u);
  EXPECT_EQ(stored.jobs[0].attempts[0].ranks.at(0).worker_id, worker);
}

}  // namespace
}  // namespace shoal
