// GET /v1/accounts/history and the ledger columns of GET /v1/accounts, on a real io_context,
// Scheduler and SQLite store (no sockets): the scheduler appends a snapshot of the ledger every
// ledger_history_interval_ms of its cycles, and the route serves them with GET /v1/accounts's
// visibility.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "tests/testing/api_harness.h"

namespace shoal {
namespace {

using nlohmann::json;

class ApiAccountsHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status opened = harness_.OpenStore();
    ASSERT_TRUE(opened.ok()) << opened.ToString();
    // Two accounts with a ledger already (as after a restart).
    LedgerEntry alice{"alice", 3600, 0, 7200, 0}, bob{"bob", 0, 1800, 0, 1800};
    ASSERT_TRUE(harness_.store()->SaveLedger({alice, bob}).ok());
    SchedulerOptions options;
    options.fair_share_half_life_s = 86400;
    options.ledger_history_interval_ms = 1000;
    Status started = harness_.Start(options);
    ASSERT_TRUE(started.ok()) << started.ToString();
    for (const char* name : {"alice", "bob", "root"}) {
      const Role role = std::string(name) == "root" ? Role::kAdmin : Role::kUser;
      tokens_[name] = harness_.NewToken(name, role);
    }
  }
  HttpReply Get(const std::string& path, const std::string& who,
                std::map<std::string, std::string> query = {}) {
    return harness_.Handle(harness_.Request("GET", path, tokens_.at(who), "", std::move(query)));
  }
  // `n` scheduler cycles a second apart: one history snapshot each.
  void RunCycles(int n) {
    for (int i = 0; i < n; ++i) {
      harness_.Advance(1000);
      harness_.scheduler()->RunCycle();
    }
  }
  static std::map<std::string, json> ByName(const json& accounts) {
    std::map<std::string, json> out;
    for (const auto& a : accounts) out[a["name"].get<std::string>()] = a;
    return out;
  }

  ::shoal::testing::InProcessApi harness_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(ApiAccountsHistoryTest, AccountsShowTotalsAndTheRecentAverage) {
  HttpReply r = Get("/v1/accounts", "root");
  ASSERT_EQ(r.status, 200) << r.body;
  auto by = ByName(json::parse(r.body)["accounts"]);
  ASSERT_TRUE(by.count("alice")) << r.body;
  EXPECT_EQ(by["alice"]["totalContributedGpuSeconds"].get<double>(), 7200);
  EXPECT_EQ(by["bob"]["totalUsedGpuSeconds"].get<double>(), 1800);
  // 3600 decayed GPU-s with a 1-day half-life: the sum a steady 3600 * ln2 / 86400 GPU-s/s
  // converges to, i.e. ln2 GPU-hours a day.
  EXPECT_NEAR(by["alice"]["recentAverageGpuHoursPerDay"].get<double>(), std::log(2.0), 1e-9);
  EXPECT_EQ(by["bob"]["recentAverageGpuHoursPerDay"].get<double>(), 0);
  EXPECT_EQ(by["root"]["totalContributedGpuSeconds"].get<double>(), 0);  // no ledger row
}

TEST_F(ApiAccountsHistoryTest, HistoryHasAPointPerSnapshotBoundedByMaxPoints) {
  RunCycles(1);
  HttpReply r = Get("/v1/accounts/history", "root");
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["intervalSeconds"], 1);
  auto by = ByName(body["accounts"]);
  ASSERT_EQ(by.size(), 2u) << r.body;                     // the accounts with a ledger
  ASSERT_EQ(by["alice"]["points"].size(), 1u) << r.body;  // the first cycle's snapshot
  const json& p = by["alice"]["points"][0];
  EXPECT_EQ(p["tsMs"], harness_.now());
  EXPECT_EQ(p["totalContributedGpuSeconds"].get<double>(), 7200);
  EXPECT_EQ(p["totalUsedGpuSeconds"].get<double>(), 0);
  EXPECT_LE(p["contributedGpuSeconds"].get<double>(), 3600);  // decayed a little
  EXPECT_GT(p["contributedGpuSeconds"].get<double>(), 3599);
  EXPECT_EQ(p["usedGpuSeconds"].get<double>(), 0);

