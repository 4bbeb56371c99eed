// Credit only for work done (issue 12 item 9), on a real SQLite store with a fake clock: a fake
// worker advertising 1,024 slots earns nothing by advertising, cannot take a stranger's whole
// gang until it has a history, and an attempt whose ranks disagree on the parameters fails.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "scheduler/scheduler.h"
#include "tests/testing/test_util.h"
#include "tests/unit/scheduler/scheduler_fixture.h"

namespace shoal {
namespace {

using nlohmann::json;

std::string GangSpec(int ranks) {
  std::string s =
      ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / "configs/jobs/tiny-mlp.yaml");
  s.replace(s.find("min: 1, max: 1"), 14,
            "min: " + std::to_string(ranks) + ", max: " + std::to_string(ranks));
  return s;
}

class CreditTest : public ::shoal::testing::SchedulerFixture {
 protected:
  void SetUp() override {
    worker_timeout_ms_ = 3'600'000;  // no heartbeats here
    new_worker_ranks_per_job_ = 1;   // the daemon's default
    SchedulerFixture::SetUp();
  }
  std::string Add(const std::string& name, int slots, const std::string& account) {
    WorkerRegistration reg{name, "host-" + name, slots, 2, {}};
    reg.account = account;
    auto w = sched_->RegisterWorker(reg);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return (*w)->id;
  }
  static json ExitWith(const Job& j, int rank, const std::string& checksum) {
    json e = {{"type", "exit"},
              {"job", j.id},
              {"attempt", j.current_attempt()->number},
              {"rank", rank},
              {"exitCode", 0}};
    if (!checksum.empty()) e["result"] = {{"paramChecksum", checksum}, {"testAccuracy", 0.999}};
    return e;
  }
  double Contributed(const std::string& account) {
    for (const auto& e : sched_->LedgerEntries()) {
      if (e.account == account) return e.contributed;
    }
    return 0;
  }
};

TEST_F(CreditTest, ANewWorkerHoldsOneRankOfAStrangersJob) {
  const std::string fake = Add("fake", 1024, "mallory");
  auto job = sched_->Submit(GangSpec(3), "alice");
  ASSERT_TRUE(job.ok());
  sched_->RunCycle();
  const Job* j = sched_->FindJob((*job)->id);
  EXPECT_EQ(j->state, JobState::kPending) << "a new worker took a stranger's whole gang";
  // Advertising 1,024 slots for 20 s earned nothing.
  now_ += 20'000;
  sched_->RunCycle();
  EXPECT_EQ(Contributed("mallory"), 0.0);
  // Two more workers: one rank each, the fake one included.
  const std::string b = Add("b", 1, "bob");
  const std::string c = Add("c", 1, "carol");
  sched_->RunCycle();
  ASSERT_EQ(j->state, JobState::kRunning);
  std::map<std::string, int> per_worker;
  for (const auto& r : j->current_attempt()->ranks) ++per_worker[r.worker_id];
  EXPECT_EQ(per_worker, (std::map<std::string, int>{{fake, 1}, {b, 1}, {c, 1}}));
  // Its own account's jobs are not bounded: mallory trusts mallory's worker.
  auto own = sched_->Submit(GangSpec(3), "mallory");
  ASSERT_TRUE(own.ok());
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindJob((*own)->id)->state, JobState::kRunning);
  for (const auto& r : sched_->FindJob((*own)->id)->current_attempt()->ranks) {
    EXPECT_EQ(r.worker_id, fake);
  }
}

TEST_F(CreditTest, RanksThatDisagreeOnTheParametersFailTheAttemptAndEarnNothing) {
  const std::string fake = Add("fake", 1, "mallory");
  const std::string honest = Add("honest", 1, "bob");
  auto job = sched_->Submit(GangSpec(2), "alice");
  ASSERT_TRUE(job.ok());
  sched_->RunCycle();
  const Job* j = sched_->FindJob((*job)->id);
  ASSERT_EQ(j->state, JobState::kRunning);
  now_ += 30'000;
  // The fake rank claims success without a checksum; the honest one reports its own.
  const int fake_rank = j->current_attempt()->ranks[0].worker_id == fake ? 0 : 1;
  ASSERT_TRUE(ApplyEvents(fake, json::array({ExitWith(*j, fake_rank, "")})).ok());
  ASSERT_TRUE(
      ApplyEvents(honest, json::array({ExitWith(*j, 1 - fake_rank, "0123abcd")})).ok());
  EXPECT_NE(j->state, JobState::kSucceeded);
  EXPECT_EQ(j->attempts.front().state, AttemptState::kFailed);
  EXPECT_NE(j->attempts.front().reason.find("ParamChecksum: rank " + std::to_string(fake_rank) +
                                            " (worker " + fake + ") exited 0 but reported no"),
            std::string::npos)
      << j->attempts.front().reason;
  EXPECT_EQ(Contributed("mallory"), 0.0);
  EXPECT_EQ(Contributed("bob"), 0.0);
  EXPECT_EQ(sched_->FindWorker(fake)->completed_ranks, 0);
}

TEST_F(CreditTest, DifferentChecksumsFailTooAndAgreeingRanksAreCredited) {
  const std::string a = Add("a", 1, "bob");
  const std::string b = Add("b", 1, "carol");
  auto job = sched_->Submit(GangSpec(2), "alice");
  ASSERT_TRUE(job.ok());
  sched_->RunCycle();
  const Job* j = sched_->FindJob((*job)->id);
  ASSERT_EQ(j->state, JobState::kRunning);
  const std::string w0 = j->current_attempt()->ranks[0].worker_id;
  const std::string w1 = j->current_attempt()->ranks[1].worker_id;
  now_ += 10'000;
  ASSERT_TRUE(ApplyEvents(w0, json::array({ExitWith(*j, 0, "aaaa")})).ok());
  ASSERT_TRUE(ApplyEvents(w1, json::array({ExitWith(*j, 1, "bbbb")})).ok());
  ASSERT_EQ(j->attempts.front().state, AttemptState::kFailed);
  EXPECT_NE(j->attempts.front().reason.find("ended with parameters bbbb, rank 0 with aaaa"),
            std::string::npos)
      << j->attempts.front().reason;
  // The retry agrees: both workers are credited 10 s, at completion, and gain a history.
  sched_->RunCycle();
  ASSERT_EQ(j->state, JobState::kRunning);
  ASSERT_EQ(j->current_attempt()->number, 2);
  now_ += 10'000;
  for (int rank : {0, 1}) {
    const std::string w = j->current_attempt()->ranks[rank].worker_id;
    ASSERT_TRUE(ApplyEvents(w, json::array({ExitWith(*j, rank, "cccc")})).ok());
  }
  ASSERT_EQ(j->state, JobState::kSucceeded);
  EXPECT_NEAR(Contributed("bob"), 10.0, 1e-3);
  EXPECT_NEAR(Contributed("carol"), 10.0, 1e-3);
  EXPECT_EQ(sched_->FindWorker(a)->completed_ranks, 1);
  EXPECT_EQ(sched_->FindWorker(b)->completed_ranks, 1);
}

}  // namespace
}  // namespace shoal
