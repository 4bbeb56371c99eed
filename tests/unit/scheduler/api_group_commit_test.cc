// Api's group commit on a real io_context, Scheduler and SQLite store (no sockets): requests
// handled in the same event-loop round share one transaction, and a failed commit fails them all.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>  // before Boost 1.74 asio coroutine headers, which use std::exchange unincluded

#include "scheduler/api/api.h"
#include "tests/testing/test_util.h"

namespace shoal {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

class ApiGroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-api-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto store = Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto s = Scheduler::Open(store_.get(), SchedulerOptions{}, [this] { return now_; });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sched_ = std::move(s).value();
    // As in the daemon: passes and batched writes are posted onto the event loop.
    sched_->SetSchedulePoster(
        [this] { asio::post(ioc_, [this] { sched_->RunPendingSchedule(); }); });
    sched_->SetOnChange([this] { notifier_.NotifyAll(); });
    auto auth = Auth::Load(store_.get(), [this] { return now_; });
    ASSERT_TRUE(auth.ok()) << auth.status().ToString();
    auth_ = std::move(auth).value();
    api_ = std::make_unique<Api>(sched_.get(), auth_.get(), &kv_, &notifier_);
    spec_ = ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / "configs/jobs/tiny-mlp.yaml");
  }
  void TearDown() override {
    api_.reset();
    auth_.reset();
    sched_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  HttpRequest Post(const std::string& path, std::string body, const std::string& user = "u") {
    HttpRequest r;
    r.method = "POST";
    r.path = path;
    // Each user is an account with an admin token (these tests are about batching, not roles).
    std::string& token = tokens_[user];
    if (token.empty()) {
      EXPECT_TRUE(auth_->CreateAccount(user).ok());
      token = auth_->CreateToken(user, Role::kAdmin, "test").value().second;
    }
    r.headers["authorization"] = "Bearer " + token;
    r.body = std::move(body);
    return r;
  }
  // Starts every request in the same event-loop round, runs the loop until all are answered.
  std::vector<HttpReply> HandleTogether(std::vector<HttpRequest> reqs) {
    std::vector<HttpReply> replies(reqs.size());
    for (size_t i = 0; i < reqs.size(); ++i) {
      asio::co_spawn(
          ioc_,
          [this, &replies, i, req = std::move(reqs[i])]() mutable -> asio::awaitable<void> {
            replies[i] = co_await api_->Handle(std::move(req));
          },
          asio::detached);
    }
    ioc_.restart();
    ioc_.run();
    return replies;
  }
  void FailInsertsOf(const std::string& owner) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/shoal.db").c_str(), &db), SQLITE_OK);
    std::string sql = "CREATE TRIGGER fail BEFORE INSERT ON jobs WHEN NEW.owner = '" + owner +
                      "' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  // What a restarted scheduler would load.
  Store::Snapshot Stored() {
    auto other = Store::Open(dir_);
    EXPECT_TRUE(other.ok());
    auto snap = (*other)->LoadAll();
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    return snap.ok() ? std::move(snap).value() : Store::Snapshot{};
  }

  std::string dir_, spec_;
  int64_t now_ = 1'000'000;
  asio::io_context ioc_;
  Notifier notifier_;
  RendezvousKv kv_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Scheduler> sched_;
  std::unique_ptr<Auth> auth_;
  std::map<std::string, std::string> tokens_;  // user -> token
  std::unique_ptr<Api> api_;
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
  EXPECT_TRUE(sched_->ListJobs(std::nullopt, "").empty());  // nothing queued either
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
    if (w.id == a) EXPECT_EQ(w.slots, 3);  // the later registration won
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
  if (sched_->FindJob(id)->state != JobState::kRunning) sched_->RunCycle();
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