  RunCycles(29);
  r = Get("/v1/accounts/history", "root", {{"maxPoints", "5"}});
  ASSERT_EQ(r.status, 200) << r.body;
  by = ByName(json::parse(r.body)["accounts"]);
  ASSERT_EQ(by["bob"]["points"].size(), 5u) << r.body;
  EXPECT_EQ(by["bob"]["points"].back()["tsMs"], harness_.now());  // the newest is kept
  r = Get("/v1/accounts/history", "root");
  by = ByName(json::parse(r.body)["accounts"]);
  EXPECT_EQ(by["bob"]["points"].size(), 30u);
  // since: only the snapshots from then on.
  r = Get("/v1/accounts/history", "root", {{"since", std::to_string(harness_.now() - 4000)}});
  by = ByName(json::parse(r.body)["accounts"]);
  EXPECT_EQ(by["bob"]["points"].size(), 5u) << r.body;
}

TEST_F(ApiAccountsHistoryTest, AUserSeesOnlyItsOwnAccountUnlessAllAreVisible) {
  RunCycles(3);
  HttpReply r = Get("/v1/accounts/history", "bob");
  ASSERT_EQ(r.status, 200) << r.body;
  json accounts = json::parse(r.body)["accounts"];
  ASSERT_EQ(accounts.size(), 1u) << r.body;
  EXPECT_EQ(accounts[0]["name"], "bob");
  EXPECT_EQ(accounts[0]["points"].size(), 3u);
  Visibility all;
  all.accounts = Visibility::Accounts::kAll;
  harness_.api()->SetVisibility(all);
  r = Get("/v1/accounts/history", "bob");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["accounts"].size(), 2u) << r.body;
}

// As in the daemon: the reads go through a read-only connection on the Api's own thread.
TEST_F(ApiAccountsHistoryTest, ReadsThroughTheReadOnlyConnection) {
  auto reader = Store::OpenReader(harness_.dir());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  harness_.api()->SetHistoryReader(reader->get());
  RunCycles(2);
  HttpReply r = Get("/v1/accounts/history", "alice");
  ASSERT_EQ(r.status, 200) << r.body;
  json accounts = json::parse(r.body)["accounts"];
  ASSERT_EQ(accounts.size(), 1u) << r.body;
  EXPECT_EQ(accounts[0]["points"].size(), 2u) << r.body;
  harness_.StopApi();  // before the reader it uses
}

TEST_F(ApiAccountsHistoryTest, BadParametersAre400NamingTheField) {
  for (const char* bad : {"0", "10001", "-3", "many"}) {
    HttpReply r = Get("/v1/accounts/history", "root", {{"maxPoints", bad}});
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find("maxPoints"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("InvalidArgument"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Get("/v1/accounts/history", "root", {{"maxPoints", "10000"}}).status, 200);
  HttpReply r = Get("/v1/accounts/history", "root", {{"since", "yesterday"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("since"), std::string::npos) << r.body;
}

TEST_F(ApiAccountsHistoryTest, AnIntervalOfZeroKeepsNoHistory) {
  SchedulerOptions options;
  options.ledger_history_interval_ms = 0;
  ASSERT_TRUE(harness_.RestartScheduler(options).ok());
  RunCycles(3);
  HttpReply r = Get("/v1/accounts/history", "root");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["accounts"].empty()) << r.body;
}

// A new pool has an empty ledger at its first cycle: no snapshot then, and the first one is taken
// as soon as an account appears (here a worker's), not an interval later.
TEST(LedgerHistoryTest, TheFirstSnapshotWaitsForAnAccountNotForTheInterval) {
  char tmpl[] = "/tmp/shoal-ledger-first-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  {
    auto store = Store::Open(dir);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    int64_t now = 1'000'000;
    SchedulerOptions options;  // the default interval: an hour
    auto sched = Scheduler::Open(store->get(), options, [&] { return now; });
    ASSERT_TRUE(sched.ok()) << sched.status().ToString();
    (*sched)->RunCycle();
    EXPECT_TRUE((*store)->ReadLedgerHistory(0, "", 10)->empty());
    WorkerRegistration reg;
    reg.name = "w1";
    reg.host = "h";
    reg.account = "lab";
    ASSERT_TRUE((*sched)->RegisterWorker(reg).ok());
    now += 1000;
    (*sched)->RunCycle();
    auto rows = (*store)->ReadLedgerHistory(0, "", 10);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].account, "lab");
    EXPECT_EQ((*rows)[0].ts_ms, now);
    now += 1000;  // within the hour: no second one
    (*sched)->RunCycle();
    EXPECT_EQ((*store)->ReadLedgerHistory(0, "", 10)->size(), 1u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shoal
